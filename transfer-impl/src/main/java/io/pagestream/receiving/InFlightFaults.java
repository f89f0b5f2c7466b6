package io.pagestream.receiving;

import org.agrona.concurrent.NanoClock;

import java.util.Arrays;
import java.util.function.LongConsumer;

/**
 * The pages the userfaultfd fault thread has asked for and not yet seen installed, each with the time it was first
 * asked for: so the agent's thread can time the service of a fault when the page lands, and the fault thread can ask
 * again for a page that waits too long (which carries the request across a reconnection). A fixed table of slots; more
 * waiting pages than slots (more than vCPUs could make) go untimed.
 * <p>
 * Threading: {@link #track} and {@link #forEachOverdue} on the fault thread, {@link #served} on the agent's thread; the
 * slots are guarded by this object's monitor. No allocation.
 */
final class InFlightFaults
{
    /** What {@link #served} returns for a page no fault is waiting on. */
    static final long NOT_TRACKED = Long.MIN_VALUE;
    private static final int SLOTS = 256;

    private final NanoClock clock;
    private final long[] pageIndex = new long[SLOTS];
    private final long[] startNs = new long[SLOTS];
    private volatile int count;

    /**
     * @param clock times faults.
     */
    InFlightFaults(final NanoClock clock)
    {
        this.clock = clock;
        Arrays.fill(pageIndex, -1);
    }

    /** @return pages waiting now. Any thread. */
    int count()
    {
        return count;
    }

    /**
     * Fault thread: remember when a page was first asked for.
     *
     * @param page the faulting page's index.
     * @return true if this is the page's first fault now waiting, false if it already waits or no slot is free.
     */
    synchronized boolean track(final long page)
    {
        int free = -1;
        for (int i = 0; i < SLOTS; i++)
        {
            if (pageIndex[i] == page)
            {
                return false;
            }
            if (free < 0 && pageIndex[i] < 0)
            {
                free = i;
            }
        }
        if (free < 0)
        {
            return false; // more waiting pages than vCPUs could make: counted when served without a time
        }
        pageIndex[free] = page;
        startNs[free] = clock.nanoTime();
        count = count + 1;
        return true;
    }

    /**
     * Agent thread: a page was installed; if a thread faulted on it, that fault has been served now.
     *
     * @param page the installed page's index.
     * @return ns from the first fault on it until now, or {@link #NOT_TRACKED}.
     */
    long served(final long page)
    {
        if (count == 0)
        {
            return NOT_TRACKED;
        }
        synchronized (this)
        {
            int slot = -1;
            for (int i = 0; i < SLOTS; i++)
            {
                if (pageIndex[i] == page)
                {
                    slot = i;
                    break;
                }
            }
            if (slot < 0)
            {
                return NOT_TRACKED;
            }
            pageIndex[slot] = -1;
            count = count - 1;
            return clock.nanoTime() - startNs[slot];
        }
    }

    /**
     * Fault thread: hand each page that has waited at least {@code ageNs} to {@code action}, under the monitor.
     *
     * @param nowNs  the time now.
     * @param ageNs  how long a page must have waited.
     * @param action asks for the page again.
     */
    synchronized void forEachOverdue(final long nowNs, final long ageNs, final LongConsumer action)
    {
        for (int i = 0; i < SLOTS; i++)
        {
            if (pageIndex[i] >= 0 && nowNs - startNs[i] >= ageNs)
            {
                action.accept(pageIndex[i]);
            }
        }
    }
}
