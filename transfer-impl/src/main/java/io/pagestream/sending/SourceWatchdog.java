package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationSource;
import io.pagestream.status.MigrationLifecycle;

import java.util.concurrent.TimeUnit;

/**
 * The source's deadlines that span its sessions, checked once per duty cycle: a cancel while the guest is still
 * ours to keep, a target silent for {@code peerTimeoutMs} (before the hand-over: fail and keep the guest; in
 * post-copy, or a resume that stalls half-way: recover), and the guest paused for longer than
 * {@code switchoverTimeoutMs} without the target's answer. Each verdict goes to the conductor's one failure path or
 * its recovery. Threading: the source conductor's thread.
 */
final class SourceWatchdog
{
    private final MigrationSource.Context ctx;
    private final SourceConductor conductor;
    private final MigrationLifecycle lifecycle;
    private final HandshakeSession handshake;
    private final SwitchoverSession switchover;
    private final RecoverySession recovery;
    private final GuestControl guest;
    private final long peerTimeoutNs;
    private final long switchoverTimeoutNs;
    private final long guardNs;
    private java.util.function.LongSupplier downtimeTargetMs;

    SourceWatchdog(
        final MigrationSource.Context ctx,
        final SourceConductor conductor,
        final MigrationLifecycle lifecycle,
        final HandshakeSession handshake,
        final SwitchoverSession switchover,
        final RecoverySession recovery,
        final GuestControl guest)
    {
        this.ctx = ctx;
        this.conductor = conductor;
        this.lifecycle = lifecycle;
        this.handshake = handshake;
        this.switchover = switchover;
        this.recovery = recovery;
        this.guest = guest;
        this.peerTimeoutNs = TimeUnit.MILLISECONDS.toNanos(ctx.peerTimeoutMs());
        this.switchoverTimeoutNs = TimeUnit.MILLISECONDS.toNanos(ctx.switchoverTimeoutMs());
        this.guardNs = TimeUnit.MILLISECONDS.toNanos(ctx.downtimeGuardMs());
        this.downtimeTargetMs = ctx::downtimeTargetMs;
    }

    /**
     * @param state           the conductor's state.
     * @param committed       true once the guest belongs to the target (post-copy).
     * @param cancelRequested true if the application asked to cancel.
     * @param nowNs           current time.
     * @param silentNs        time since the last frame from the target.
     * @return 1 if a deadline fired, else 0.
     */
    /** @param target where the downtime target in force comes from (the management plane's). */
    void downtimeTarget(final java.util.function.LongSupplier target)
    {
        downtimeTargetMs = target;
    }

    int check(final SourceState state, final boolean committed, final boolean cancelRequested, final long nowNs,
        final long silentNs)
    {
        final boolean beforeHandOver = state == SourceState.HANDSHAKE || state == SourceState.PRECOPY ||
            state == SourceState.SWITCHOVER;
        final boolean silent = silentNs > peerTimeoutNs;
        if (cancelRequested && !committed && beforeHandOver &&
            (state != SourceState.SWITCHOVER || switchover.isCancellable()))
        {
            conductor.fail(ErrorCode.CANCELLED, "cancelled by the source application in phase " + lifecycle.phase(),
                true);
        }
        else if (committed)
        {
            if (!silent ||
                !(state == SourceState.POSTCOPY || (state == SourceState.RECOVERY && recovery.isResumeAcknowledged())))
            {
                return 0;
            }
            // Also when a resume stalls half-way (the link died again): start over on fresh sessions.
            conductor.startRecovery("no frame from the target for " + TimeUnit.NANOSECONDS.toMillis(silentNs) +
                " ms in post-copy");
        }
        else if (handshake.peerKnown() && beforeHandOver && silent)
        {
            conductor.fail(ErrorCode.PEER_LOST, "no frame from the target for " +
                TimeUnit.NANOSECONDS.toMillis(silentNs) + " ms (peerTimeoutMs=" + ctx.peerTimeoutMs() + ")", false);
        }
        else if (guardNs > 0 && !committed && guest.isPaused() && !switchover.isCommitted() &&
            lifecycle.phase() == io.pagestream.api.MigrationPhase.STOP_AND_COPY &&
            (state == SourceState.PRECOPY || state == SourceState.SWITCHOVER) &&
            nowNs - guest.pauseNs() > TimeUnit.MILLISECONDS.toNanos(downtimeTargetMs.getAsLong()) + guardNs)
        {
            conductor.fail(ErrorCode.DOWNTIME_GUARD, "downtime guard: the guest was paused " +
                TimeUnit.NANOSECONDS.toMillis(nowNs - guest.pauseNs()) + " ms, past the " +
                downtimeTargetMs.getAsLong() + " ms downtime target by more than downtimeGuardMs=" +
                ctx.downtimeGuardMs() + " before the target confirmed; the switchover was abandoned and the guest " +
                "resumed here", true);
        }
        else if (guest.isPaused() && (state == SourceState.PRECOPY || state == SourceState.SWITCHOVER) &&
            nowNs - guest.pauseNs() > switchoverTimeoutNs)
        {
            conductor.fail(ErrorCode.TIMEOUT, "no acknowledgement from the target within switchoverTimeoutMs=" +
                ctx.switchoverTimeoutMs() + " of pausing the guest", true);
        }
        else
        {
            return 0;
        }
        return 1;
    }
}
