package io.pagestream.kernel;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.testing.Allocations;
import org.agrona.UnsafeApi;
import org.junit.jupiter.api.Test;


import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The per-fetch and per-fault paths allocate nothing once compiled: the JVM's per-thread allocation counter over
 * rounds of calls, until a round allocates less than a byte a call (the JIT compiles in the background, so how many
 * rounds that takes varies), or fails after 30 rounds.
 */
class AllocationFreeTest
{
    private static final int PAGE = 4096;
    private static final int ROUND_CALLS = 10_000;
    private static final int ROUNDS = 30;

    // The measured work is in methods of their own, compiled after a few rounds; a loop body would stay interpreted.
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
            long leastAllocated = Long.MAX_VALUE;
            for (int round = 0; round < ROUNDS && leastAllocated >= ROUND_CALLS; round++)
            {
                final long before = Allocations.ofThisThread();
                long found = 0;
                for (int i = 0; i < ROUND_CALLS; i++)
                {
                    found += writeAndFetch(log, address + (i & 63) * PAGE, bitmap);
                }
                leastAllocated = Math.min(leastAllocated, Allocations.ofThisThread() - before);
                assertThat(found).isEqualTo(ROUND_CALLS);
            }

            assertThat(leastAllocated).as("bytes allocated by %d fetches once compiled", ROUND_CALLS)
                .isLessThan(ROUND_CALLS);
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
            long leastAllocated = Long.MAX_VALUE;
            for (int round = 0; round < ROUNDS && leastAllocated >= ROUND_CALLS; round++)
            {
                final long before = Allocations.ofThisThread();
                long exists = 0;
                for (int i = 0; i < ROUND_CALLS; i++)
                {
                    exists += copyWakePoll(uffd, reader, region, source);
                }
                leastAllocated = Math.min(leastAllocated, Allocations.ofThisThread() - before);
                assertThat(exists).isEqualTo(ROUND_CALLS);
            }

            assertThat(leastAllocated).as("bytes allocated by %d copy + wake + poll once compiled", ROUND_CALLS)
                .isLessThan(ROUND_CALLS);
        }
        finally
        {
            kernel.unmap(region, 2L * PAGE);
            kernel.unmap(source, PAGE);
        }
    }
}
