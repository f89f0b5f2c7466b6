package io.pagestream.kernel;

import io.pagestream.api.guest.GuestMemory;
import org.agrona.UnsafeApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernel-kept dirty log, one thread: exact pages across regions, writes of the value already there, pages never
 * populated by tracking, and the cost of a fetch.
 */
class WriteProtectDirtyPageLogTest
{
    private static final int PAGE = 4096;
    private static final long MIB = 1 << 20;

    private final MemoryKernel kernel = MemoryKernel.create();
    private final long[] addresses = new long[3];
    private final long[] lengths = { MIB, 2 * MIB, MIB };
    private GuestMemory memory;
    private WriteProtectDirtyPageLog log;

    @BeforeEach
    void setUp()
    {
        assumeTrue(WriteProtectDirtyPageLog.isAvailable(), WriteProtectDirtyPageLog.unavailableReason());
        for (int i = 0; i < addresses.length; i++)
        {
            addresses[i] = kernel.mapAnonymous(lengths[i], false);
        }
        memory = GuestMemory.wrap(PAGE, addresses, lengths);
        log = new WriteProtectDirtyPageLog(memory);
    }

    @AfterEach
    void tearDown()
    {
        if (null != log)
        {
            log.close();
        }
        for (int i = 0; i < addresses.length; i++)
        {
            if (addresses[i] != 0)
            {
                kernel.unmap(addresses[i], lengths[i]);
            }
        }
    }

    private long[] bitmap()
    {
        return new long[(int)((memory.pageCount() + 63) / 64)];
    }

    private static long[] pagesOf(final long[] bitmap)
    {
        return IntStream.range(0, bitmap.length * 64)
            .filter(i -> (bitmap[i >>> 6] & (1L << i)) != 0).asLongStream().toArray();
    }

    @Test
    void shouldReportExactlyThePagesWrittenWithGlobalIndicesAcrossRegions()
    {
        log.startTracking();
        final long[] written = { 0, 5, 255, 256, 300, 767, 768, 1023 };
        for (final long page : written)
        {
            UnsafeApi.putByte(memory.pageAddress(page) + 17, (byte)1);
        }

        final long[] bitmap = bitmap();
        assertThat(log.fetchAndClear(bitmap)).isEqualTo(written.length);
        assertThat(pagesOf(bitmap)).containsExactly(written);
        assertThat(log.scans()).isEqualTo(3);

        final long[] next = bitmap();
        assertThat(log.fetchAndClear(next)).isZero();
        assertThat(pagesOf(next)).isEmpty();
    }

    @Test
    void shouldReportAWriteOfTheValueAlreadyThereAndOnlySetBits()
    {
        UnsafeApi.putLong(memory.pageAddress(40), 1234L);
        log.startTracking();

        UnsafeApi.putLongVolatile(null, memory.pageAddress(40), UnsafeApi.getLongVolatile(null, memory.pageAddress(40)));
        UnsafeApi.putLongVolatile(null, memory.pageAddress(41), 0L);

        final long[] bitmap = bitmap();
        bitmap[0] = 1L << 40 | 1L << 3;
        assertThat(log.fetchAndClear(bitmap)).as("newly set only").isEqualTo(1);
        assertThat(pagesOf(bitmap)).containsExactly(3, 40, 41);
        assertThat(UnsafeApi.getLong(memory.pageAddress(40))).isEqualTo(1234L);
    }

    @Test
    void shouldTrackNeverTouchedPagesWithoutPopulatingThem()
    {
        log.startTracking();

        assertThat(ProcSelf.smapsBytes(addresses[0], "Rss")).isZero();
        // The write-protect markers look like swap entries to the page tables' readers: conservatively populated.
        final long[] populated = new long[4];
        assertThat(kernel.populatedPages(addresses[0], lengths[0], PAGE, populated)).isEqualTo(lengths[0] / PAGE);

        UnsafeApi.putByte(memory.pageAddress(9), (byte)1);
        UnsafeApi.getByteVolatile(null, memory.pageAddress(10)); // a read maps the zero page: not a write
        final long[] bitmap = bitmap();
        assertThat(log.fetchAndClear(bitmap)).isEqualTo(1);
        assertThat(pagesOf(bitmap)).containsExactly(9);
    }

    @Test
    void shouldReportPagesReleasedWhileTrackedBecauseTheirContentsChanged()
    {
        UnsafeApi.putLong(memory.pageAddress(7), 5L);
        log.startTracking();

        assertThat(kernel.dontNeed(memory.pageAddress(7), PAGE)).isTrue();

        final long[] bitmap = bitmap();
        assertThat(log.fetchAndClear(bitmap)).isEqualTo(1);
        assertThat(pagesOf(bitmap)).containsExactly(7);
    }

