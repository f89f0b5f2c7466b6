package io.pagestream.sending;

import io.aeron.Subscription;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationProgress;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationSource;
import io.pagestream.pages.PageBitmap;
import io.pagestream.status.LocalFailure;
import io.pagestream.status.MigrationCounters;
import io.pagestream.status.MigrationEnding;
import io.pagestream.status.MigrationLifecycle;
import io.pagestream.transport.FrameSink;
import io.pagestream.transport.Links;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.NanoClock;

import java.util.concurrent.CompletableFuture;

/**
 * The source of one migration as an Agrona agent: a small conductor that reads the control stream through its
 * {@link ControlAdapter}, drives the session of its {@link SourceState} (handshake, pre-copy, switchover, post-copy,
 * recovery), checks the deadlines that span sessions (cancel, peer silence, the switchover timeout), sends the
 * heartbeat, and owns the one failure path: before the target runs the guest, a failure puts it back to running here
 * ({@link GuestControl#revert()}) and tells the target; after, the guest is never resumed here and the loss is
 * reported as {@link ErrorCode#GUEST_LOST}. The {@link SourceOutcome} carries out what the conductor decides at the
 * end; in a fan-out, the {@link FollowerPromotions} put a follower in the place of a target lost in pre-copy.
 * <p>
 * Threading: {@link #doWork()} on one thread (dedicated or the application's invoker); {@link #cancel()} and
 * {@link #progress()} from any thread. Time comes from the context's clock.
 */
public final class SourceConductor implements Agent
{
    private final MigrationSource.Context ctx;
    private final NanoClock clock;
    private final MigrationLifecycle lifecycle;
    private final GuestControl guest;
    private final SourceFigures figures;
    private final HandshakeSession handshake;
    private final PrecopySession precopy;
    private final SwitchoverSession switchover;
    private final PostcopySession postcopy;
    private final RecoverySession recovery;
    private final SourceParts parts;
    private final RecoveryEvent recoveryEvent = new RecoveryEvent();
    private volatile boolean cancelRequested;

    private SourceState state = SourceState.HANDSHAKE;
    private long nowNs;
    private long lastPeerFrameNs;
    private boolean postcopyCommitted;
    private boolean answerLateCompletes;

    /**
     * @param ctx                 concluded context.
     * @param links               opens streams after launch without blocking.
     * @param laneSinks           data lane i's stream at index i, made at launch.
     * @param controlSubscription the control stream from the target.
     * @param counters            this side's counters.
     * @param completion          completed with the report at the end.
     */
    public SourceConductor(
        final MigrationSource.Context ctx,
        final Links links,
        final FrameSink[] laneSinks,
        final Subscription controlSubscription,
        final MigrationCounters counters,
        final CompletableFuture<MigrationReport> completion)
    {
        this.ctx = ctx;
        this.clock = ctx.nanoClock();
        this.lifecycle = new MigrationLifecycle(ctx.listener(), ctx.errorHandler(), completion)
            .reportFile(ctx.reportFile());
        this.parts = new SourceParts(this, ctx, links, laneSinks, controlSubscription, counters, lifecycle);
        this.guest = parts.guest;
        this.handshake = parts.handshake;
        this.precopy = parts.precopy;
        this.switchover = parts.switchover;
        this.recovery = parts.recovery;
        this.figures = parts.figures;
        this.postcopy = parts.postcopy;
        // The migration clock starts once everything is built: allocations and the first use of the random source
        // are launch work, as the launcher reports it.
        final long startNs = clock.nanoTime();
        this.nowNs = startNs;
        parts.tracker.start(startNs);
        figures.start(startNs);
        handshake.start(false, startNs);
        state(SourceState.HANDSHAKE);
    }

    /** {@inheritDoc} */
    public String roleName()
    {
        return "pagestream-source";
    }

    /** Ask the conductor to cancel at its next duty cycle. Any thread. */
    public void cancel()
    {
        cancelRequested = true;
    }

    /** @return the management plane. Any thread. */
    public io.pagestream.api.MigrationControl control()
    {
        return parts.control;
    }

    /** @return the conductor's state. */
    public SourceState state()
    {
        return state;
    }

    /** @return the control stream's adapter, for tests that feed frames by hand. */
    ControlAdapter adapter()
    {
        return parts.adapter;
    }

