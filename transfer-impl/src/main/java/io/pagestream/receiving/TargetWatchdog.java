package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationTarget;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.status.MigrationLifecycle;

import java.util.concurrent.TimeUnit;

/**
 * The target's deadlines that span its sessions, checked once per duty cycle: a cancel before the guest runs here,
 * no hello within {@code handshakeTimeoutMs}, a source silent for {@code peerTimeoutMs} (before the switchover:
 * fail; waiting for COMMIT: fail without a reply, the guest stays on the source; in post-copy: recover), and a
 * resumed source that does not authenticate. Each verdict goes to the conductor's one failure path or its recovery.
 * Threading: the target conductor's thread.
 */
final class TargetWatchdog
{
    private final MigrationTarget.Context ctx;
    private final TargetConductor conductor;
    private final MigrationLifecycle lifecycle;
    private final HelloAcceptor acceptor;
    private final SwitchoverReceiver switchover;
    private final RecoveryResponder recovery;
    private final SourceProxy proxy;
    private final ReceivingLanes lanes;
    private final long peerTimeoutNs;
    private final long handshakeTimeoutNs;

    TargetWatchdog(
        final MigrationTarget.Context ctx,
        final TargetConductor conductor,
        final MigrationLifecycle lifecycle,
        final HelloAcceptor acceptor,
        final SwitchoverReceiver switchover,
        final RecoveryResponder recovery,
        final SourceProxy proxy,
        final ReceivingLanes lanes)
    {
        this.ctx = ctx;
        this.conductor = conductor;
        this.lifecycle = lifecycle;
        this.acceptor = acceptor;
        this.switchover = switchover;
        this.recovery = recovery;
        this.proxy = proxy;
        this.lanes = lanes;
        this.peerTimeoutNs = TimeUnit.MILLISECONDS.toNanos(ctx.peerTimeoutMs());
        this.handshakeTimeoutNs = TimeUnit.MILLISECONDS.toNanos(ctx.handshakeTimeoutMs());
    }

    /**
     * @param state           the conductor's state.
     * @param cancelRequested true if the application asked to cancel.
     * @param sinceStartNs    time since the target started listening.
     * @param silentNs        time since the last frame from the source.
     * @return 1 if a deadline fired, else 0.
     */
    int check(final TargetState state, final boolean cancelRequested, final long sinceStartNs, final long silentNs)
    {
        final boolean silent = silentNs > peerTimeoutNs;
        final boolean awaitingAuth = state == TargetState.HANDSHAKE &&
            acceptor.state() == HelloAcceptor.State.AWAIT_AUTH;
        if (cancelRequested && !switchover.isPostcopy() &&
            (state == TargetState.AWAIT_HELLO || state == TargetState.HANDSHAKE || state == TargetState.RECEIVING))
        {
            conductor.fail(ErrorCode.CANCELLED, "cancelled by the target application in phase " + lifecycle.phase(),
                true);
        }
        else if (state == TargetState.AWAIT_HELLO && handshakeTimeoutNs > 0 && sinceStartNs > handshakeTimeoutNs)
        {
            conductor.fail(ErrorCode.TIMEOUT, "no hello from a source on " + ctx.listenEndpoint() + " within " +
                "handshakeTimeoutMs=" + ctx.handshakeTimeoutMs() + (0 == lanes.refusedVersion() ? "" :
                "; refused " + lanes.refusedHellos() + " hello(s) of protocol version=" + lanes.refusedVersion() +
                ", this build speaks " + FrameFlyweight.PROTOCOL_VERSION), true);
        }
        else if (state == TargetState.COMPLETING && !switchover.isPostcopy() && silent &&
            conductor.commitWaitNs() > Math.max(peerTimeoutNs, TimeUnit.MILLISECONDS.toNanos(ctx.recoveryTimeoutMs())))
        {
            conductor.fail(ErrorCode.COMMIT_UNKNOWN, "no COMMIT nor ERROR from the source within " +
                TimeUnit.NANOSECONDS.toMillis(conductor.commitWaitNs()) + " ms of COMPLETE (COMPLETE repeated; " +
                "recoveryTimeoutMs=" + ctx.recoveryTimeoutMs() + "): whether the source committed is unknown; the " +
                "guest was not resumed here. Ask the source: a COMPLETED source committed and keeps the guest " +
                "paused, a failed one resumed it", false);
        }
        else if (state == TargetState.RECOVERY && recovery.awaitingAuth() && silent)
        {
            conductor.enterRecovery("the resuming source did not authenticate");
        }
        else if ((state == TargetState.RECEIVING || awaitingAuth) && silent)
        {
            conductor.fail(ErrorCode.PEER_LOST, "no frame from the source for " +
                TimeUnit.NANOSECONDS.toMillis(silentNs) + " ms (peerTimeoutMs=" + ctx.peerTimeoutMs() +
                "); the guest was not resumed here", true);
        }
        else if (silent && (state == TargetState.POSTCOPY || (state == TargetState.COMPLETING &&
            switchover.isPostcopy() && null != proxy.control() && !proxy.isConnected())))
        {
            // Also when every page is here but COMPLETE cannot reach the source: resume, then send it.
            conductor.enterRecovery("no frame from the source for " + TimeUnit.NANOSECONDS.toMillis(silentNs) +
                " ms in post-copy");
        }
        else
        {
            return 0;
        }
        return 1;
    }
}
