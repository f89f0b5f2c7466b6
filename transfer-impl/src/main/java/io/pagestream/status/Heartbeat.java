package io.pagestream.status;

import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.StatusFlyweight;
import io.pagestream.transport.FramePublisher;

import java.util.concurrent.TimeUnit;

/**
 * Sends a STATUS frame to the peer at most every {@link #INTERVAL_NS}, so the peer can tell a quiet side from a
 * lost one. A refused offer is retried on the next call. Threading: single writer. No allocation.
 */
public final class Heartbeat
{
    /** Time between heartbeats. */
    public static final long INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(100);

    private final StatusFlyweight statusFlyweight = new StatusFlyweight();
    private long lastSentNs;
    private int flags;

    /**
     * @param running true once this target's guest runs (post-copy), flagged in every heartbeat from then on.
     */
    public void guestRunning(final boolean running)
    {
        flags = running ? io.pagestream.protocol.FrameFlyweight.FLAG_GUEST_RUNNING : 0;
    }

    /**
     * Send a heartbeat if one is due.
     *
     * @param publisher    to the peer.
     * @param sessionId    migration id.
     * @param pagesApplied figure to report (0 on the source).
     * @param nowNs        current time.
     */
    public void sendIfDue(final FramePublisher publisher, final long sessionId, final long pagesApplied, final long nowNs)
    {
        if (nowNs - lastSentNs > INTERVAL_NS)
        {
            statusFlyweight.wrap(publisher.scratch(), 0);
            statusFlyweight.writeHeader(FrameType.STATUS, StatusFlyweight.LENGTH, sessionId);
            statusFlyweight.flags(flags);
            statusFlyweight.pagesApplied(pagesApplied).timestampNs(nowNs);
            if (publisher.offer(StatusFlyweight.LENGTH) == FramePublisher.SENT)
            {
                lastSentNs = nowNs;
            }
        }
    }

    /**
     * Send a heartbeat now, whatever the interval; retried by {@link #sendIfDue} if refused.
     *
     * @param publisher    to the peer.
     * @param sessionId    migration id.
     * @param pagesApplied figure to report.
     * @param nowNs        current time.
     */
    public void sendNow(final FramePublisher publisher, final long sessionId, final long pagesApplied, final long nowNs)
    {
        lastSentNs = nowNs - INTERVAL_NS - 1;
        sendIfDue(publisher, sessionId, pagesApplied, nowNs);
    }
}
