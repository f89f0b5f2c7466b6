package io.pagestream.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * MADV_DONTNEED over many ranges in one system call, for the Linux memory kernel: process_madvise on a pidfd of this
 * process, up to 1024 ranges (iovecs) a call. Where the kernel lacks pidfd_open or process_madvise with MADV_DONTNEED,
 * it turns itself off and the caller discards the rest range by range.
 * <p>
 * Threading: thread-safe; calls are serialised on this object, as they share one iovec array.
 */
final class BatchedDontNeed
{
    private static final int IOVECS = 1024;

    private final int pageSize;
    private final KernelStats stats;
    private volatile boolean available = true;
    private int pidfd = -1;
    private MemorySegment iovecs;

    /**
     * @param pageSize the system page size, which every range must be aligned to.
     * @param stats    counts each batched call.
     */
    BatchedDontNeed(final int pageSize, final KernelStats stats)
    {
        this.pageSize = pageSize;
        this.stats = stats;
    }

    /** @return false once the kernel has shown it cannot do this. */
    boolean isAvailable()
    {
        return available;
    }

    /**
     * @param addresses    the ranges' page-aligned addresses.
     * @param lengthsBytes the ranges' page-aligned lengths.
     * @param count        ranges to discard.
     * @return how many of the first ranges were discarded; the caller discards the rest one by one.
     */
    synchronized int dontNeed(final long[] addresses, final long[] lengthsBytes, final int count)
    {
        if (pidfd < 0)
        {
            final long fd = Descriptors.syscall5(Libc.SYS_PIDFD_OPEN, ProcessHandle.current().pid(), 0, 0, 0, 0);
            if (fd < 0)
            {
                available = false;
                return 0;
            }
            pidfd = (int)fd;
            iovecs = Arena.ofAuto().allocate(16L * IOVECS, 8);
        }
        int done = 0;
        while (done < count)
        {
            final int n = Math.min(IOVECS, count - done);
            long bytes = 0;
            for (int i = 0; i < n; i++)
            {
                Checks.addressRange("process_madvise(MADV_DONTNEED)", addresses[done + i], lengthsBytes[done + i],
                    pageSize);
                iovecs.set(ValueLayout.JAVA_LONG, 16L * i, addresses[done + i]);
                iovecs.set(ValueLayout.JAVA_LONG, 16L * i + 8, lengthsBytes[done + i]);
                bytes += lengthsBytes[done + i];
            }
            final long result = Descriptors.syscall5(
                Libc.SYS_PROCESS_MADVISE, pidfd, iovecs.address(), n, Libc.MADV_DONTNEED, 0);
            if (result != bytes)
            {
                // EINVAL: a kernel whose process_madvise lacks MADV_DONTNEED; a short count: the rest one by one.
                available = result >= 0;
                return done;
            }
            stats.record(KernelStats.Path.DONTNEED_BATCHED);
            done += n;
        }
        return done;
    }
}
