package io.pagestream.receiving;

import io.aeron.Subscription;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationProgress;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationTarget;
import io.pagestream.protocol.AuthFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.protocol.SwitchoverFlyweight;
import io.pagestream.security.FrameGuard;
import io.pagestream.security.FrameMac;
import io.pagestream.status.CounterType;
import io.pagestream.status.LocalFailure;
import io.pagestream.status.MigrationCounters;
import io.pagestream.status.MigrationLifecycle;
import io.pagestream.transport.Channels;
import io.pagestream.transport.FrameSink;
import io.pagestream.transport.Links;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.NanoClock;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The target of one migration as an Agrona agent: a small conductor that reads the data lanes (and, in post-copy,
 * the urgent lane) through their adapters, routes each typed frame to the piece that owns it (the
 * {@link HelloAcceptor}, the {@link GuestImage}, the {@link SwitchoverReceiver}, the {@link RecoveryResponder}),
 * checks the deadlines, sends the heartbeat and owns the one failure path. Before the guest runs here, a failure
 * leaves it to the source; after, every fault on a page that never arrived throws ({@link ErrorCode#GUEST_LOST}).
 * <p>
 * Threading: {@link #doWork()} on one thread; {@link #cancel()}, {@link #progress()}, {@link #readyToRun()} and the
 * fault path from any thread. Time comes from the context's clock.
 */
public final class TargetConductor implements Agent, DataListener, HelloAcceptor.Keys
{
    private static final int FRAGMENTS_PER_POLL = 64;
    private static final int POSTCOPY_FRAGMENTS_PER_POLL = 8;
    private static final int POSTCOPY_POLLS = 8;
    private static final long ERROR_DELIVERY_NS = TimeUnit.SECONDS.toNanos(1);
    private static final long HEARTBEAT_NS = TimeUnit.MILLISECONDS.toNanos(100);

    private final MigrationTarget.Context ctx;
    private final NanoClock clock;
    private final Links links;
    private final MigrationCounters counters;
    private final MigrationLifecycle lifecycle;
    private final SourceProxy proxy;
    private final GuestImage image;
    private final FaultService faults;
    private final HelloAcceptor acceptor;
    private final SwitchoverReceiver switchover;
    private final RecoveryResponder recovery;
    private final UrgentLaneAdapter urgent;
    private final DataLaneAdapter[] lanes = new DataLaneAdapter[HelloFlyweight.MAX_LANES];
    private final TargetFigures figures;
    private final CompletableFuture<MigrationPhase> readyToRun = new CompletableFuture<>();
    private final long startNs;
    private volatile boolean cancelRequested;
    private int laneCount = 1;
    private TargetState state = TargetState.AWAIT_HELLO;
    private long nowNs;
    private long lastFrameNs;
    private long lastHeartbeatNs;
    private boolean guestRunning;
    private ErrorCode pendingErrorCode;
    private String pendingErrorMessage;
    private long errorDeadlineNs;

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
        this.links = links;
        this.counters = counters;
        this.startNs = clock.nanoTime();
        this.nowNs = startNs;
        this.lifecycle = new MigrationLifecycle(ctx.listener(), ctx.errorHandler(), completion);
        this.proxy = new SourceProxy(links);
        this.image = new GuestImage(ctx.guestMemory(), ctx.memoryZeroed(),
            counters.get(CounterType.PAGE_FRAMES_RECEIVED), counters.get(CounterType.ZERO_PAGES_RECEIVED),
            counters.get(CounterType.DUPLICATE_PAGES_SKIPPED));
        this.faults = new FaultService(image.present(), counters.get(CounterType.FAULTS),
            counters.get(CounterType.PAGE_REQUESTS_SENT), clock);
        this.acceptor = new HelloAcceptor(ctx, proxy, this);
        this.switchover = new SwitchoverReceiver(ctx.deviceState(), ctx.maxDeviceStateBytes(), ctx.postcopyEnabled(),
            ctx.guestMemory().pageCount());
        this.recovery = new RecoveryResponder(acceptor, proxy, faults, image, ctx.recoveryTimeoutMs(),
            ctx.guestMemory().pageCount());
        this.urgent = new UrgentLaneAdapter(urgentSubscription, this,
            new FrameGuard("urgent lane", FrameGuard.FailurePolicy.DROP_AND_COUNT,
            counters.get(CounterType.FOREIGN_FRAMES_DROPPED)).requireVerifier(ctx.frameAuthentication()),
            counters.get(CounterType.FOREIGN_FRAMES_DROPPED), counters.get(CounterType.BAD_FRAMES),
            counters.get(CounterType.BYTES_RECEIVED));
        lanes[0] = newLane(0, dataSubscription);
        this.figures = new TargetFigures(ctx, counters, image, switchover, startNs);
        state(TargetState.AWAIT_HELLO);
    }

    private DataLaneAdapter newLane(final int lane, final Subscription subscription)
    {
        return new DataLaneAdapter(lane, subscription, links, this,
            new FrameGuard("data lane " + lane, FrameGuard.FailurePolicy.FAIL_MIGRATION, null),
            counters.get(CounterType.FOREIGN_FRAMES_DROPPED), counters.get(CounterType.BAD_FRAMES),
            counters.get(CounterType.BYTES_RECEIVED));
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

    /**
     * @param pageIndex of a guest page.
     * @return true if its current contents are present (acquire). Any thread.
     */
    public boolean isPageReceived(final long pageIndex)
    {
        return faults.isPresent(pageIndex);
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
        return lanes[lane];
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
            work += checkConditions();
            work += drive();
            if ((state == TargetState.RECEIVING || state == TargetState.POSTCOPY) &&
                nowNs - lastHeartbeatNs > HEARTBEAT_NS &&
                proxy.status(guestRunning, image.pagesReceived(), nowNs) == FrameSink.SENT)
            {
                lastHeartbeatNs = nowNs;
            }
        }
        catch (final MigrationException ex)
        {
            onFailure(ex);
        }
        catch (final Throwable t)
        {
            ctx.errorHandler().onError(t);
            fail(ErrorCode.INTERNAL, "unexpected " + t);
        }
        return work;
    }

    private int poll()
    {
        if (state == TargetState.POSTCOPY)
        {
            // Faulted pages first: the urgent lane is polled before, and between, small batches of the bulk.
            int work = urgent.poll();
            for (int i = 0; i < POSTCOPY_POLLS && state == TargetState.POSTCOPY; i++)
            {
                final int fragments = pollLanes(POSTCOPY_FRAGMENTS_PER_POLL);
                work += fragments;
                if (state == TargetState.POSTCOPY)
                {
                    work += urgent.poll();
                }
                if (fragments == 0)
                {
                    break;
                }
            }
            return work;
        }
        final boolean reading = state == TargetState.AWAIT_HELLO || state == TargetState.RECEIVING ||
            (state == TargetState.HANDSHAKE && acceptor.state() == HelloAcceptor.State.AWAIT_AUTH) ||
            (state == TargetState.RECOVERY && (recovery.state() == RecoveryResponder.State.AWAIT_HELLO ||
            recovery.awaitingAuth())) || (state == TargetState.COMPLETING && !switchover.isPostcopy());
        return reading ? pollLanes(FRAGMENTS_PER_POLL) : 0;
    }

    private int pollLanes(final int limit)
    {
        int work = 0;
        for (int i = 0; i < laneCount; i++)
        {
            if (image.mayPoll(i))
            {
                work += lanes[i].poll(limit);
            }
        }
        return work;
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
                if (image.postcopyRemaining() == 0)
                {
                    figures.postcopyEnded(nowNs);
                    switchover.onPostcopyComplete();
                    state(TargetState.COMPLETING);
                    return 1 + sendComplete();
                }
                return 0;
            case COMPLETING:
                return switchover.state() == SwitchoverReceiver.State.SEND_COMPLETE ? sendComplete() : 0;
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
                return deliverError();
            default:
                return 0;
        }
    }

    private void startReceiving()
    {
        lastFrameNs = nowNs;
        state(TargetState.RECEIVING);
        lifecycle.phase(MigrationPhase.BULK);
    }

    private int checkConditions()
    {
        final long silentNs = nowNs - lastFrameNs;
        final boolean silent = silentNs > TimeUnit.MILLISECONDS.toNanos(ctx.peerTimeoutMs());
        if (cancelRequested && !switchover.isPostcopy() && (state == TargetState.AWAIT_HELLO ||
            state == TargetState.HANDSHAKE || state == TargetState.RECEIVING))
        {
            fail(ErrorCode.CANCELLED, "cancelled by the target application in phase " + lifecycle.phase());
            return 1;
        }
        if (state == TargetState.AWAIT_HELLO && ctx.handshakeTimeoutMs() > 0 &&
            nowNs - startNs > TimeUnit.MILLISECONDS.toNanos(ctx.handshakeTimeoutMs()))
        {
            fail(ErrorCode.TIMEOUT, "no hello from a source on " + ctx.listenEndpoint() + " within " +
                "handshakeTimeoutMs=" + ctx.handshakeTimeoutMs() + (0 == lanes[0].refusedVersion() ? "" :
                "; refused " + lanes[0].refusedHellos() + " hello(s) of protocol version=" +
                lanes[0].refusedVersion() + ", this build speaks " + FrameFlyweight.PROTOCOL_VERSION));
            return 1;
        }
        if (state == TargetState.COMPLETING && !switchover.isPostcopy() && silent)
        {
            failWithoutReply(ErrorCode.PEER_LOST, "no COMMIT from the source within peerTimeoutMs=" +
                ctx.peerTimeoutMs() + " of the switchover; the guest was not resumed here (the source resumes it, " +
                "or, if it committed, keeps it paused)");
            return 1;
        }
        if (state == TargetState.RECOVERY && recovery.awaitingAuth() && silent)
        {
            enterRecovery("the resuming source did not authenticate");
            return 1;
        }
        if ((state == TargetState.RECEIVING || (state == TargetState.HANDSHAKE &&
            acceptor.state() == HelloAcceptor.State.AWAIT_AUTH)) && silent)
        {
            fail(ErrorCode.PEER_LOST, "no frame from the source for " + TimeUnit.NANOSECONDS.toMillis(silentNs) +
                " ms (peerTimeoutMs=" + ctx.peerTimeoutMs() + "); the guest was not resumed here");
            return 1;
        }
        if ((state == TargetState.POSTCOPY || (state == TargetState.COMPLETING && switchover.isPostcopy() &&
            null != proxy.control() && !proxy.isConnected())) && silent)
        {
            // Also when every page is here but COMPLETE cannot reach the source: resume, then send it.
            enterRecovery("no frame from the source for " + TimeUnit.NANOSECONDS.toMillis(silentNs) +
                " ms in post-copy");
            return 1;
        }
        return 0;
    }

    private void enterRecovery(final String why)
    {
        for (int i = 0; i < laneCount; i++)
        {
            lanes[i].unpin();
        }
        urgent.guard().verifier(null);
        state(TargetState.RECOVERY);
        recovery.enter(why, nowNs);
    }

    private void pinLanes(final boolean first)
    {
        final long migrationId = acceptor.migrationId();
        if (first)
        {
            laneCount = acceptor.laneCount();
            image.laneCount(laneCount);
            figures.lanes(laneCount);
            final String channel = Channels.dataSubscription(ctx.listenEndpoint(), ctx.socketBufferLength(),
                ctx.receiverWindowLength());
            for (int i = 1; i < laneCount; i++)
            {
                lanes[i] = newLane(i, null);
                lanes[i].subscribe(channel, ctx.dataStreamId() + i);
            }
        }
        for (int i = 0; i < laneCount; i++)
        {
            lanes[i].pin(acceptor.laneSessionId(i), migrationId);
        }
        urgent.migrationId(migrationId);
    }

    /** {@inheritDoc} */
    public void onHello(final DirectBuffer buffer, final int offset, final int length, final int aeronSessionId)
    {
        if (state == TargetState.AWAIT_HELLO)
        {
            acceptor.onHello(buffer, offset, length, aeronSessionId, nowNs);
            lastFrameNs = nowNs;
            pinLanes(true);
            state(TargetState.HANDSHAKE);
        }
        else if (state == TargetState.RECOVERY && recovery.state() == RecoveryResponder.State.AWAIT_HELLO)
        {
            if (acceptor.onResumeHello(buffer, offset, length, aeronSessionId, nowNs))
            {
                lastFrameNs = nowNs;
                pinLanes(false);
                recovery.onResumeAccepted();
            }
            else
            {
                counters.get(CounterType.FOREIGN_FRAMES_DROPPED).incrementOrdered(); // not the source we lost
            }
        }
    }

    /** {@inheritDoc} */
    public void onSourceFrame()
    {
        lastFrameNs = nowNs;
    }

    /** {@inheritDoc} */
    public void checkAllowed(final int type)
    {
        final boolean awaitingAuth = (state == TargetState.HANDSHAKE &&
            acceptor.state() == HelloAcceptor.State.AWAIT_AUTH) || (state == TargetState.RECOVERY);
        if (awaitingAuth && type != FrameType.AUTH && type != FrameType.HELLO && type != FrameType.ERROR)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "type=" + type + " (" + FrameType.name(type) + ") frame before the source authenticated");
        }
        if (state == TargetState.COMPLETING && type != FrameType.COMMIT && type != FrameType.ERROR &&
            type != FrameType.STATUS && type != FrameType.HELLO)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "type=" + type + " (" + FrameType.name(type) + ") frame after the switchover");
        }
    }

    /** {@inheritDoc} */
    public void onPage(final int lane, final DirectBuffer buffer, final int offset, final int length)
    {
        image.onPage(lane, buffer, offset, length);
    }

    /** {@inheritDoc} */
    public void onZeroRun(final int lane, final DirectBuffer buffer, final int offset, final int length)
    {
        image.onZeroRun(lane, buffer, offset, length);
    }

    /** {@inheritDoc} */
    public void onRoundEnd(final int lane, final DirectBuffer buffer, final int offset, final int length)
    {
        if (image.onRoundEnd(lane, buffer, offset, length))
        {
            lifecycle.phase(MigrationPhase.ITERATE);
        }
    }

    /** {@inheritDoc} */
    public void onAuth(final AuthFlyweight auth)
    {
        if (state == TargetState.RECOVERY)
        {
            if (!acceptor.onAuth(auth))
            {
                // Not our source: keep waiting for it on a fresh session rather than give the guest up.
                counters.get(CounterType.FOREIGN_FRAMES_DROPPED).incrementOrdered();
                enterRecovery("a resuming source failed authentication");
            }
            return;
        }
        acceptor.onAuth(auth);
        if (state == TargetState.HANDSHAKE && acceptor.isDone())
        {
            startReceiving();
        }
    }

    /** {@inheritDoc} */
    public void onRepeatedHello()
    {
        acceptor.sendHelloAck();
    }

    /** {@inheritDoc} */
    public void onPendingMapChunk(final DirectBuffer buffer, final int offset, final int length)
    {
        switchover.onPendingMapChunk(buffer, offset, length);
    }

    /** {@inheritDoc} */
    public void onDeviceStateChunk(final DirectBuffer buffer, final int offset, final int length)
    {
        if (switchover.onDeviceStateChunk(buffer, offset, length) && !switchover.isPostcopy())
        {
            lifecycle.phase(MigrationPhase.STOP_AND_COPY);
        }
    }

    /** {@inheritDoc} */
    public void onSwitchover(final SwitchoverFlyweight frame)
    {
        if (switchover.onSwitchover(frame, image))
        {
            startPostcopy();
        }
        else
        {
            state(TargetState.COMPLETING);
        }
    }

    private void startPostcopy()
    {
        figures.postcopyStarted(nowNs);
        faults.requestChannel(proxy.requests(), acceptor.migrationId());
        state(TargetState.POSTCOPY);
        lifecycle.phase(MigrationPhase.POSTCOPY);
        // Tell the source at once that the guest runs here: it measures the downtime up to this frame.
        guestRunning = true;
        if (proxy.status(true, image.pagesReceived(), nowNs) == FrameSink.SENT)
        {
            lastHeartbeatNs = nowNs;
        }
        readyToRun.complete(MigrationPhase.POSTCOPY);
    }

    /** {@inheritDoc} */
    public void onCommit()
    {
        switchover.onCommit();
        lifecycle.decide(figures.report(nowNs, MigrationResult.COMPLETED, "completed", null));
        finish();
    }

    /** {@inheritDoc} */
    public void onSourceError(final ErrorCode code, final String message)
    {
        failWithoutReply(switchover.isPostcopy() ? ErrorCode.GUEST_LOST : code, "source reported: " + message);
    }

    /** {@inheritDoc} */
    public void onFrameFailure(final MigrationException ex)
    {
        onFailure(ex);
    }

    /** {@inheritDoc} */
    public void onControlKey(final byte[] frameKey)
    {
        proxy.control().signer(new FrameMac(frameKey, FrameMac.LANE_CONTROL, ctx.frameEncryption()));
        faults.signing(frameKey);
    }

    /** {@inheritDoc} */
    public void onDataKey(final byte[] frameKey)
    {
        for (int i = 0; i < laneCount; i++)
        {
            lanes[i].guard().verifier(new FrameMac(frameKey, FrameMac.dataLane(i), ctx.frameEncryption()));
        }
        urgent.guard().verifier(new FrameMac(frameKey, FrameMac.LANE_URGENT, ctx.frameEncryption()));
    }

    private int sendComplete()
    {
        figures.captureFaults(faults);
        final int outcome = proxy.complete(image.pagesReceived(), image.totalPageFrames(), figures.faultCount(),
            figures.faultP50Us(), figures.faultP99Us(), figures.faultMaxUs());
        if (outcome == FrameSink.RETRY)
        {
            return 0; // back-pressured, or reconnecting: COMPLETE goes out on the new control stream
        }
        if (outcome == FrameSink.CLOSED)
        {
            if (switchover.isPostcopy())
            {
                // Every page is here, so the guest is safe; the source only misses the news.
                lifecycle.decide(figures.report(nowNs, MigrationResult.COMPLETED, "completed; the control stream " +
                    "closed before COMPLETE reached the source", null));
                finish();
                return 1;
            }
            failWithoutReply(ErrorCode.PEER_LOST, "control stream closed before COMPLETE could be sent");
            return 1;
        }
        switchover.onCompleteSent();
        if (!switchover.isPostcopy())
        {
            lastFrameNs = nowNs; // ready, not done: the guest resumes here only on the source's COMMIT
            return 1;
        }
        lifecycle.decide(figures.report(nowNs, MigrationResult.COMPLETED, "completed", null));
        finish();
        return 1;
    }

    private void onFailure(final MigrationException ex)
    {
        if (ex.errorCode() == ErrorCode.INTERNAL && null != ex.getCause())
        {
            ctx.errorHandler().onError(ex.getCause());
        }
        if (ex instanceof LocalFailure)
        {
            failWithoutReply(ex.errorCode(), ex.getMessage());
        }
        else
        {
            fail(ex.errorCode(), ex.getMessage());
        }
    }

    /**
     * The one failure path: decide the outcome, then tell the source if it can hear us.
     */
    private void fail(final ErrorCode code, final String reason)
    {
        if (state == TargetState.DONE || state == TargetState.FAILING)
        {
            return;
        }
        end(code, reason);
        if (proxy.isConnected())
        {
            pendingErrorCode = code;
            pendingErrorMessage = reason;
            errorDeadlineNs = nowNs + ERROR_DELIVERY_NS;
            state(TargetState.FAILING);
            deliverError();
        }
        else
        {
            finish();
        }
    }

    private void failWithoutReply(final ErrorCode code, final String reason)
    {
        if (state == TargetState.DONE || state == TargetState.FAILING)
        {
            return;
        }
        end(code, reason);
        finish();
    }

    private void end(final ErrorCode code, final String reason)
    {
        if (switchover.isPostcopy())
        {
            // The guest ran here on the promise of pages that will not come: every fault from now on throws.
            final String lost = "post-copy failed with " + image.postcopyRemaining() + " pages missing: " + reason;
            faults.guestLost(lost);
            figures.captureFaults(faults);
            lifecycle.decide(figures.report(nowNs, MigrationResult.FAILED, lost, ErrorCode.GUEST_LOST));
            return;
        }
        lifecycle.decide(figures.report(nowNs,
            code == ErrorCode.CANCELLED ? MigrationResult.CANCELLED : MigrationResult.FAILED, reason, code));
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
        state(TargetState.DONE);
        if (!readyToRun.isDone())
        {
            readyToRun.complete(lifecycle.phase());
        }
        lifecycle.complete();
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
                fail(ErrorCode.CANCELLED, "target closed before the migration ended");
            }
            if (state != TargetState.DONE)
            {
                proxy.error(pendingErrorCode, pendingErrorMessage); // one last try
                finish();
            }
        }
        proxy.close();
        for (int i = 1; i < laneCount; i++)
        {
            lanes[i].close();
        }
        if (!readyToRun.isDone())
        {
            readyToRun.complete(lifecycle.phase());
        }
    }
}
