package io.pagestream.kernel;

import com.sun.management.ThreadMXBean;
import io.pagestream.api.guest.GuestMemory;
import org.agrona.UnsafeApi;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The per-fetch and per-fault paths allocate nothing once compiled: measured with the JVM's per-thread allocation
 * counter over many calls after a warm-up.
 */
class AllocationFreeTest
{
    private static final int PAGE = 4096;
    private static final int WARM_UP = 30_000;
    private static final int MEASURED = 10_000;

    private static long allocatedBytes()
    {
        return ((ThreadMXBean)ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    // The measured work is in methods of their own, compiled during the warm-up; a loop body would start interpreted.
    private static long writeAndFetch(final WriteProtectDirtyPageLog log, final long address, final long[] bitmap)
    {
        UnsafeApi.putLong(address, address);
        bitmap[0] = 0;
        return log.fetchAndClear(bitmap);
    }

    private static long copyWakePoll(
        final UserFaultFd uffd, final FaultMessageReader reader, final long region, final long source)
    {
        final long result = uffd.copy(region, source, PAGE, UserFaultFd.COPY_MODE_DONTWAKE);
        uffd.wake(region, PAGE);
        reader.poll(0);
        return result == UserFaultFd.EXISTS ? 1 : 0;
    }

    @Test
    void shouldFetchTheDirtyLogWithoutAllocating()
    {
        assumeTrue(WriteProtectDirtyPageLog.isAvailable(), WriteProtectDirtyPageLog.unavailableReason());
        final MemoryKernel kernel = MemoryKernel.create();
        final long length = 64L * PAGE;
        final long address = kernel.mapAnonymous(length, false);
        final long[] bitmap = new long[1];
        try (WriteProtectDirtyPageLog log = new WriteProtectDirtyPageLog(
            GuestMemory.wrap(PAGE, new long[]{ address }, new long[]{ length })))
        {
            log.startTracking();
            long found = 0;
            for (int i = 0; i < WARM_UP; i++)
            {
                found += writeAndFetch(log, address + (i & 63) * PAGE, bitmap);
            }
            final long before = allocatedBytes();
            for (int i = 0; i < MEASURED; i++)
            {
                found += writeAndFetch(log, address + (i & 63) * PAGE, bitmap);
            }
            final long allocated = allocatedBytes() - before;

            assertThat(found).isEqualTo(WARM_UP + MEASURED);
            assertThat(allocated).as("bytes allocated by %d fetches", MEASURED).isLessThan(MEASURED);
        }
        finally
        {
            kernel.unmap(address, length);
        }
    }

    @Test
    void shouldInstallAndWakeWithoutAllocating()
    {
        assumeTrue(UserFaultFd.isAvailable(), "no userfaultfd here");
        final MemoryKernel kernel = MemoryKernel.create();
        final long region = kernel.mapAnonymous(2L * PAGE, false);
        final long source = kernel.mapAnonymous(PAGE, false);
        try (UserFaultFd uffd = UserFaultFd.open(0, true); FaultMessageReader reader = new FaultMessageReader(uffd, 4))
        {
            uffd.register(region, 2L * PAGE, UserFaultFd.MODE_MISSING);
            assertThat(uffd.copy(region, source, PAGE, 0)).isEqualTo(PAGE);
            long exists = 0;
            for (int i = 0; i < WARM_UP; i++)
            {
                exists += copyWakePoll(uffd, reader, region, source);
            }
            final long before = allocatedBytes();
            for (int i = 0; i < MEASURED; i++)
            {
                exists += copyWakePoll(uffd, reader, region, source);
            }
            final long allocated = allocatedBytes() - before;

            assertThat(exists).isEqualTo(WARM_UP + MEASURED);
            assertThat(allocated).as("bytes allocated by %d copy + wake + poll", MEASURED).isLessThan(MEASURED);
        }
        finally
        {
            kernel.unmap(region, 2L * PAGE);
            kernel.unmap(source, PAGE);
        }
    }
}
