package io.pagestream.sending;

import io.aeron.Subscription;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationProgress;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.CompleteFlyweight;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.security.FrameGuard;
import io.pagestream.status.CounterType;
import io.pagestream.status.LocalFailure;
import io.pagestream.status.MigrationCounters;
import io.pagestream.status.MigrationLifecycle;
import io.pagestream.transport.BandwidthLimiter;
import io.pagestream.transport.Channels;
import io.pagestream.transport.FrameSink;
import io.pagestream.transport.Links;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.NanoClock;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The source of one migration as an Agrona agent: a small conductor that reads the control stream through its
 * {@link ControlAdapter}, drives the session of its {@link SourceState} (handshake, pre-copy, switchover, post-copy,
 * recovery), checks the deadlines that span sessions (cancel, peer silence, the switchover timeout), sends the
 * heartbeat, and owns the one failure path: before the target runs the guest, a failure puts it back to running here
 * ({@link GuestControl#revert()}) and tells the target; after, the guest is never resumed here and the loss is
 * reported as {@link ErrorCode#GUEST_LOST}.
 * <p>
 * Threading: {@link #doWork()} on one thread (dedicated or the application's invoker); {@link #cancel()} and
 * {@link #progress()} from any thread. Time comes from the context's clock.
 */
public final class SourceConductor implements Agent, ControlAdapter.Listener
{
    private static final long ERROR_DELIVERY_NS = TimeUnit.SECONDS.toNanos(1);
    private static final long HEARTBEAT_NS = TimeUnit.MILLISECONDS.toNanos(100);

    private final MigrationSource.Context ctx;
    private final NanoClock clock;
    private final MigrationLifecycle lifecycle;
    private final TargetProxy proxy;
    private final ControlAdapter adapter;
    private final DataLanes lanes;
    private final UrgentLane urgent;
    private final GuestControl guest;
    private final BandwidthLimiter limiter;
    private final RoundTracker tracker;
    private final LaneStats controlStats = new LaneStats();
    private final SourceFigures figures;
    private final HandshakeSession handshake;
    private final PrecopySession precopy;
    private final SwitchoverSession switchover;
    private final PostcopySession postcopy;
    private final RecoverySession recovery;
    private final PageBitmap pending;
    private final long startNs;
    private volatile boolean cancelRequested;

    private SourceState state = SourceState.HANDSHAKE;
    private long nowNs;
    private long lastPeerFrameNs;
    private long lastHeartbeatNs;
    private boolean postcopyCommitted;
    private boolean targetRunning;
    private long downtimeNs;
    private long postcopyStartNs;
    private ErrorCode pendingErrorCode;
    private String pendingErrorMessage;
    private long errorDeadlineNs;

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
        this.startNs = clock.nanoTime();
        this.nowNs = startNs;
        this.lastHeartbeatNs = startNs;
        final long pageCount = ctx.guestMemory().pageCount();
        final int pageSize = ctx.guestMemory().pageSize();
        this.lifecycle = new MigrationLifecycle(ctx.listener(), ctx.errorHandler(), completion);
        this.guest = new GuestControl(ctx.dirtyPageLog(), ctx.vcpuControl(), ctx.deviceState(), ctx.errorHandler());
        this.limiter = new BandwidthLimiter(ctx.maxBandwidthBytesPerSec(),
            PageFlyweight.PAYLOAD_OFFSET + PageSender.chunkLength(pageSize, laneSinks[0].maxFrameLength()), startNs);
        this.tracker = new RoundTracker(startNs, PageFlyweight.PAYLOAD_OFFSET + pageSize);
        final EncodingChooser chooser =
            new EncodingChooser(ctx.compression(), pageSize, ctx.maxBandwidthBytesPerSec(), startNs);
        this.lanes = DataLanes.create(ctx, laneSinks, links, limiter, tracker, chooser,
            counters.get(CounterType.BACK_PRESSURE), counters.get(CounterType.ADMIN_ACTIONS));
        this.urgent = new UrgentLane(ctx.migrationId(), ctx.guestMemory(), ctx.urgentStreamId(), links, limiter,
            new PageSender(laneSinks[0], ctx.guestMemory(), ctx.migrationId(), limiter,
            PageSender.Pacing.CHARGE_ONLY, null, new EncodingChooser(io.pagestream.api.Compression.NONE, pageSize,
            ctx.maxBandwidthBytesPerSec(), startNs), clock));
        this.proxy = new TargetProxy(ctx.migrationId());
        proxy.controlSink(lanes.controlSink());
        final FrameGuard guard = new FrameGuard("control stream", FrameGuard.FailurePolicy.DROP_AND_COUNT,
            counters.get(CounterType.BAD_FRAME_TAGS));
        this.adapter = new ControlAdapter(controlSubscription, guard, this, ctx.migrationId(), pageCount);
        this.handshake = new HandshakeSession(ctx, proxy, lanes, urgent, guard);
        this.pending = new PageBitmap(pageCount);
        this.precopy = new PrecopySession(lanes, guest, tracker, ctx.policy(), ctx.listener(), ctx.errorHandler(),
            lifecycle::phase, new PageBitmap(pageCount), pending);
        this.switchover = new SwitchoverSession(proxy, guest, limiter, controlStats);
        this.postcopy = new PostcopySession(lanes, urgent, adapter, ctx.faultQuietUs());
        this.recovery = new RecoverySession(lanes, urgent, proxy, guard,
            new HandshakeSession(ctx, proxy, lanes, urgent, guard), ctx.recoveryTimeoutMs(), ctx.frameAuthentication());
        this.figures = new SourceFigures(ctx, counters, lanes, urgent, controlStats, tracker, startNs);
        counters.get(CounterType.DATA_LANES).setOrdered(lanes.count());
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

    /** @return the current public phase. Any thread. */
    public MigrationPhase phase()
    {
        return lifecycle.phase();
    }

    /** @return the conductor's state. */
    public SourceState state()
    {
        return state;
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
            return 0; // idle until closed; the completion future already carries the report
        }
        nowNs = clock.nanoTime();
        int work = 0;
        try
        {
            work += adapter.poll();
            work += checkConditions();
            work += driveSession();
            if (state == SourceState.PRECOPY || state == SourceState.SWITCHOVER || state == SourceState.POSTCOPY)
            {
                sendHeartbeat();
            }
        }
        catch (final MigrationException ex)
        {
            onFailure(ex);
        }
        catch (final Throwable t)
        {
            ctx.errorHandler().onError(t);
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
                    lastPeerFrameNs = nowNs;
                    figures.recoveries(recovery.recoveries());
                    postcopy.start(pending, postcopy.round());
                    state(SourceState.POSTCOPY);
                }
                return work;
            }
            case FAILING:
                return deliverError();
            default:
                return 0;
        }
    }

    private void onHandshakeDone()
    {
        lastPeerFrameNs = nowNs;
        final boolean postcopyAvailable = ctx.postcopyAllowed() &&
            (handshake.targetCapabilities() & Capabilities.POSTCOPY) != 0;
        if (ctx.strategy() == MigrationStrategy.POSTCOPY && !postcopyAvailable)
        {
            throw new MigrationException(ErrorCode.MISSING_CAPABILITY, "strategy POSTCOPY, but the target at " +
                ctx.targetEndpoint() + " did not enable post-copy (MigrationTarget.Context.postcopyEnabled)");
        }
        if (postcopyAvailable)
        {
            // Its own channel, so its own sockets: a faulted page never waits behind bulk in a socket buffer.
            urgent.open(Channels.dataPublication(Channels.urgentEndpoint(ctx.targetEndpoint(), handshake.urgentPort()),
                ctx.mtuLength(), Channels.URGENT_TERM_LENGTH, ctx.socketBufferLength()));
        }
        tracker.roundTripNs(handshake.roundTripNs());
        precopy.start(postcopyAvailable, nowNs);
        state(SourceState.PRECOPY);
    }

    private void startSwitchover()
    {
        final long pageFrames = lanes.stats().pageFrames;
        if (precopy.outcome() == PrecopySession.Outcome.POSTCOPY)
        {
            switchover.startPostcopy(precopy.round(), pageFrames, pending, nowNs);
            lifecycle.phase(MigrationPhase.POSTCOPY);
        }
        else
        {
            switchover.startStopAndCopy(precopy.round(), pageFrames);
        }
        state(SourceState.SWITCHOVER);
    }

    private void afterSwitchoverWork()
    {
        if (!switchover.isDone() || state != SourceState.SWITCHOVER)
        {
            return;
        }
        if (switchover.isPostcopy())
        {
            postcopyCommitted = true;
            postcopyStartNs = nowNs;
            lastPeerFrameNs = nowNs;
            if (ctx.postcopyBandwidthBytesPerSec() > 0)
            {
                limiter.rate(ctx.postcopyBandwidthBytesPerSec(), PageFlyweight.PAYLOAD_OFFSET +
                    PageSender.chunkLength(ctx.guestMemory().pageSize(), lanes.controlSink().maxFrameLength()));
            }
            postcopy.start(pending, switchover.finalRound() + 1);
            state(SourceState.POSTCOPY);
        }
        else
        {
            succeed(); // COMMIT is on the wire: nothing from here can resume the guest on this host
        }
    }

    private int checkConditions()
    {
        if (cancelRequested && !postcopyCommitted && (state == SourceState.HANDSHAKE || state == SourceState.PRECOPY ||
            (state == SourceState.SWITCHOVER && switchover.isCancellable())))
        {
            fail(ErrorCode.CANCELLED, "cancelled by the source application in phase " + lifecycle.phase(), true);
            return 1;
        }
        final long silentNs = nowNs - lastPeerFrameNs;
        final long peerTimeoutNs = TimeUnit.MILLISECONDS.toNanos(ctx.peerTimeoutMs());
        if (postcopyCommitted)
        {
            if ((state == SourceState.POSTCOPY || (state == SourceState.RECOVERY && recovery.isResumeAcknowledged()))
                && silentNs > peerTimeoutNs)
            {
                // Also when a resume stalls half-way (the link died again): start over on fresh sessions.
                startRecovery("no frame from the target for " + TimeUnit.NANOSECONDS.toMillis(silentNs) +
                    " ms in post-copy");
                return 1;
            }
            return 0;
        }
        if (handshake.peerKnown() && (state == SourceState.HANDSHAKE || state == SourceState.PRECOPY ||
            state == SourceState.SWITCHOVER) && silentNs > peerTimeoutNs)
        {
            fail(ErrorCode.PEER_LOST, "no frame from the target for " + TimeUnit.NANOSECONDS.toMillis(silentNs) +
                " ms (peerTimeoutMs=" + ctx.peerTimeoutMs() + ")", false);
            return 1;
        }
        if (guest.isPaused() && (state == SourceState.PRECOPY || state == SourceState.SWITCHOVER) &&
            nowNs - guest.pauseNs() > TimeUnit.MILLISECONDS.toNanos(ctx.switchoverTimeoutMs()))
        {
            fail(ErrorCode.TIMEOUT, "no acknowledgement from the target within switchoverTimeoutMs=" +
                ctx.switchoverTimeoutMs() + " of pausing the guest", true);
            return 1;
        }
        return 0;
    }

    private void startRecovery(final String why)
    {
        recovery.start(why, pending, nowNs);
        state(SourceState.RECOVERY);
    }

    private void sendHeartbeat()
    {
        if (nowNs - lastHeartbeatNs > HEARTBEAT_NS && proxy.status(nowNs) == FrameSink.SENT)
        {
            lastHeartbeatNs = nowNs;
        }
    }

    private long pagesRemaining()
    {
        return postcopyCommitted ? postcopy.pagesRemaining() : precopy.pagesRemaining();
    }

    /** {@inheritDoc} */
    public void onTargetFrame()
    {
        lastPeerFrameNs = nowNs;
    }

    /** {@inheritDoc} */
    public void onHelloAck(final HelloAckFlyweight ack)
    {
        if (state == SourceState.HANDSHAKE)
        {
            handshake.onHelloAck(ack, nowNs);
        }
        else if (state == SourceState.RECOVERY)
        {
            recovery.onHelloAck(ack, nowNs);
        }
    }

    /** {@inheritDoc} */
    public void onTargetStatus(final boolean guestRunning)
    {
        if (guestRunning)
        {
            onTargetRunning();
        }
    }

    /** {@inheritDoc} */
    public void onPageRequest(final long pageIndex)
    {
        if (!postcopyCommitted)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "PAGE_REQUEST for pageIndex=" + pageIndex + " before post-copy");
        }
        onTargetRunning();
        postcopy.onPageRequest(pageIndex, nowNs);
    }

    /** {@inheritDoc} */
    public void onMissingMapChunk(final DirectBuffer buffer, final int offset, final int length)
    {
        if (state != SourceState.RECOVERY)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "MISSING_MAP from the target in state " + state + ", outside a post-copy recovery");
        }
        recovery.onMissingMapChunk(buffer, offset, length);
    }

    /** {@inheritDoc} */
    public void onComplete(final CompleteFlyweight complete)
    {
        figures.faults(complete.faultCount(), complete.faultP50Us(), complete.faultP99Us(), complete.faultMaxUs());
        if (state == SourceState.SWITCHOVER && switchover.state() == SwitchoverSession.State.AWAIT_COMPLETE)
        {
            switchover.onComplete(nowNs);
            afterSwitchoverWork();
        }
        else if (state == SourceState.SWITCHOVER && switchover.state() == SwitchoverSession.State.SEND_COMMIT)
        {
            return; // a repeated COMPLETE while COMMIT waits for room
        }
        else if (postcopyCommitted)
        {
            onTargetRunning();
            succeed();
        }
        else
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "COMPLETE from the target in state " + state + ", before switchover");
        }
    }

    /** {@inheritDoc} */
    public void onTargetError(final ErrorCode code, final String message)
    {
        if (postcopyCommitted && !targetRunning && code != ErrorCode.GUEST_LOST)
        {
            postcopyCommitted = false; // the target refused the post-copy switchover before running the guest
        }
        fail(code, "target reported: " + message, false);
    }

    /** {@inheritDoc} */
    public void onFrameFailure(final MigrationException ex)
    {
        onFailure(ex);
    }

    private void onFailure(final MigrationException ex)
    {
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

    private void onTargetRunning()
    {
        if (postcopyCommitted && !targetRunning)
        {
            targetRunning = true;
            downtimeNs = nowNs - guest.pauseNs();
        }
    }

    private void succeed()
    {
        if (!postcopyCommitted)
        {
            downtimeNs = nowNs - guest.pauseNs();
        }
        guest.stopTracking();
        lifecycle.decide(report(MigrationResult.COMPLETED, "completed", null));
        finish();
    }

    /**
     * The one failure path. Before the target runs the guest: put it back to running here first, then tell the
     * target, then report. After: the guest is not resumed here, and the loss is reported.
     */
    private void fail(final ErrorCode code, final String reason, final boolean notifyPeer)
    {
        if (state == SourceState.DONE || state == SourceState.FAILING)
        {
            return;
        }
        if (postcopyCommitted)
        {
            // The guest may be running on the target, which alone holds its newest pages. Resuming it here as well
            // would run two copies of one machine, so it stays paused and the loss is reported.
            guest.stopTracking();
            lifecycle.decide(report(MigrationResult.FAILED, "post-copy could not finish with " +
                postcopy.pagesRemaining() + " pages still to send: " + reason +
                "; the guest was not resumed here (it ran on the target)", ErrorCode.GUEST_LOST));
            endWith(ErrorCode.GUEST_LOST, reason, notifyPeer);
            return;
        }
        if (guest.revert())
        {
            downtimeNs = nowNs - guest.pauseNs();
        }
        lifecycle.decide(report(code == ErrorCode.CANCELLED ? MigrationResult.CANCELLED : MigrationResult.FAILED,
            reason, code));
        endWith(code, reason, notifyPeer && handshake.peerKnown());
    }

    private void endWith(final ErrorCode code, final String reason, final boolean notifyPeer)
    {
        if (notifyPeer)
        {
            pendingErrorCode = code;
            pendingErrorMessage = reason;
            errorDeadlineNs = nowNs + ERROR_DELIVERY_NS;
            state(SourceState.FAILING);
            adapter.enabled(false);
            deliverError();
        }
        else
        {
            finish();
        }
    }

    private int deliverError()
    {
        final int outcome = proxy.error(pendingErrorCode, pendingErrorMessage);
        if (outcome != FrameSink.RETRY || clock.nanoTime() > errorDeadlineNs)
        {
            finish();
            return 1;
        }
        return 0;
    }

    private void finish()
    {
        state(SourceState.DONE);
        adapter.enabled(false);
        lifecycle.complete();
    }

    private void state(final SourceState next)
    {
        state = next;
        figures.state(next);
    }

    private MigrationReport report(final MigrationResult result, final String reason, final ErrorCode code)
    {
        final int switchRound = postcopyCommitted ? switchover.finalRound() :
            guest.isPaused() ? precopy.round() - 1 : -1;
        return figures.report(nowNs)
            .result(result)
            .reason(reason)
            .errorCode(code)
            .mode(MigrationLifecycle.mode(postcopyCommitted, switchRound))
            .downtimeMs(TimeUnit.NANOSECONDS.toMillis(downtimeNs))
            .rounds(postcopyCommitted ? postcopy.round() : precopy.round())
            .deviceStateBytes(switchover.deviceStateBytes())
            .switchRound(switchRound)
            .postcopyMs(postcopyCommitted ? TimeUnit.NANOSECONDS.toMillis(nowNs - postcopyStartNs) : 0)
            .maxThrottle(guest.maxThrottle())
            .recoveries(recovery.recoveries())
            .lastDecision(null == precopy.lastDecision() ? "" : precopy.lastDecision().toString())
            .build();
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
            if (state != SourceState.DONE)
            {
                proxy.error(pendingErrorCode, pendingErrorMessage); // one last try
                finish();
            }
        }
        CloseHelper.quietCloseAll(urgent, lanes);
    }
}