    /** @return a progress snapshot. Any thread. */
    public MigrationProgress progress()
    {
        return figures.progress(lifecycle.phase(), clock.nanoTime());
    }

    /** {@inheritDoc} */
    public int doWork()
    {
        if (state == SourceState.DONE)
        {
            // Idle until closed, the report delivered; after a committed stop-and-copy, keep answering a target that
            // repeats COMPLETE (its COMMIT was lost with the link) with COMMIT again, until closed.
            if (!answerLateCompletes)
            {
                return 0;
            }
            nowNs = clock.nanoTime();
            try
            {
                return parts.adapter.poll();
            }
            catch (final MigrationException ex)
            {
                return 0; // nothing to fail any more
            }
        }
        nowNs = clock.nanoTime();
        int work = 0;
        try
        {
            work += parts.adapter.poll();
            work += parts.control.apply(state, parts.limiter, parts.lanes, parts.tracker, precopy, postcopy);
            work += parts.watchdog.check(state, postcopyCommitted, cancelRequested, nowNs, nowNs - lastPeerFrameNs);
            work += driveSession();
            if (state == SourceState.PRECOPY || state == SourceState.SWITCHOVER || state == SourceState.POSTCOPY)
            {
                parts.proxy.heartbeat(nowNs);
                work += parts.promotions.sendPending();
            }
        }
        catch (final MigrationException ex)
        {
            onFailure(ex);
        }
        catch (final Throwable t)
        {
            ctx.errorHandler().onError(t);
            figures.cause(t);
            fail(ErrorCode.INTERNAL, "unexpected " + t, true);
        }
        figures.update(state, nowNs, pagesRemaining(), guest.throttleFraction(), precopy.lastDecision(),
            precopy.roundsEnded());
        return work;
    }

    private int driveSession()
    {
        switch (state)
        {
            case HANDSHAKE:
            {
                final int work = handshake.doWork(nowNs);
                if (handshake.isDone())
                {
                    onHandshakeDone();
                }
                return work;
            }
            case PRECOPY:
            {
                final int work = precopy.doWork(nowNs);
                if (precopy.isDone())
                {
                    startSwitchover();
                }
                return work;
            }
            case SWITCHOVER:
            {
                final int work = switchover.doWork(nowNs);
                afterSwitchoverWork();
                return work;
            }
            case POSTCOPY:
                return postcopy.doWork(nowNs);
            case RECOVERY:
            {
                final int work = recovery.doWork(nowNs);
                if (recovery.isDone())
                {
                    recoveryEvent.end(true);
                    lastPeerFrameNs = nowNs;
                    figures.recoveries(recovery.recoveries());
                    postcopy.start(parts.pending, postcopy.round());
                    state(SourceState.POSTCOPY);
                }
                return work;
            }
            case FAILING:
                return parts.ending.deliver();
            default:
                return 0;
        }
    }

    private void onHandshakeDone()
    {
        lastPeerFrameNs = nowNs;
        parts.tracker.roundTripNs(handshake.roundTripNs());
        parts.lanes.holes(handshake.targetTakesDataMaps());
        precopy.start(handshake.postcopyAvailable(), nowNs);
        state(SourceState.PRECOPY);
    }

    private void startSwitchover()
    {
        final long pageFrames = parts.lanes.stats().pageFrames;
        if (precopy.outcome() == PrecopySession.Outcome.POSTCOPY)
        {
            parts.control.postcopyStarted();
            if (handshake.targetInstallsPages())
            {
                parts.lanes.disableCache(); // the target discards the old versions: whole pages from here on
            }
            switchover.startPostcopy(precopy.round(), pageFrames, parts.pending, nowNs);
            lifecycle.phase(MigrationPhase.POSTCOPY);
        }
        else
        {
            switchover.startStopAndCopy(precopy.round(), pageFrames);
        }
        state(SourceState.SWITCHOVER);
    }

    void afterSwitchoverWork()
    {
        if (!switchover.isDone() || state != SourceState.SWITCHOVER)
        {
            return;
        }
        if (switchover.isPostcopy())
        {
            postcopyCommitted = true;
            lastPeerFrameNs = nowNs;
            figures.postcopyStarted(nowNs);
            postcopy.start(parts.pending, switchover.finalRound() + 1);
            state(SourceState.POSTCOPY);
        }
        else
        {
            succeed(); // COMMIT is on the wire: nothing from here can resume the guest on this host
        }
    }

