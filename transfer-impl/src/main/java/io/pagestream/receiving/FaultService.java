package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.pages.PresentPages;
import io.pagestream.protocol.PageRequestFlyweight;
import io.pagestream.security.FrameMac;
import io.pagestream.transport.RequestChannel;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * The target's post-copy fault path, called on the hypervisor's vCPU threads.
 * <p>
 * A vCPU that touches a missing page sends a PAGE_REQUEST itself, on a concurrent publication of the control
 * stream (no hop through the target agent), then waits for the page's present bit: spinning briefly, then
 * yielding, then parking in short steps, so a fault served in tens of microseconds is not rounded up to a
 * scheduler tick while a slow one does not burn a core. The request is repeated every {@link #REQUEST_RETRY_NS}
 * while the wait lasts, which carries it across a reconnection. Service times of faults that had to wait go into an
 * HdrHistogram {@link Recorder} (wait-free for the recording threads).
 * <p>
 * Threading: {@link #awaitPage} and {@link #requestPage} from any number of threads; {@link #requestChannel},
 * {@link #guestLost} and {@link #histogram} from the target conductor. Time comes from the context's clock.
 */
public final class FaultService
{
    /** How often a waiting or polling fault repeats its request. */
    public static final long REQUEST_RETRY_NS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final int SPIN_LIMIT = 2_000;
    private static final int YIELD_LIMIT = 2_100;
    private static final long PARK_NS = TimeUnit.MICROSECONDS.toNanos(20);
    private static final int RECENT_SLOTS = 4096;
    private static final long PAGE_BITS = 40;
    private static final long PAGE_MASK = (1L << PAGE_BITS) - 1;

    private final PresentPages present;
    private final long pageCount;
    private final Recorder recorder = new Recorder(TimeUnit.SECONDS.toNanos(60), 3);
    private final AtomicCounter faultsCounter;
    private final AtomicCounter requestsCounter;
    /** Last request per slot, packed as (time in units of 2^16 ns) << 40 | pageIndex, to rate-limit polling. */
    private final AtomicLongArray recentRequests = new AtomicLongArray(RECENT_SLOTS);
    private final ThreadLocal<Requester> requesters = ThreadLocal.withInitial(Requester::new);
    private volatile byte[] requestKey;

    private final NanoClock clock;
    private final long eventThresholdNs;
    private final java.util.concurrent.atomic.AtomicInteger waiting = new java.util.concurrent.atomic.AtomicInteger();
    private volatile RequestChannel requestChannel;
    private volatile long migrationId;
    private volatile String lostReason;

    /**
     * @param present          the target's present-page map.
     * @param faultsCounter    counts faults that had to wait.
     * @param requestsCounter  counts PAGE_REQUEST frames sent.
     * @param clock            times faults and request retries.
     * @param eventThresholdNs faults served this slow or slower are recorded as a JFR event (0: every fault).
     */
    public FaultService(final PresentPages present, final AtomicCounter faultsCounter,
        final AtomicCounter requestsCounter, final NanoClock clock, final long eventThresholdNs)
    {
        this.present = present;
        this.clock = clock;
        this.eventThresholdNs = eventThresholdNs;
        this.pageCount = present.pageCount();
        this.faultsCounter = faultsCounter;
        this.requestsCounter = requestsCounter;
    }

    /**
     * Conductor: where requests go from now on (null while reconnecting).
     *
     * @param channel   the concurrent request stream to the source, or null.
     * @param sessionId the migration id written in requests.
     */
    public void requestChannel(final RequestChannel channel, final long sessionId)
    {
        migrationId = sessionId;
        requestChannel = channel;
    }

    /**
     * Agent: sign page requests with this key from now on (frame authentication).
     *
     * @param frameKey the session's frame key.
     */
    public void signing(final byte[] frameKey)
    {
        requestKey = frameKey;
    }

    /**
     * Agent: the migration failed after the guest started running here; every waiting and future fault throws.
     *
     * @param reason in words.
     */
    public void guestLost(final String reason)
    {
        lostReason = reason;
    }

    /**
     * @param pageIndex of a guest page.
     * @return true if its current contents are present (acquire).
     */
    public boolean isPresent(final long pageIndex)
    {
        checkRange(pageIndex);
        return present.get(pageIndex);
    }

    /**
     * @param pageIndex of a guest page.
     * @param timeoutNs to wait at most.
     * @return true once present, false on timeout.
     */
    public boolean awaitPage(final long pageIndex, final long timeoutNs)
    {
        checkRange(pageIndex);
        if (present.get(pageIndex))
        {
            return true;
        }
        checkLost(pageIndex);
        waiting.incrementAndGet();
        try
        {
            return await(pageIndex, timeoutNs);
        }
        finally
        {
            waiting.decrementAndGet();
        }
    }

    /**
     * @return true while no vCPU thread is inside {@link #awaitPage} waiting for, or recording, a fault: the fault
     * figures are final once every page is present and this holds.
     */
    public boolean isQuiet()
    {
        return waiting.get() == 0;
    }

    private boolean await(final long pageIndex, final long timeoutNs)
    {
        final long startNs = clock.nanoTime();
        sendRequest(pageIndex, startNs);
        long lastRequestNs = startNs;
        int idle = 0;
        while (true)
        {
            if (present.get(pageIndex))
            {
                final long serviceNs = clock.nanoTime() - startNs;
                faultsCounter.increment(); // many vCPU threads: the atomic increment
                recorder.recordValue(Math.min(serviceNs, TimeUnit.SECONDS.toNanos(60)));
                recordSlowFault(pageIndex, serviceNs, "software");
                return true;
            }
            checkLost(pageIndex);
            final long nowNs = clock.nanoTime();
            if (nowNs - startNs >= timeoutNs)
            {
                return false;
            }
            if (nowNs - lastRequestNs >= REQUEST_RETRY_NS)
            {
                sendRequest(pageIndex, nowNs);
                lastRequestNs = nowNs;
            }
            if (idle < SPIN_LIMIT)
            {
                idle++;
                Thread.onSpinWait();
            }
            else if (idle < YIELD_LIMIT)
            {
                idle++;
                Thread.yield();
            }
            else
            {
                LockSupport.parkNanos(PARK_NS);
            }
        }
    }

    /**
     * @param pageIndex of a guest page.
     * @return true if present now; otherwise a request was sent unless one went recently.
     */
    public boolean requestPage(final long pageIndex)
    {
        checkRange(pageIndex);
        if (present.get(pageIndex))
        {
            return true;
        }
        checkLost(pageIndex);
        final long nowNs = clock.nanoTime();
        final int slot = (int)(mix(pageIndex) & (RECENT_SLOTS - 1));
        final long entry = recentRequests.get(slot);
        final long stamp = (nowNs >>> 16) & ((1L << (64 - PAGE_BITS)) - 1);
        final long lastStamp = entry >>> PAGE_BITS;
        final long elapsedUnits = (stamp - lastStamp) & ((1L << (64 - PAGE_BITS)) - 1);
        if (entry != 0 && (entry & PAGE_MASK) == pageIndex && (elapsedUnits << 16) < REQUEST_RETRY_NS)
        {
            return false;
        }
        recentRequests.set(slot, (stamp << PAGE_BITS) | pageIndex);
        sendRequest(pageIndex, nowNs);
        return present.get(pageIndex);
    }

    /**
     * Fault thread of the kernel fault path: a guest thread blocked in the kernel on a missing page; its page was
     * asked for. Counts as waiting until {@link #kernelFaultServed(long, long)}.
     */
    void kernelFaultStarted()
    {
        waiting.incrementAndGet();
    }

    /**
     * Agent: the page a kernel fault waited on was installed, which woke the thread.
     *
     * @param pageIndex the page.
     * @param serviceNs from the fault read to the install.
     */
    void kernelFaultServed(final long pageIndex, final long serviceNs)
    {
        faultsCounter.increment();
        recorder.recordValue(Math.min(serviceNs, TimeUnit.SECONDS.toNanos(60)));
        recordSlowFault(pageIndex, serviceNs, "userfaultfd");
        waiting.decrementAndGet();
    }

    /**
     * Agent: the fault service times so far (of faults that waited), as a fresh histogram.
     *
     * @return the histogram since the previous call.
     */
    public Histogram histogram()
    {
        return recorder.getIntervalHistogram();
    }

    private void sendRequest(final long pageIndex, final long nowNs)
    {
        final RequestChannel channel = requestChannel;
        if (null == channel)
        {
            return; // Reconnecting: the retry loop sends it once a stream exists again.
        }
        final Requester requester = requesters.get();
        final UnsafeBuffer buffer = requester.buffer;
        int length = SourceProxy.writePageRequest(requester.request, buffer, migrationId, pageIndex, nowNs);
        final byte[] key = requestKey;
        if (null != key)
        {
            if (requester.signerKey != key)
            {
                // Once per thread per session: a vCPU thread signs its own requests.
                requester.signer = new FrameMac(key, FrameMac.LANE_REQUEST);
                requester.signerKey = key;
            }
            requester.signer.sign(buffer, 0, length);
            length += FrameMac.TAG_LENGTH;
        }
        if (channel.offer(buffer, 0, length) > 0)
        {
            requestsCounter.increment();
        }
    }

    private void checkRange(final long pageIndex)
    {
        if (pageIndex < 0 || pageIndex >= pageCount)
        {
            throw new IndexOutOfBoundsException("pageIndex=" + pageIndex + " outside guest memory of " + pageCount +
                " pages");
        }
    }

    private void checkLost(final long pageIndex)
    {
        final String reason = lostReason;
        if (null != reason)
        {
            throw new MigrationException(ErrorCode.GUEST_LOST, "pageIndex=" + pageIndex +
                " never arrived and never will: " + reason);
        }
    }

    private static long mix(final long x)
    {
        final long h = x * 0x9E3779B97F4A7C15L;
        return h ^ (h >>> 29);
    }

    /**
     * What one vCPU thread needs to send its requests: a frame buffer, its flyweight, and a signer for the current
     * session's key. One per thread, made on the thread's first fault.
     */
    private static final class Requester
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(
            ByteBuffer.allocateDirect(PageRequestFlyweight.LENGTH + FrameMac.TAG_LENGTH));
        final PageRequestFlyweight request = new PageRequestFlyweight();
        FrameMac signer;
        byte[] signerKey;
    }

    private void recordSlowFault(final long pageIndex, final long serviceNs, final String path)
    {
        if (serviceNs >= eventThresholdNs)
        {
            final long id = migrationId;
            final io.pagestream.status.Events.PostcopyFault event = new io.pagestream.status.Events.PostcopyFault();
            if (event.isEnabled() && io.pagestream.status.Events.recorded(id))
            {
                event.migrationId = id;
                event.pageIndex = pageIndex;
                event.serviceUs = serviceNs / 1000;
                event.path = path;
                event.commit();
            }
        }
    }
}
