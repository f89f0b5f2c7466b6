package io.pagestream.synthetic;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.VcpuControl;
import org.agrona.UnsafeAccess;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * vCPU threads that write guest pages at a chosen rate, marking each in the dirty log after writing it.
 * <p>
 * {@link #pause()} returns only once every vCPU is parked between writes, so no write is in flight; {@link #throttle}
 * really slows the writers, scaling the rate at which they are allowed to write by {@code 1 - fraction}.
 * Threading: control methods from any thread.
 */
public final class SyntheticVcpus implements VcpuControl, AutoCloseable
{
    private static final long TICK_NS = TimeUnit.MICROSECONDS.toNanos(200);
    private static final long PAUSE_WAIT_LIMIT_NS = TimeUnit.SECONDS.toNanos(10);

    private final GuestMemory memory;
    private final SoftwareDirtyLog dirtyLog;
    private final Workload workload;
    private final double ratePerVcpu;
    private final double hotsetFraction;
    private final double hotWriteShare;
    private final Vcpu[] vcpus;
    private final AtomicLong pagesWritten = new AtomicLong();
    private volatile boolean paused;
    private volatile boolean running;
    private volatile double throttle;

    SyntheticVcpus(
        final GuestMemory memory,
        final SoftwareDirtyLog dirtyLog,
        final Workload workload,
        final int vcpuCount,
        final double dirtyRatePagesPerSec,
        final double hotsetFraction,
        final double hotWriteShare,
        final long seed)
    {
        this.memory = memory;
        this.dirtyLog = dirtyLog;
        this.workload = workload;
        this.ratePerVcpu = dirtyRatePagesPerSec / vcpuCount;
        this.hotsetFraction = hotsetFraction;
        this.hotWriteShare = hotWriteShare;
        this.vcpus = new Vcpu[vcpuCount];
        for (int i = 0; i < vcpuCount; i++)
        {
            vcpus[i] = new Vcpu(i, seed * 31 + i + 1, memory.pageCount() * i / vcpuCount);
        }
    }

    /**
     * Start the vCPU threads (daemon threads named {@code vcpu-N}). Idempotent.
     */
    public synchronized void start()
    {
        if (running || workload == Workload.IDLE)
        {
            return;
        }
        running = true;
        for (final Vcpu vcpu : vcpus)
        {
            vcpu.thread = new Thread(vcpu, "vcpu-" + vcpu.index);
            vcpu.thread.setDaemon(true);
            vcpu.thread.start();
        }
    }

    /** {@inheritDoc} */
    public void pause()
    {
        paused = true;
        final long deadline = System.nanoTime() + PAUSE_WAIT_LIMIT_NS;
        for (final Vcpu vcpu : vcpus)
        {
            while (running && null != vcpu.thread && vcpu.thread.isAlive() && !vcpu.parked)
            {
                if (System.nanoTime() > deadline)
                {
                    throw new IllegalStateException("vcpu-" + vcpu.index + " did not stop within 10 s");
                }
                Thread.onSpinWait();
            }
        }
    }

    /** {@inheritDoc} */
    public void resume()
    {
        throttle = 0;
        paused = false;
        for (final Vcpu vcpu : vcpus)
        {
            if (null != vcpu.thread)
            {
                LockSupport.unpark(vcpu.thread);
            }
        }
    }

    /** {@inheritDoc} */
    public void throttle(final double fraction)
    {
        if (!(fraction >= 0 && fraction < 1))
        {
            throw new IllegalArgumentException("throttle fraction must be in [0, 1): " + fraction);
        }
        throttle = fraction;
    }

    /** @return true while paused. */
    public boolean isPaused()
    {
        return paused;
    }

    /** @return the current throttle fraction. */
    public double throttleFraction()
    {
        return throttle;
    }

    /** @return page writes performed so far. */
    public long pagesWritten()
    {
        return pagesWritten.get();
    }

    /**
     * Stop and join the vCPU threads. Idempotent.
     */
    public synchronized void close()
    {
        running = false;
        for (final Vcpu vcpu : vcpus)
        {
            if (null != vcpu.thread)
            {
                LockSupport.unpark(vcpu.thread);
                try
                {
                    vcpu.thread.join(5_000);
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private final class Vcpu implements Runnable
    {
        final int index;
        long rng;
        long sequentialCursor;
        volatile boolean parked;
        Thread thread;

        Vcpu(final int index, final long seed, final long start)
        {
            this.index = index;
            this.rng = seed | 1;
            this.sequentialCursor = start;
        }

        long next()
        {
            long x = rng;
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            rng = x;
            return x;
        }

        long pickPage(final long pageCount)
        {
            switch (workload)
            {
                case HOTSET:
                {
                    final long hotPages = Math.max(1, (long)(pageCount * hotsetFraction));
                    final long r = next();
                    if ((r >>> 11) * 0x1.0p-53 < hotWriteShare)
                    {
                        return Long.remainderUnsigned(next(), hotPages);
                    }
                    return Long.remainderUnsigned(next(), pageCount);
                }
                case SEQUENTIAL:
                {
                    final long p = sequentialCursor;
                    sequentialCursor = p + 1 == pageCount ? 0 : p + 1;
                    return p;
                }
                case UNIFORM:
                default:
                    return Long.remainderUnsigned(next(), pageCount);
            }
        }

        void writePage(final long pageIndex)
        {
            final long address = memory.pageAddress(pageIndex);
            final int words = memory.pageSize() >>> 3;
            final int n = 1 + (int)((next() >>> 60) & 7);
            for (int i = 0; i < n; i++)
            {
                final long r = next();
                UnsafeAccess.UNSAFE.putLong(address + ((long)((int)(r >>> 33) % words) << 3), r | 1);
            }
            dirtyLog.markDirty(pageIndex);
        }

        public void run()
        {
            final long pageCount = memory.pageCount();
            double credit = 0;
            long last = System.nanoTime();
            while (running)
            {
                if (paused)
                {
                    parked = true;
                    while (paused && running)
                    {
                        LockSupport.parkNanos(TICK_NS);
                    }
                    parked = false;
                    last = System.nanoTime();
                    continue;
                }
                final long now = System.nanoTime();
                credit = Math.min(credit + (now - last) * ratePerVcpu * (1 - throttle) / 1e9, ratePerVcpu * 0.01);
                last = now;
                int writes = (int)credit;
                credit -= writes;
                while (writes-- > 0 && !paused)
                {
                    writePage(pickPage(pageCount));
                    pagesWritten.incrementAndGet();
                }
                LockSupport.parkNanos(TICK_NS);
            }
            parked = true;
        }
    }
}