    void startRecovery(final String why)
    {
        recoveryEvent.begin(ctx.migrationId(), why);
        recovery.start(why, parts.pending, nowNs);
        state(SourceState.RECOVERY);
    }

    private long pagesRemaining()
    {
        return postcopyCommitted ? postcopy.pagesRemaining() : precopy.pagesRemaining();
    }

    long nowNs()
    {
        return nowNs;
    }

    void onTargetAlive()
    {
        lastPeerFrameNs = nowNs;
    }

    /**
     * Fan-out, pre-copy, the guest running here: the target fell silent, so the next follower takes its place. It
     * has every frame the target had (the same streams), and answers from now on; it gets peerTimeoutMs to do so.
     * A promoted follower has no urgent lane here, so post-copy is off from now on.
     */
    private void promote(final String why)
    {
        lastPeerFrameNs = nowNs;
        parts.promotions.promote(why);
    }

    boolean isPostcopyCommitted()
    {
        return postcopyCommitted;
    }

    /**
     * The target reported an error: before it runs the guest (a refused post-copy switchover too), the guest is
     * still ours and resumes here; after, it is lost.
     */
    void onTargetFailed(final ErrorCode code, final String reason)
    {
        if (parts.promotions.canPromote(state, postcopyCommitted))
        {
            promote("the target failed: " + code + ": " + reason); // it drops out; a follower takes its place
            return;
        }
        if (postcopyCommitted && !figures.isTargetRunning() && code != ErrorCode.GUEST_LOST)
        {
            postcopyCommitted = false; // the target refused the post-copy switchover before running the guest
        }
        fail(code, reason, false);
    }

    void onFailure(final MigrationException ex)
    {
        if (null != ex.getCause())
        {
            figures.cause(ex);
        }
        if (ex.errorCode() == ErrorCode.INTERNAL && null != ex.getCause())
        {
            ctx.errorHandler().onError(ex.getCause());
        }
        if (postcopyCommitted && ex.errorCode() == ErrorCode.PEER_LOST && state != SourceState.FAILING &&
            state != SourceState.DONE)
        {
            try
            {
                startRecovery(ex.getMessage());
            }
            catch (final MigrationException inner)
            {
                fail(inner.errorCode(), inner.getMessage(), false);
            }
            return;
        }
        fail(ex.errorCode(), ex.getMessage(), !(ex instanceof LocalFailure));
    }

    void succeed()
    {
        answerLateCompletes = !postcopyCommitted;
        parts.outcome.completed(postcopyCommitted, parts.promotions.completedReason(), nowNs);
    }

    /**
     * The one failure path. Before the target runs the guest: put it back to running here first, then tell the
     * target, then report. After: the guest is not resumed here, and the loss is reported. Either way the
     * {@link MigrationEnding} then delivers the ERROR the target is owed, if any, and completes.
     */
    void fail(final ErrorCode code, final String reason, final boolean notifyPeer)
    {
        if (state == SourceState.DONE || state == SourceState.FAILING)
        {
            return;
        }
        if (code == ErrorCode.PEER_LOST && parts.promotions.canPromote(state, postcopyCommitted))
        {
            promote(reason);
            return;
        }
        parts.lanes.stopThreads(); // no lane sends on, and the report counts what was sent
        recoveryEvent.end(false);
        parts.outcome.failed(code, reason, notifyPeer, postcopyCommitted, nowNs);
    }

    /** FAILING while the target is owed an ERROR, then DONE; either way nothing more is read from it. */
    void onEnding(final boolean over)
    {
        state(over ? SourceState.DONE : SourceState.FAILING);
        parts.lanes.stopThreads(); // before the future completes: the VMM may free guest memory once it has
        parts.adapter.enabled(false);
        parts.control.end(); // the report is fixed: a manager's later calls change nothing
    }

    private void state(final SourceState next)
    {
        state = next;
        figures.state(next);
    }

    /** {@inheritDoc} */
    public void onClose()
    {
        if (state != SourceState.DONE)
        {
            nowNs = clock.nanoTime();
            if (state != SourceState.FAILING)
            {
                fail(ErrorCode.CANCELLED, "source closed before the migration ended", true);
            }
            parts.ending.close(); // one last try at an ERROR the target is still owed
        }
        CloseHelper.quietCloseAll(parts.urgent, parts.lanes);
    }
}
