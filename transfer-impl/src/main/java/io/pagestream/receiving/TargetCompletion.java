package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.transport.FrameSink;

import java.util.concurrent.TimeUnit;

/**
 * The end of a target's migration once every page is here: COMPLETE sent to the source and, in a stop-and-copy, the
 * window until COMMIT comes. COMPLETE is repeated every {@link #COMPLETE_RESEND_NS} meanwhile (a COMMIT lost with the
 * link is answered again), and the embedder may resolve the wait from any thread ({@link #resolve}) if no COMMIT
 * will come. The outcome goes back to the {@link TargetConductor}: committed, or its one failure path.
 * <p>
 * Threading: the target conductor's thread, except {@link #resolve} from any thread.
 */
final class TargetCompletion
{
    /** COMPLETE is repeated this often while COMMIT has not come. */
    static final long COMPLETE_RESEND_NS = TimeUnit.MILLISECONDS.toNanos(100);

    private final TargetConductor conductor;
    private final SwitchoverReceiver switchover;
    private final SourceProxy proxy;
    private final GuestImage image;
    private final TargetFigures figures;
    private final FaultService faults;
    private volatile int commitResolution; // 0 none, 1 the source committed, 2 it did not
    private volatile boolean awaitingCommit; // published by the agent for resolve on other threads
    private long completeSentNs;
    private long lastCompleteNs;

    /**
     * @param conductor  told the outcome.
     * @param switchover says what the hand-over waits for, and builds COMPLETE.
     * @param proxy      sends COMPLETE.
     * @param image      the figures COMPLETE carries.
     * @param figures    the figures COMPLETE carries.
     * @param faults     the fault figures COMPLETE carries.
     */
    TargetCompletion(
        final TargetConductor conductor,
        final SwitchoverReceiver switchover,
        final SourceProxy proxy,
        final GuestImage image,
        final TargetFigures figures,
        final FaultService faults)
    {
        this.conductor = conductor;
        this.switchover = switchover;
        this.proxy = proxy;
        this.image = image;
        this.figures = figures;
        this.faults = faults;
    }

    /**
     * In the conductor's COMPLETING state: send COMPLETE once the hand-over is ready for it, then wait for COMMIT.
     *
     * @param nowNs the time now.
     * @return work done.
     */
    int doWork(final long nowNs)
    {
        if (switchover.state() == SwitchoverReceiver.State.SEND_COMPLETE)
        {
            final int work = sendComplete();
            startWaiting(nowNs);
            return work;
        }
        return switchover.state() == SwitchoverReceiver.State.AWAIT_COMMIT ? awaitCommit(nowNs) : 0;
    }

    /**
     * The wait for COMMIT starts now: COMPLETE was just offered, or this is a follower, which sends none and waits
     * for the target's COMMIT.
     *
     * @param nowNs the time now.
     */
    void startWaiting(final long nowNs)
    {
        completeSentNs = nowNs;
        lastCompleteNs = nowNs;
    }

    /**
     * Any thread: the embedder's answer to "did the source commit?" while this target waits for COMMIT.
     *
     * @param sourceCommitted what the source's side says.
     * @return true if this target is waiting for COMMIT and takes the answer.
     */
    boolean resolve(final boolean sourceCommitted)
    {
        if (!awaitingCommit)
        {
            return false;
        }
        commitResolution = sourceCommitted ? 1 : 2;
        return true;
    }

    /** The migration ended: no answer is taken from here on. */
    void stopWaiting()
    {
        awaitingCommit = false;
    }

    /**
     * @param nowNs the time now.
     * @return how long this target has waited for COMMIT since COMPLETE first went out, ns.
     */
    long waitNs(final long nowNs)
    {
        return nowNs - completeSentNs;
    }

    /**
     * Send COMPLETE; in post-copy, the migration completes with it.
     *
     * @return work done.
     */
    int sendComplete()
    {
        final int outcome = switchover.sendComplete(proxy, image, figures, faults);
        if (outcome == FrameSink.RETRY)
        {
            return 0; // back-pressured, or reconnecting: COMPLETE goes out on the new control stream
        }
        if (outcome == FrameSink.CLOSED && !switchover.isPostcopy())
        {
            conductor.fail(ErrorCode.PEER_LOST, "control stream closed before COMPLETE could be sent", false);
        }
        else if (switchover.isPostcopy())
        {
            // Every page is here, so the guest is safe; if the stream closed, the source only misses the news.
            conductor.onCommitted(outcome == FrameSink.SENT ? "completed" :
                "completed; the control stream closed before COMPLETE reached the source");
        }
        else
        {
            conductor.onSourceAlive(); // ready, not done: the guest resumes here only on the source's COMMIT
        }
        return 1;
    }

    private int awaitCommit(final long nowNs)
    {
        awaitingCommit = true;
        final int resolution = commitResolution;
        if (resolution == 1)
        {
            switchover.onCommit();
            conductor.onCommitted("completed: the embedder resolved that the source committed (no COMMIT arrived)");
            return 1;
        }
        if (resolution == 2)
        {
            conductor.fail(ErrorCode.CANCELLED, "the embedder resolved that the source did not commit: the guest " +
                "was not resumed here", false);
            return 1;
        }
        if (nowNs - lastCompleteNs >= COMPLETE_RESEND_NS)
        {
            lastCompleteNs = nowNs;
            switchover.resendComplete(proxy, image, figures);
            return 1;
        }
        return 0;
    }
}
