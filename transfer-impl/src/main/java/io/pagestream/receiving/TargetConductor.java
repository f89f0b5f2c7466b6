package io.pagestream.receiving;

import io.aeron.Subscription;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationProgress;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationTarget;
import io.pagestream.status.LocalFailure;
import io.pagestream.status.MigrationCounters;
import io.pagestream.status.MigrationEnding;
import io.pagestream.status.MigrationLifecycle;
import io.pagestream.transport.Links;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.NanoClock;

import java.util.concurrent.CompletableFuture;

/**
 * The target of one migration as an Agrona agent: a small conductor that reads the data lanes (and, in post-copy,
 * the urgent lane) through their adapters, routes each typed frame to the piece that owns it (the
 * {@link HelloAcceptor}, the {@link GuestImage}, the {@link SwitchoverReceiver}, the {@link RecoveryResponder}),
 * checks the deadlines, sends the heartbeat and owns the one failure path. Before the guest runs here, a failure
 * leaves it to the source; after, every fault on a page that never arrived throws ({@link ErrorCode#GUEST_LOST}).
 * The {@link TargetCompletion} sends COMPLETE and waits for COMMIT; the {@link FanOutRole} says whether this is a
 * follower of a fan-out, or one promoted to target.
 * <p>
 * Threading: {@link #doWork()} on one thread; {@link #cancel()}, {@link #progress()}, {@link #readyToRun()} and the
 * fault path from any thread. Time comes from the context's clock.
 */
public final class TargetConductor implements Agent
{
    private static final int FRAGMENTS_PER_POLL = 64;

    private final MigrationTarget.Context ctx;
    private final NanoClock clock;
    private final MigrationLifecycle lifecycle;
    private final MigrationEnding ending;
    private final SourceProxy proxy;
    private final GuestImage image;
    private final FaultService faults;
    private final HelloAcceptor acceptor;
    private final SwitchoverReceiver switchover;
    private final RecoveryResponder recovery;
    private final FanOutRole fanOut;
    private final ReceivingLanes lanes;
    private final TargetFigures figures;
    private final TargetCompletion completion;
    private final TargetWatchdog watchdog;
    private final java.util.function.BooleanSupplier inPostcopy = () -> this.state == TargetState.POSTCOPY;
    private final CompletableFuture<MigrationPhase> readyToRun = new CompletableFuture<>();
    private final long startNs;
    private volatile boolean cancelRequested;
    private TargetState state = TargetState.AWAIT_HELLO;
    private long nowNs;
    private long lastFrameNs;

    /**
     * @param ctx                concluded context.
     * @param links              opens streams without blocking a duty cycle.
     * @param dataSubscription   data lane 0.
     * @param urgentSubscription the urgent lane.
     * @param counters           this side's counters.
     * @param completion         completed with the report at the end.
     */
    public TargetConductor(
        final MigrationTarget.Context ctx,
        final Links links,
        final Subscription dataSubscription,
        final Subscription urgentSubscription,
        final MigrationCounters counters,
        final CompletableFuture<MigrationReport> completion)
    {
        this.ctx = ctx;
        this.clock = ctx.nanoClock();
        this.startNs = clock.nanoTime();
        this.nowNs = startNs;
        this.lifecycle = new MigrationLifecycle(ctx.listener(), ctx.errorHandler(), completion)
            .reportFile(ctx.reportFile());
        final TargetParts parts =
            new TargetParts(this, lifecycle, ctx, links, dataSubscription, urgentSubscription, counters, startNs);
        this.proxy = parts.proxy;
        this.image = parts.image;
        this.faults = parts.faults;
        this.acceptor = parts.acceptor;
        this.switchover = parts.switchover;
        this.recovery = parts.recovery;
        this.fanOut = parts.fanOut;
        this.lanes = parts.lanes;
        this.figures = parts.figures;
        this.completion = parts.completion;
        this.watchdog = parts.watchdog;
        this.ending = new MigrationEnding(lifecycle, proxy, clock, this::onEnding);
        state(TargetState.AWAIT_HELLO);
    }

    /** {@inheritDoc} */
    public String roleName()
    {
        return "pagestream-target";
    }

