package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.status.MigrationEnding;

/**
 * What becomes of the guest here when a source migration ends, and the report that says so, handed to the
 * {@link MigrationEnding}. Completed: the guest runs on the target (and, for a clone, here as well). Failed before
 * the target runs the guest: it runs here again ({@link GuestControl#revert()}) and the target is told. Failed after:
 * it is never resumed here, and the loss is reported as {@link ErrorCode#GUEST_LOST}. The source conductor decides
 * when, and whether a follower's promotion or a recovery comes first.
 * <p>
 * Threading: the source conductor's thread.
 */
final class SourceOutcome
{
    private final MigrationSource.Context ctx;
    private final GuestControl guest;
    private final SourceFigures figures;
    private final HandshakeSession handshake;
    private final PostcopySession postcopy;
    private final MigrationEnding ending;

    /**
     * @param ctx       concluded context (the clone's id).
     * @param guest     the guest's control.
     * @param figures   the downtime and the report.
     * @param handshake whether the target is known, so that it can be told.
     * @param postcopy  the pages still to send when post-copy fails.
     * @param ending    delivers the ERROR the target is owed, if any, and completes.
     */
    SourceOutcome(
        final MigrationSource.Context ctx,
        final GuestControl guest,
        final SourceFigures figures,
        final HandshakeSession handshake,
        final PostcopySession postcopy,
        final MigrationEnding ending)
    {
        this.ctx = ctx;
        this.guest = guest;
        this.figures = figures;
        this.handshake = handshake;
        this.postcopy = postcopy;
        this.ending = ending;
    }

    /**
     * The target has the guest: a committed stop-and-copy, or every page pushed in post-copy.
     *
     * @param postcopyCommitted true if the guest ran on the target through post-copy.
     * @param completedReason   why it completed.
     * @param nowNs             the time now.
     */
    void completed(final boolean postcopyCommitted, final String completedReason, final long nowNs)
    {
        if (!postcopyCommitted)
        {
            figures.downtimeEnded(nowNs, guest.pauseNs(), "guest running on the target (stop-and-copy committed)");
        }
        String reason = completedReason;
        if (null != ctx.cloneVmId())
        {
            // A clone: the guest runs on here as well, from the memory the target now holds.
            guest.revert();
            reason = "completed; cloned as " + ctx.cloneVmId() + ", the guest resumed here too";
        }
        guest.stopTracking();
        guest.onCompleted();
        ending.end(report(MigrationResult.COMPLETED, reason, null, postcopyCommitted, nowNs), null, null, nowNs);
    }

    /**
     * Before the target runs the guest: put it back to running here first, then tell the target, then report.
     * After: the guest is not resumed here, and the loss is reported.
     *
     * @param code              what failed.
     * @param reason            why.
     * @param notifyPeer        true if the target should be sent an ERROR.
     * @param postcopyCommitted true if the guest may be running on the target.
     * @param nowNs             the time now.
     */
    void failed(
        final ErrorCode code,
        final String reason,
        final boolean notifyPeer,
        final boolean postcopyCommitted,
        final long nowNs)
    {
        if (postcopyCommitted)
        {
            // The guest may be running on the target, which alone holds its newest pages. Resuming it here as well
            // would run two copies of one machine, so it stays paused and the loss is reported.
            guest.stopTracking();
            ending.end(report(MigrationResult.FAILED, "post-copy could not finish with " +
                postcopy.pagesRemaining() + " pages still to send: " + reason +
                "; the guest was not resumed here (it ran on the target)", ErrorCode.GUEST_LOST, postcopyCommitted,
                nowNs), notifyPeer ? ErrorCode.GUEST_LOST : null, reason, nowNs);
            return;
        }
        final long pauseNs = guest.pauseNs();
        if (guest.revert())
        {
            figures.downtimeEnded(nowNs, pauseNs, "guest running here again: " + reason);
        }
        ending.end(report(code == ErrorCode.CANCELLED ? MigrationResult.CANCELLED : MigrationResult.FAILED,
            reason, code, postcopyCommitted, nowNs), notifyPeer && handshake.peerKnown() ? code : null, reason, nowNs);
    }

    private MigrationReport report(
        final MigrationResult result,
        final String reason,
        final ErrorCode code,
        final boolean postcopyCommitted,
        final long nowNs)
    {
        return figures.report(nowNs, result, reason, code, postcopyCommitted);
    }
}
