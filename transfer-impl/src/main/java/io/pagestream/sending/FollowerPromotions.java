package io.pagestream.sending;

import io.pagestream.transport.FrameSink;

import java.util.List;

/**
 * The followers of a fan-out that may take the target's place: when the target falls silent or fails in pre-copy,
 * the next follower is promoted (it has every frame the target had, the same streams, and answers from then on).
 * Keeps which follower is next, the PROMOTE still to send, and the targets promoted so far for the report. A
 * promoted follower has no urgent lane here, so post-copy is off from the first promotion.
 * <p>
 * Threading: the source conductor's thread.
 */
final class FollowerPromotions
{
    private final List<String> followerEndpoints;
    private final TargetProxy proxy;
    private final PrecopySession precopy;
    private final GuestControl guest;
    private int promotions;
    private String pendingPromotion;
    private String promotedTargets = "";

    /**
     * @param followerEndpoints the followers in the order they are promoted.
     * @param proxy             sends PROMOTE.
     * @param precopy           told that post-copy is off.
     * @param guest             whether the guest still runs here.
     */
    FollowerPromotions(
        final List<String> followerEndpoints,
        final TargetProxy proxy,
        final PrecopySession precopy,
        final GuestControl guest)
    {
        this.followerEndpoints = followerEndpoints;
        this.proxy = proxy;
        this.precopy = precopy;
        this.guest = guest;
    }

    /**
     * @param state             the conductor's state.
     * @param postcopyCommitted true once the guest may run on the target.
     * @return true in a fan-out's pre-copy, the guest running here, while a follower is left to promote.
     */
    boolean canPromote(final SourceState state, final boolean postcopyCommitted)
    {
        return state == SourceState.PRECOPY && !guest.isPaused() && !postcopyCommitted &&
            promotions < followerEndpoints.size();
    }

    /**
     * Promote the next follower: PROMOTE goes out now, or on a later duty cycle if back-pressured.
     *
     * @param why what happened to the target it replaces, for the report.
     */
    void promote(final String why)
    {
        final String next = followerEndpoints.get(promotions);
        promotions++;
        promotedTargets = (promotedTargets.isEmpty() ? "" : promotedTargets + ", ") + next + " (" + why + ")";
        pendingPromotion = next;
        precopy.forbidPostcopy();
        sendPending();
    }

    /** @return 1 if a PROMOTE still to send went out now, else 0. */
    int sendPending()
    {
        if (null != pendingPromotion && proxy.promote(pendingPromotion) == FrameSink.SENT)
        {
            pendingPromotion = null;
            return 1;
        }
        return 0;
    }

    /** @return why the migration completed, naming the followers that took over from a lost target. */
    String completedReason()
    {
        return promotedTargets.isEmpty() ? "completed" : "completed; a follower took over from a lost " +
            "target: " + promotedTargets;
    }
}