    /** Ask the conductor to cancel at its next duty cycle. Any thread. */
    public void cancel()
    {
        cancelRequested = true;
    }

    /** @return the conductor's state. */
    public TargetState state()
    {
        return state;
    }

    /** @return the fault path for the hypervisor's vCPU threads. Any thread. */
    public FaultService faults()
    {
        return faults;
    }

    /** @return completes with POSTCOPY or COMPLETE when the guest may run here, else the phase it ended in. */
    public CompletableFuture<MigrationPhase> readyToRun()
    {
        return readyToRun;
    }

    /**
     * @param lane a data lane the hello named.
     * @return its adapter, for tests that feed frames by hand.
     */
    DataLaneAdapter lane(final int lane)
    {
        return lanes.lane(lane);
    }

    /** @return a progress snapshot. Any thread. */
    public MigrationProgress progress()
    {
        return figures.progress(lifecycle.phase(), clock.nanoTime());
    }

    /** {@inheritDoc} */
    public int doWork()
    {
        if (state == TargetState.DONE)
        {
            return 0; // idle until closed; the completion future already carries the report
        }
        nowNs = clock.nanoTime();
        int work = 0;
        try
        {
            work += poll();
            work += watchdog.check(state, cancelRequested, nowNs - startNs, nowNs - lastFrameNs);
            work += drive();
            work += fanOut.pollPromotion();
            if (state == TargetState.RECEIVING || state == TargetState.POSTCOPY)
            {
                proxy.heartbeat(switchover.isPostcopy(), image.pagesReceived(), nowNs);
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
        return work;
    }

    private int poll()
    {
        if (state == TargetState.POSTCOPY)
        {
            return lanes.pollPostcopy(inPostcopy); // faulted pages first
        }
        final boolean reading = state == TargetState.AWAIT_HELLO || state == TargetState.RECEIVING ||
            (state == TargetState.HANDSHAKE && acceptor.state() == HelloAcceptor.State.AWAIT_AUTH) ||
            (state == TargetState.RECOVERY && (recovery.state() == RecoveryResponder.State.AWAIT_HELLO ||
            recovery.awaitingAuth())) || (state == TargetState.COMPLETING && !switchover.isPostcopy());
        return reading ? lanes.poll(FRAGMENTS_PER_POLL) : 0;
    }

    private int drive()
    {
        switch (state)
        {
            case HANDSHAKE:
            {
                final int work = acceptor.doWork(nowNs);
                if (work > 0)
                {
                    lastFrameNs = nowNs;
                }
                if (acceptor.isDone())
                {
                    startReceiving();
                }
                return work;
            }
            case POSTCOPY:
                if (image.postcopyRemaining() == 0 && faults.isQuiet()) // every fault counted before COMPLETE
                {
                    image.endPostcopy(false);
                    figures.postcopyEnded(nowNs);
                    switchover.onPostcopyComplete();
                    state(TargetState.COMPLETING);
                    return 1 + completion.sendComplete();
                }
                return 0;
            case COMPLETING:
                return completion.doWork(nowNs);
            case RECOVERY:
            {
                final int work = recovery.doWork(nowNs);
                if (recovery.isDone())
                {
                    lastFrameNs = nowNs;
                    figures.recoveries(recovery.recoveries());
                    state(TargetState.POSTCOPY);
                }
                return work;
            }
            case FAILING:
                return ending.deliver();
            default:
                return 0;
        }
    }

    void startReceiving()
    {
        lastFrameNs = nowNs;
        state(TargetState.RECEIVING);
        lifecycle.phase(MigrationPhase.BULK);
    }

    void enterRecovery(final String why)
    {
        lanes.unpin();
        state(TargetState.RECOVERY);
        recovery.enter(why, nowNs);
    }

    long nowNs()
    {
        return nowNs;
    }

    void onSourceAlive()
    {
        lastFrameNs = nowNs;
    }

    /**
     * @param first true for the first hello of this migration, false for a resume.
     */
    void onHelloAccepted(final boolean first)
    {
        lastFrameNs = nowNs;
        lanes.pin(acceptor, first);
        if (first)
        {
            figures.lanes(lanes.count());
            state(TargetState.HANDSHAKE);
        }
        else
        {
            recovery.onResumeAccepted();
        }
    }

    /**
     * @param postcopy true if the guest may run here now, false for a stop-and-copy (COMPLETE, then COMMIT).
     */
    void onSwitchedOver(final boolean postcopy)
    {
        if (!postcopy)
        {
            state(TargetState.COMPLETING);
            if (fanOut.isFollower())
            {
                completion.startWaiting(nowNs); // a follower sends no COMPLETE: it waits for the target's COMMIT
            }
            return;
        }
        figures.postcopyStarted(nowNs);
        faults.requestChannel(proxy.requests(), acceptor.migrationId());
        state(TargetState.POSTCOPY);
        lifecycle.phase(MigrationPhase.POSTCOPY);
        // Tell the source at once that the guest runs here: it measures the downtime up to this frame.
        proxy.status(true, image.pagesReceived(), nowNs);
        readyToRun.complete(MigrationPhase.POSTCOPY);
    }

    void onCommitted(final String reason)
    {
        final String said = fanOut.completedReason(reason);
        ending.end(figures.report(nowNs, MigrationResult.COMPLETED, said, null), null, null, nowNs);
    }

    void onSourceFailed(final ErrorCode code, final String reason)
    {
        fail(code, reason, false);
    }

    /**
     * Any thread: the embedder's answer to "did the source commit?" while this target waits for COMMIT.
     *
     * @param sourceCommitted what the source's side says.
     * @return true if this target is waiting for COMMIT and takes the answer.
     */
    public boolean resolveCommit(final boolean sourceCommitted)
    {
        return completion.resolve(sourceCommitted);
    }

    /** @return how long this target has waited for COMMIT since COMPLETE first went out, ns. */
    long commitWaitNs()
    {
        return completion.waitNs(nowNs);
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
        fail(ex.errorCode(), ex.getMessage(), !(ex instanceof LocalFailure));
    }

    /**
     * The one failure path: decide the outcome, then tell the source if it should hear and can; the
     * {@link MigrationEnding} delivers the ERROR it is owed, if any, and completes.
     *
     * @param reply false when the source caused the failure or cannot hear of it.
     */
    void fail(final ErrorCode code, final String reason, final boolean reply)
    {
        if (state == TargetState.DONE || state == TargetState.FAILING)
        {
            return;
        }
        final MigrationReport report;
        if (switchover.isPostcopy())
        {
            // The guest ran here on the promise of pages that will not come: every fault from now on throws.
            final String lost = "post-copy failed with " + image.postcopyRemaining() + " pages missing: " + reason;
            faults.guestLost(lost);
            image.endPostcopy(true);
            figures.captureFaults(faults);
            report = figures.report(nowNs, MigrationResult.FAILED, lost, ErrorCode.GUEST_LOST);
        }
        else
        {
            report = figures.report(nowNs,
                code == ErrorCode.CANCELLED ? MigrationResult.CANCELLED : MigrationResult.FAILED, reason, code);
        }
        ending.end(report, reply && proxy.isConnected() ? code : null, reason, nowNs);
    }

    /** FAILING while the source is owed an ERROR, then DONE, releasing a VMM that still waits to run the guest. */
    private void onEnding(final boolean over)
    {
        completion.stopWaiting();
        state(over ? TargetState.DONE : TargetState.FAILING);
        if (over && !readyToRun.isDone())
        {
            readyToRun.complete(lifecycle.phase());
        }
    }

    private void state(final TargetState next)
    {
        state = next;
        figures.state(next);
    }

    /** {@inheritDoc} */
    public void onClose()
    {
        if (state != TargetState.DONE)
        {
            nowNs = clock.nanoTime();
            if (state != TargetState.FAILING)
            {
                fail(ErrorCode.CANCELLED, "target closed before the migration ended", true);
            }
            ending.close(); // one last try at an ERROR the source is still owed
        }
        proxy.close();
        lanes.close();
        if (image.installer() instanceof UffdFaultPath)
        {
            ((UffdFaultPath)image.installer()).close(); // ours; a VMM's hook is the VMM's to close
        }
        if (!readyToRun.isDone())
        {
            readyToRun.complete(lifecycle.phase());
        }
    }
}
