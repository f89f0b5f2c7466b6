package io.pagestream.synthetic;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.VcpuControl;
import io.pagestream.kernel.MemoryKernel;
import org.agrona.UnsafeApi;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * vCPU threads that write guest pages at a chosen rate, marking each in the dirty log after writing it.
 * <p>
 * {@link #pause()} returns only once every vCPU is parked between writes, so no write is in flight; {@link #throttle}
 * really slows the writers, scaling the rate at which they are allowed to write by {@code 1 - fraction}.
 * <p>
 * Each vCPU touches a page from native code before its first write there after {@link #start()} or
 * {@link #resume()} ({@link MemoryKernel#touchFromNative}): on memory a kernel fault path serves, the vCPU may block
 * in the kernel until the page arrives, and a Java thread blocked there in Java state would stop every safepoint of
 * the JVM, the fault handler's included. A VMM's vCPUs run guest code natively; these are Java threads.
 * <p>
 * Each vCPU picks its pages with a {@link PagePicker} and, when journalling, records its writes in a
 * {@link WriteJournal}.
 * <p>
 * Threading: control methods from any thread.
 */
public final class SyntheticVcpus implements VcpuControl, AutoCloseable
{
    private static final long TICK_NS = TimeUnit.MICROSECONDS.toNanos(200);
    private static final long PAUSE_WAIT_LIMIT_NS = TimeUnit.SECONDS.toNanos(10);
    private static final MemoryKernel KERNEL = MemoryKernel.create();

    private final GuestMemory memory;
    private final SoftwareDirtyLog dirtyLog;
    private final Workload workload;
    private final double ratePerVcpu;
    private final Vcpu[] vcpus;
    private final AtomicLong pagesWritten = new AtomicLong();
    private volatile boolean paused;
    private volatile boolean running;
    private volatile double throttle;
    private volatile FaultPath faultPath;
    private volatile boolean journalling;
    private volatile RuntimeException guestLost;
    private volatile int touchEpoch;
    private boolean closed;

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
        this.vcpus = new Vcpu[vcpuCount];
        for (int i = 0; i < vcpuCount; i++)
        {
            vcpus[i] = new Vcpu(i, new PagePicker(
                workload, hotsetFraction, hotWriteShare, seed * 31 + i + 1, memory.pageCount() * i / vcpuCount));
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
        closed = false;
        touchEpoch++;
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
        touchEpoch++; // the memory may have changed hands (a switchover discards stale pages): touch natively again
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

    /**
     * Run as a post-copy target's guest: before a vCPU first writes a page it calls the fault path, which must return
     * only once the page's contents are present. Set before {@link #start()}.
     *
     * @param path the hypervisor-side fault path, e.g. {@code pageIndex -> target.awaitPage(pageIndex, timeout)}.
     * @return this.
     */
    public SyntheticVcpus faultPath(final FaultPath path)
    {
        faultPath = path;
        return this;
    }

    /**
     * Record every write (address, old value, new value) so that {@link #verifyAndUndo()} can later prove the memory
     * equals what arrived plus exactly these writes. Each vCPU then writes only pages whose index modulo the vCPU
     * count is its own, so the order of writes to any one word is known. Set before {@link #start()}.
     *
     * @return this.
     */
    public SyntheticVcpus journal()
    {
        journalling = true;
        return this;
    }

    /**
     * With the vCPUs paused or closed: walk every vCPU's journal backwards, check that each written word still holds
     * the value written (nothing overwrote the guest's write, such as a page arriving late) and put back the value it
     * replaced. Afterwards memory should equal the source's final memory exactly, which the caller checks with a
     * digest. A write to a page before its contents arrived shows up either here (the page overwrote it) or in the
     * digest (the old value recorded was not the source's).
     *
     * @return words whose value was not the one written; 0 if every write survived.
     */
    public long verifyAndUndo()
    {
        long mismatches = 0;
        for (final Vcpu vcpu : vcpus)
        {
            mismatches += vcpu.journal.verifyAndUndo();
        }
        return mismatches;
    }

    /** @return writes journalled so far. */
    public long journalledWrites()
    {
        long n = 0;
        for (final Vcpu vcpu : vcpus)
        {
            n += vcpu.journal.writes();
        }
        return n;
    }

    /** @return the exception that stopped the vCPUs because the guest was lost, or null. */
    public RuntimeException guestLost()
    {
        return guestLost;
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
     * @return vCPU threads still alive (after {@link #close()}: those it could not join, such as threads a kernel
     * fault path holds at a page that never came).
     */
    public int liveThreads()
    {
        int alive = 0;
        for (final Vcpu vcpu : vcpus)
        {
            if (null != vcpu.thread && vcpu.thread.isAlive())
            {
                alive++;
            }
        }
        return alive;
    }

    /**
     * Stop and join the vCPU threads. Idempotent.
     */
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        running = false;
        // A running vCPU stops within a write; one the kernel holds at a missing page never does: wait for all of
        // them together, a bounded time, once.
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        for (final Vcpu vcpu : vcpus)
        {
            if (null != vcpu.thread)
            {
                LockSupport.unpark(vcpu.thread);
                try
                {
                    final long leftMs = TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime());
                    if (leftMs > 0)
                    {
                        vcpu.thread.join(leftMs);
                    }
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
        final PagePicker picker;
        final WriteJournal journal = new WriteJournal();
        volatile boolean parked;
        Thread thread;
        final long[] touched;
        int touchedEpoch;

        Vcpu(final int index, final PagePicker picker)
        {
            this.index = index;
            this.picker = picker;
            this.touched = new long[(int)((memory.pageCount() + 63) >>> 6)];
        }

        void writePage(final long pageIndex)
        {
            final FaultPath path = faultPath;
            if (null != path)
            {
                path.fault(pageIndex);
            }
            final boolean journalled = journalling;
            final long address = memory.pageAddress(pageIndex);
            final int epoch = touchEpoch;
            if (epoch != touchedEpoch)
            {
                java.util.Arrays.fill(touched, 0L);
                touchedEpoch = epoch;
            }
            final int touchWord = (int)(pageIndex >>> 6);
            if (0 == (touched[touchWord] & (1L << pageIndex)))
            {
                KERNEL.touchFromNative(address);
                touched[touchWord] |= 1L << pageIndex;
            }
            final int words = memory.pageSize() >>> 3;
            final int n = 1 + (int)((picker.next() >>> 60) & 7);
            for (int i = 0; i < n; i++)
            {
                final long r = picker.next();
                final long wordAddress = address + ((long)((int)(r >>> 33) % words) << 3);
                if (journalled)
                {
                    journal.record(wordAddress, UnsafeApi.getLong(wordAddress), r | 1);
                }
                UnsafeApi.putLong(wordAddress, r | 1);
            }
            if (null != dirtyLog)
            {
                dirtyLog.markDirty(pageIndex); // a software log; the kernel's needs nothing from the vCPU
            }
        }

        long ownPage(final long pageIndex, final long pageCount)
        {
            if (!journalling || vcpus.length == 1)
            {
                return pageIndex;
            }
            long p = pageIndex - Long.remainderUnsigned(pageIndex, vcpus.length) + index;
            if (p >= pageCount)
            {
                p -= vcpus.length;
            }
            return p;
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
                try
                {
                    while (writes-- > 0 && !paused)
                    {
                        writePage(ownPage(picker.pickPage(pageCount), pageCount));
                        pagesWritten.incrementAndGet();
                    }
                }
                catch (final RuntimeException ex)
                {
                    // The fault path gave up (the guest is lost): this vCPU stops, as a real one would be killed.
                    guestLost = ex;
                    break;
                }
                LockSupport.parkNanos(TICK_NS);
            }
            parked = true;
        }
    }

    /**
     * The hypervisor's fault path as the synthetic guest sees it: return once the page is present, or throw.
     */
    @FunctionalInterface
    public interface FaultPath
    {
        /**
         * @param pageIndex the page about to be written.
         */
        void fault(long pageIndex);
    }
}
