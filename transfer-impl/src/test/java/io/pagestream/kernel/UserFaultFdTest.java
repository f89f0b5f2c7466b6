package io.pagestream.kernel;

import org.agrona.UnsafeApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * userfaultfd with real faults: a thread touching registered memory blocks in the kernel (in a native memcpy, so the
 * JVM's safepoints proceed) until this test, as the fault handler, installs the page.
 */
class UserFaultFdTest
{
    private static final int PAGE = 4096;
    private static final long TIMEOUT_MS = 10_000;

    private final MemoryKernel kernel = MemoryKernel.create();
    private final long source = kernel.mapAnonymous(PAGE, false);
    private final long buffer = kernel.mapAnonymous(4 * PAGE, false);
    private long region;
    private long regionLength;
    private UserFaultFd uffd;
    private FaultMessageReader reader;

    @BeforeEach
    void setUp()
    {
        assumeTrue(UserFaultFd.isAvailable(), "no userfaultfd here");
        for (int i = 0; i < PAGE; i += 8)
        {
            UnsafeApi.putLong(source + i, 0x0101_0101_0101_0101L * (1 + i % 255));
        }
    }

    @AfterEach
    void tearDown()
    {
        if (null != reader)
        {
            reader.close();
        }
        if (null != uffd)
        {
            uffd.close();
        }
        if (region != 0)
        {
            kernel.unmap(region, regionLength);
        }
        kernel.unmap(source, PAGE);
        kernel.unmap(buffer, 4 * PAGE);
    }

    private void open(final long features, final int pages)
    {
        uffd = UserFaultFd.open(features, true);
        reader = new FaultMessageReader(uffd, 8);
        regionLength = (long)pages * PAGE;
        region = kernel.mapAnonymous(regionLength, false);
    }

    /** A thread that copies one page out of (or into) registered memory in native code, blocking on its fault. */
    private static Thread copier(final long destination, final long from)
    {
        final Thread thread = new Thread(() -> Libc.memcpy(destination, from, PAGE), "faulting-copier");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private long awaitFault(final long expectedAddress, final long expectedFlags)
    {
        assertThat(reader.poll((int)TIMEOUT_MS)).isEqualTo(1);
        assertThat(reader.event(0)).isEqualTo(UserFaultFd.EVENT_PAGEFAULT);
        assertThat(reader.address(0)).isEqualTo(expectedAddress);
        assertThat(reader.flags(0)).isEqualTo(expectedFlags);
        return reader.address(0);
    }

    private static void assertFinishes(final Thread thread) throws InterruptedException
    {
        thread.join(TIMEOUT_MS);
        assertThat(thread.isAlive()).as("thread still blocked on its fault").isFalse();
    }

    private static boolean pageEquals(final long a, final long b)
    {
        for (int i = 0; i < PAGE; i += 8)
        {
            if (UnsafeApi.getLong(a + i) != UnsafeApi.getLong(b + i))
            {
                return false;
            }
        }
        return true;
    }

    @Test
    void shouldServeAMissingFaultWithCopyWhileAnotherThreadBlocksReadingThePage() throws InterruptedException
    {
        open(0, 4);
        uffd.register(region, regionLength, UserFaultFd.MODE_MISSING);
        final Thread blocked = copier(buffer, region + 2 * PAGE);

        awaitFault(region + 2 * PAGE, 0);
        assertThat(blocked.isAlive()).isTrue();
        assertThat(uffd.copy(region + 2 * PAGE, source, PAGE, 0)).isEqualTo(PAGE);

        assertFinishes(blocked);
        assertThat(pageEquals(buffer, source)).isTrue();
        assertThat(pageEquals(region + 2 * PAGE, source)).isTrue();
        assertThat(uffd.copy(region + 2 * PAGE, source, PAGE, 0)).isEqualTo(UserFaultFd.EXISTS);
        assertThat(reader.poll(0)).isZero();
    }

    @Test
    void shouldCopyFromAnUnalignedSourceAsPagesAreInstalledStraightFromAFrame()
    {
        open(0, 4);
        uffd.register(region, regionLength, UserFaultFd.MODE_MISSING);
        final long twoPages = kernel.mapAnonymous(2L * PAGE, false);
        try
        {
            UnsafeApi.copyMemory(source, twoPages + 48, PAGE); // as a page payload sits 48 bytes into its frame
            assertThat(uffd.copy(region + PAGE, twoPages + 48, PAGE, 0)).isEqualTo(PAGE);
            assertThat(pageEquals(region + PAGE, source)).isTrue();
        }
        finally
        {
            kernel.unmap(twoPages, 2L * PAGE);
        }
    }

    @Test
    void shouldLeaveTheFaultingThreadAsleepAfterADontWakeCopyUntilWoken() throws InterruptedException
    {
        open(0, 2);
        uffd.register(region, regionLength, UserFaultFd.MODE_MISSING);
        final Thread blocked = copier(buffer, region);
        awaitFault(region, 0);

        assertThat(uffd.copy(region, source, PAGE, UserFaultFd.COPY_MODE_DONTWAKE)).isEqualTo(PAGE);
        blocked.join(200);
        assertThat(blocked.isAlive()).as("woken despite DONTWAKE").isTrue();
        assertThat(uffd.copy(region, source, PAGE, 0)).isEqualTo(UserFaultFd.EXISTS);

        uffd.wake(region, PAGE);
        assertFinishes(blocked);
        assertThat(pageEquals(buffer, source)).isTrue();
    }

    @Test
    void shouldServeAWriteFaultWithAZeroPage() throws InterruptedException
    {
        open(0, 2);
        UnsafeApi.setMemory(buffer, PAGE, (byte)0x5A);
        uffd.register(region, regionLength, UserFaultFd.MODE_MISSING);
        final Thread blocked = copier(region + PAGE, buffer);

        awaitFault(region + PAGE, UserFaultFd.PAGEFAULT_FLAG_WRITE);
        assertThat(uffd.zeroPage(region + PAGE, PAGE, false)).isEqualTo(PAGE);

        // The write retried onto the zero page, breaking it into a private page with the written contents.
        assertFinishes(blocked);
        assertThat(pageEquals(region + PAGE, buffer)).isTrue();
        assertThat(uffd.zeroPage(region + PAGE, PAGE, false)).isEqualTo(UserFaultFd.EXISTS);
        assertThat(uffd.zeroPage(region, PAGE, false)).isEqualTo(PAGE);
        assertThat(UnsafeApi.getLong(region + 1024)).isZero();
    }

    @Test
    void shouldInstallAPageWriteProtectedAndReportTheWriteToIt() throws InterruptedException
    {
        open(UserFaultFd.FEATURE_PAGEFAULT_FLAG_WP, 1);
        uffd.register(region, regionLength, UserFaultFd.MODE_MISSING | UserFaultFd.MODE_WP);
        assertThat(uffd.copy(region, source, PAGE, UserFaultFd.COPY_MODE_WP)).isEqualTo(PAGE);
        UnsafeApi.setMemory(buffer, PAGE, (byte)0x33);

        final Thread writer = copier(region, buffer);
        awaitFault(region, UserFaultFd.PAGEFAULT_FLAG_WRITE | UserFaultFd.PAGEFAULT_FLAG_WP);
        assertThat(pageEquals(region, source)).as("written through the protection").isTrue();

        uffd.writeProtect(region, PAGE, false, false);
        assertFinishes(writer);
        assertThat(pageEquals(region, buffer)).isTrue();
    }

    @Test
    void shouldServeAMinorFaultWithContinueFromTheAliasMapping() throws InterruptedException
    {
        assumeTrue((UserFaultFd.availableFeatures() & UserFaultFd.FEATURE_MINOR_SHMEM) != 0, "no MINOR_SHMEM");
        uffd = UserFaultFd.open(UserFaultFd.FEATURE_MINOR_SHMEM, true);
        reader = new FaultMessageReader(uffd, 8);
        final int fd = kernel.memfdCreate("pagestream-minor", 2 * PAGE, false);
        final long guest = kernel.mapFile(fd, 0, 2 * PAGE, true);
        final long alias = kernel.mapFile(fd, 0, 2 * PAGE, true);
        try
        {
            UnsafeApi.setMemory(alias, 2 * PAGE, (byte)0x11); // in the page cache, not yet mapped in the guest view
            uffd.register(guest, 2 * PAGE, UserFaultFd.MODE_MINOR);
            final Thread blocked = copier(buffer, guest + PAGE);

            awaitFault(guest + PAGE, UserFaultFd.PAGEFAULT_FLAG_MINOR);
            UnsafeApi.copyMemory(source, alias + PAGE, PAGE); // the handler fills the page through the alias
            assertThat(uffd.continuePages(guest + PAGE, PAGE, 0)).isEqualTo(PAGE);

            assertFinishes(blocked);
            assertThat(pageEquals(buffer, source)).isTrue();
            assertThat(uffd.continuePages(guest + PAGE, PAGE, 0)).isEqualTo(UserFaultFd.EXISTS);
        }
        finally
        {
            uffd.close();
            kernel.unmap(guest, 2 * PAGE);
            kernel.unmap(alias, 2 * PAGE);
            kernel.closeFd(fd);
        }
    }

    @Test
    void shouldOpenThroughTheDeviceAndReportWhatTheKernelOffers()
    {
        final long wanted = UserFaultFd.FEATURE_WP_ASYNC | UserFaultFd.FEATURE_WP_UNPOPULATED;
        assumeTrue((UserFaultFd.availableFeatures() & wanted) == wanted, "no WP_ASYNC");
        try (UserFaultFd bySyscall = UserFaultFd.open(wanted, true))
        {
            assertThat(bySyscall.openedBy()).isEqualTo("userfaultfd(2)");
            assertThat(bySyscall.isUserModeOnly()).isTrue();
            assertThat(bySyscall.features()).isEqualTo(wanted);
            assertThat(bySyscall.offeredFeatures()).isEqualTo(UserFaultFd.availableFeatures());
            assertThat(bySyscall.apiIoctls() & (1L << 0x3F)).as("UFFDIO_API allowed").isNotZero();
        }
        assumeTrue(Files.isWritable(Path.of("/dev/userfaultfd")), "no /dev/userfaultfd");
        try (UserFaultFd byDevice = UserFaultFd.open(wanted, false, true))
        {
            assertThat(byDevice.openedBy()).isEqualTo("/dev/userfaultfd");
            assertThat(byDevice.isUserModeOnly()).isFalse();
            assertThat(byDevice.offeredFeatures()).isEqualTo(UserFaultFd.availableFeatures());
        }
    }

    @Test
    void shouldRefuseBadRangesAndUnknownFeaturesByName()
    {
        open(0, 1);
        assertThatThrownBy(() -> uffd.register(region + 1, PAGE, UserFaultFd.MODE_MISSING))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ioctl(UFFDIO_REGISTER)")
            .hasMessageContaining("not aligned");
        assertThatThrownBy(() -> uffd.copy(region, 0, PAGE, 0))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sourceAddress is 0");
        assertThatThrownBy(() -> uffd.copy(region, source, 0, 0))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lengthBytes must be positive");
        assertThatThrownBy(() -> uffd.copy(region, source, PAGE, 0))
            .isInstanceOfSatisfying(KernelCallException.class, ex -> assertThat(ex.errno()).isEqualTo(Errno.ENOENT))
            .hasMessageContaining("ioctl(UFFDIO_COPY) address=0x" + Long.toHexString(region));
        assertThatThrownBy(() -> UserFaultFd.open(1L << 62, true))
            .isInstanceOf(KernelCallException.class).hasMessageContaining("ioctl(UFFDIO_API, features=0x4000000000000000)");
        assertThat(reader.poll(1)).isZero();
    }
}