    @Test
    void shouldForgetUnfetchedWritesOnRestartAndStopIdempotently()
    {
        log.startTracking();
        UnsafeApi.putByte(memory.pageAddress(1), (byte)1);
        log.startTracking();
        UnsafeApi.putByte(memory.pageAddress(2), (byte)1);

        final long[] bitmap = bitmap();
        log.fetchAndClear(bitmap);
        assertThat(pagesOf(bitmap)).containsExactly(2);

        log.stopTracking();
        log.stopTracking();
        assertThat(log.isTracking()).isFalse();
        assertThatThrownBy(() -> log.fetchAndClear(bitmap)).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("not tracking");
        UnsafeApi.putByte(memory.pageAddress(3), (byte)1); // unprotected again: no fault, nothing to record
    }

    @Test
    void shouldTrackSharedMemfdGuestMemoryWrittenThroughAnotherMapping()
    {
        assumeTrue((UserFaultFd.availableFeatures() & UserFaultFd.FEATURE_WP_HUGETLBFS_SHMEM) != 0, "no WP on shmem");
        final int fd = kernel.memfdCreate("pagestream-dirty", MIB, false);
        final long guest = kernel.mapFile(fd, 0, MIB, true);
        final long alias = kernel.mapFile(fd, 0, MIB, true);
        try (WriteProtectDirtyPageLog shared = new WriteProtectDirtyPageLog(
            GuestMemory.wrap(PAGE, new long[]{ guest }, new long[]{ MIB })))
        {
            shared.startTracking();
            UnsafeApi.putLong(guest + 12 * PAGE, 1L);
            UnsafeApi.putLong(alias + 13 * PAGE, 1L); // another mapping: not a write through the guest's page tables

            final long[] bitmap = new long[4];
            assertThat(shared.fetchAndClear(bitmap)).isEqualTo(1);
            assertThat(pagesOf(bitmap)).containsExactly(12);
        }
        finally
        {
            kernel.unmap(guest, MIB);
            kernel.unmap(alias, MIB);
            kernel.closeFd(fd);
        }
    }

    @Test
    void shouldSeeWritesTheKernelMakesIntoGuestMemory() throws IOException
    {
        final Path file = Files.createTempFile(
            Path.of("/dev/shm"), "pagestream-read-", ".bin");
        try (FileChannel channel = FileChannel.open(
            file, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            channel.write(ByteBuffer.wrap(new byte[]{ 1, 2, 3, 4 }), 0);
            log.startTracking();

            // A direct buffer over guest memory: read(2) copies into it from the kernel.
            final ByteBuffer guestPage = MemorySegment.ofAddress(memory.pageAddress(600))
                .reinterpret(PAGE).asByteBuffer();
            assertThat(channel.read(guestPage, 0)).isEqualTo(4);

            final long[] bitmap = bitmap();
            assertThat(log.fetchAndClear(bitmap)).isEqualTo(1);
            assertThat(pagesOf(bitmap)).containsExactly(600);
            assertThat(UnsafeApi.getInt(memory.pageAddress(600))).isEqualTo(0x04030201);
        }
        finally
        {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void shouldNameTooSmallABitmap()
    {
        log.startTracking();
        assertThatThrownBy(() -> log.fetchAndClear(new long[3]))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fetchAndClear: bitmap of 3 words");
    }

    @Test
    void shouldFetch1GiBWithOnePercentWrittenInOneScanPerRegion()
    {
        final long size = 1L << 30;
        final long address = kernel.mapAnonymous(size, false);
        final GuestMemory big = GuestMemory.wrap(PAGE, new long[]{ address }, new long[]{ size });
        try (WriteProtectDirtyPageLog bigLog = new WriteProtectDirtyPageLog(big))
        {
            bigLog.startTracking();
            final SplittableRandom random = new SplittableRandom(42);
            final long[] expected = new long[(int)(big.pageCount() / 64)];
            for (int i = 0; i < big.pageCount() / 100; i++)
            {
                final long page = random.nextLong(big.pageCount());
                expected[(int)(page >>> 6)] |= 1L << page;
                UnsafeApi.putByte(big.pageAddress(page), (byte)1);
            }
            final long[] bitmap = new long[expected.length];
            final long start = System.nanoTime();
            final long found = bigLog.fetchAndClear(bitmap);
            final long dirtyNs = System.nanoTime() - start;
            final long[] empty = new long[expected.length];
            final long emptyStart = System.nanoTime();
            bigLog.fetchAndClear(empty);
            final long emptyNs = System.nanoTime() - emptyStart;

            assertThat(bitmap).isEqualTo(expected);
            assertThat(pagesOf(empty)).isEmpty();
            System.out.printf("WriteProtectDirtyPageLog 1 GiB: fetch of %d written pages %.3f ms in %d scans, " +
                "empty fetch %.3f ms%n", found, dirtyNs / 1e6, bigLog.scans() - 1, emptyNs / 1e6);
        }
        finally
        {
            kernel.unmap(address, size);
        }
    }
}
