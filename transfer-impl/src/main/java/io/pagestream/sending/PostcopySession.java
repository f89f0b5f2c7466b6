package io.pagestream.sending;

import io.pagestream.pages.PageBitmap;

import java.util.concurrent.TimeUnit;

/**
 * Post-copy on the source: the target runs the guest. Pages it faults on go first, on the urgent lane; the rest are
 * pushed on the data lanes, starting just after the latest fault (pre-paging) and wrapping round. The push holds back
 * for {@code faultQuietUs} after each request, keeping the path clear for the faulted page, and the control stream
 * is polled between small batches so a request never waits behind a long one. The session ends when the target
 * reports COMPLETE (the conductor's call), and carries on after a recovery with the target's missing map.
 * <p>
 * Threading: the source conductor's thread.
 */
final class PostcopySession
{
    enum State
    {
        PUSHING, PUSHED
    }

    private static final int PAGES_PER_POLL = 8;
    private static final int POLLS_PER_WORK = 8;
    private static final int URGENT_PAGES_PER_WORK = 16;

    private final DataLanes lanes;
    private final UrgentLane urgent;
    private final ControlAdapter control;
    private final long faultQuietNs;
    private final io.pagestream.transport.BandwidthLimiter limiter;
    private long postcopyCapBytes;
    private PageBitmap toPush;
    private int round;
    private long lastRequestNs = Long.MIN_VALUE / 2;
    private State state = State.PUSHING;

    PostcopySession(final DataLanes lanes, final UrgentLane urgent, final ControlAdapter control,
        final long faultQuietUs, final io.pagestream.transport.BandwidthLimiter limiter, final long postcopyCapBytes)
    {
        this.lanes = lanes;
        this.urgent = urgent;
        this.control = control;
        this.faultQuietNs = TimeUnit.MICROSECONDS.toNanos(faultQuietUs);
        this.limiter = limiter;
        this.postcopyCapBytes = postcopyCapBytes;
    }

    /**
     * Start (or resume after a recovery) pushing.
     *
     * @param pending  pages the target still lacks.
     * @param roundNow written in every frame: one past the last pre-copy round.
     */
    void start(final PageBitmap pending, final int roundNow)
    {
        if (null == toPush && postcopyCapBytes > 0)
        {
            // The push has a cap of its own, like QEMU's max-postcopy-bandwidth; faulted pages are charged to it.
            limiter.rate(postcopyCapBytes, io.pagestream.protocol.PageFlyweight.PAYLOAD_OFFSET + lanes.lane(0).sender().chunkLength());
        }
        toPush = pending;
        round = roundNow;
        lanes.beginPush(pending, roundNow);
        state = State.PUSHING;
    }

    /**
     * A manager changed the push cap (0: the send cap applies).
     *
     * @param postcopyCap the new push cap.
     * @param sendCap     the send cap in force.
     */
    void caps(final long postcopyCap, final long sendCap)
    {
        postcopyCapBytes = postcopyCap;
        if (null != toPush)
        {
            limiter.rate(postcopyCap > 0 ? postcopyCap : sendCap,
                io.pagestream.protocol.PageFlyweight.PAYLOAD_OFFSET + lanes.lane(0).sender().chunkLength());
        }
    }

    State state()
    {
        return state;
    }

    int round()
    {
        return round;
    }

    /** @return pages not yet sent, pushed or requested. */
    long pagesRemaining()
    {
        return null == toPush ? 0 : toPush.cardinality() + urgent.queued();
    }

    /**
     * A page the target's guest faulted on.
     *
     * @param pageIndex the page, in range.
     * @param nowNs     current time.
     */
    void onPageRequest(final long pageIndex, final long nowNs)
    {
        lastRequestNs = nowNs;
        urgent.request(pageIndex);
        lanes.prepage(pageIndex);
        state = State.PUSHING;
    }

    int doWork(final long nowNs)
    {
        int work = 0;
        for (int i = 0; i < POLLS_PER_WORK; i++)
        {
            if (i > 0)
            {
                work += control.poll();
                if (!control.isEnabled())
                {
                    return work; // the migration ended on a frame just read
                }
            }
            work += urgent.doWork(nowNs, toPush, round, URGENT_PAGES_PER_WORK);
            if (nowNs - lastRequestNs < faultQuietNs)
            {
                break; // a fault is being served: keep the pipeline clear for its page
            }
            final int sent = lanes.doWork(nowNs, PAGES_PER_POLL);
            work += sent;
            if (sent == 0)
            {
                break;
            }
        }
        if (lanes.isPushed() && urgent.queued() == 0)
        {
            state = State.PUSHED;
        }
        return work;
    }
}
