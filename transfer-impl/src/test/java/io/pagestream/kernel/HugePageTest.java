package io.pagestream.kernel;

import io.pagestream.api.guest.GuestMemory;
import org.agrona.UnsafeApi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * 2 MiB hugetlb pages: reserves a few through /proc/sys/vm/nr_hugepages when none are free (root only) and gives the
 * count back afterwards. Where none can be had the tests are skipped, never passed.
 */
class HugePageTest
{
    private static final Path NR_HUGEPAGES = Path.of("/proc/sys/vm/nr_hugepages");
    private static final long HUGE = 2 << 20;
    private static final int WANTED = 4;

    private static long originalReserved = -1;

    @BeforeAll
    static void reserve()
    {
        assumeTrue(Libc.AVAILABLE, "Linux FFM kernel calls unavailable: " + Libc.UNAVAILABLE_REASON);
        assumeTrue(ProcSelf.meminfo("Hugepagesize") == 2048, "default huge page size is not 2 MiB");
        if (ProcSelf.meminfo("HugePages_Free") < WANTED)
        {
            try
            {
                originalReserved = Long.parseLong(Files.readString(NR_HUGEPAGES).trim());
                Files.writeString(NR_HUGEPAGES, Long.toString(originalReserved + WANTED));
            }
            catch (final IOException | RuntimeException ex)
            {
                originalReserved = -1;
            }
        }
        assumeTrue(ProcSelf.meminfo("HugePages_Free") >= WANTED,
            "could not reserve " + WANTED + " huge pages (needs root and free contiguous memory)");
    }

    @AfterAll
    static void giveBack() throws IOException
    {
        if (originalReserved >= 0)
        {
            Files.writeString(NR_HUGEPAGES, Long.toString(originalReserved));
        }
    }

    @Test
    void shouldMapAnonymousHugePagesThatTheKernelBacksWith2MiBPages()
    {
        final MemoryKernel kernel = MemoryKernel.create();
        final long freeBefore = ProcSelf.meminfo("HugePages_Free");
        final long address = kernel.mapAnonymous(2 * HUGE, true);
        try
        {
            assertThat(address & (HUGE - 1)).isZero();
            assertThat(ProcSelf.smapsBytes(address, "KernelPageSize")).isEqualTo(HUGE);
            UnsafeApi.putLong(address + HUGE + 12345 * 8, 77L);

            final long[] bitmap = { 0 };
            assertThat(kernel.populatedPages(address, 2 * HUGE, (int)HUGE, bitmap)).isEqualTo(1);
            assertThat(bitmap[0]).isEqualTo(0b10L);
            assertThat(ProcSelf.meminfo("HugePages_Free")).isEqualTo(freeBefore - 1);

            kernel.populateWrite(address, 2 * HUGE);
            assertThat(kernel.populatedPages(address, 2 * HUGE, (int)HUGE, bitmap)).isEqualTo(2);
            assertThat(UnsafeApi.getLong(address + HUGE + 12345 * 8)).isEqualTo(77L);
        }
        finally
        {
            kernel.unmap(address, 2 * HUGE);
        }
        assertThat(ProcSelf.meminfo("HugePages_Free")).isEqualTo(freeBefore);
    }

    @Test
    void shouldKeepTheDirtyLogOfAGuestIn2MiBPages()
    {
        assumeTrue(WriteProtectDirtyPageLog.isAvailable(), WriteProtectDirtyPageLog.unavailableReason());
        assumeTrue((UserFaultFd.availableFeatures() & UserFaultFd.FEATURE_WP_HUGETLBFS_SHMEM) != 0, "no WP on hugetlb");
        final MemoryKernel kernel = MemoryKernel.create();
        final long address = kernel.mapAnonymous(2 * HUGE, true);
        try (WriteProtectDirtyPageLog log = new WriteProtectDirtyPageLog(
            GuestMemory.wrap((int)HUGE, new long[]{ address }, new long[]{ 2 * HUGE })))
        {
            UnsafeApi.putLong(address, 1L);
            log.startTracking();
            UnsafeApi.putLong(address + HUGE + 4096 * 7, 2L);

            final long[] bitmap = { 0 };
            assertThat(log.fetchAndClear(bitmap)).isEqualTo(1);
            assertThat(bitmap[0]).isEqualTo(0b10L);
            UnsafeApi.putLong(address + 64, UnsafeApi.getLong(address + 64));
            bitmap[0] = 0;
            assertThat(log.fetchAndClear(bitmap)).isEqualTo(1);
            assertThat(bitmap[0]).isEqualTo(0b01L);
        }
        finally
        {
            kernel.unmap(address, 2 * HUGE);
        }
    }

    @Test
    void shouldShareAHugeMemfdBetweenTwoMappings()
    {
        final MemoryKernel kernel = MemoryKernel.create();
        final int fd = kernel.memfdCreate("pagestream-huge", 2 * HUGE, true);
        final long first = kernel.mapFile(fd, 0, 2 * HUGE, true);
        final long second = kernel.mapFile(fd, 0, 2 * HUGE, true);
        try
        {
            assertThat(ProcSelf.smapsBytes(first, "KernelPageSize")).isEqualTo(HUGE);
            UnsafeApi.putLong(first + HUGE, 0xABCDL);
            assertThat(UnsafeApi.getLong(second + HUGE)).isEqualTo(0xABCDL);

            // hugetlbfs has the generic llseek: SEEK_DATA/SEEK_HOLE see the whole file as data, holes included.
            final long[] bitmap = { 0 };
            assertThat(kernel.dataPages(fd, 0, 2 * HUGE, (int)HUGE, bitmap)).isEqualTo(2);
            assertThat(bitmap[0]).isEqualTo(0b11L);
            // The page tables of a mapping do tell: only the page written through it is present there.
            assertThat(kernel.populatedPages(first, 2 * HUGE, (int)HUGE, bitmap)).isEqualTo(1);
            assertThat(bitmap[0]).isEqualTo(0b10L);
        }
        finally
        {
            kernel.unmap(first, 2 * HUGE);
            kernel.unmap(second, 2 * HUGE);
            kernel.closeFd(fd);
        }
    }
}
