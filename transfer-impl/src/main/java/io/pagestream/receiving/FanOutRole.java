package io.pagestream.receiving;

/**
 * This target's place in a fan-out: a follower, which receives every frame the target does and answers nothing, or
 * a follower the source promoted to target after it lost its target before the switchover, which from then on
 * answers (STATUS, COMPLETE) on a control stream of its own and completes as the target does. A plain target is
 * neither.
 * <p>
 * Threading: the target conductor's thread.
 */
final class FanOutRole
{
    private final String listenEndpoint;
    private final SwitchoverReceiver switchover;
    private final SourceProxy proxy;
    /** True while this is a follower of a fan-out (cleared if the source promotes it to target). */
    private boolean follower;
    /** True from a promotion until the control stream to the source is up. */
    private boolean promoting;
    private String promotedFrom;

    /**
     * @param follower       true if this target starts as a follower.
     * @param listenEndpoint {@code host:port} where this target listens.
     * @param switchover     told of a promotion: it will send COMPLETE and may take post-copy.
     * @param proxy          told of a promotion: it opens the streams to the source.
     */
    FanOutRole(
        final boolean follower,
        final String listenEndpoint,
        final SwitchoverReceiver switchover,
        final SourceProxy proxy)
    {
        this.follower = follower;
        this.listenEndpoint = listenEndpoint;
        this.switchover = switchover;
        this.proxy = proxy;
    }

    /** @return true while this is a follower of a fan-out, not promoted. */
    boolean isFollower()
    {
        return follower;
    }

    /**
     * @param endpoint {@code host:port} a PROMOTE names.
     * @return true if it is where this target listens.
     */
    boolean isListeningAt(final String endpoint)
    {
        return endpoint.equals(listenEndpoint);
    }

    /**
     * The source lost its target before the switchover and made this follower the target: from here it answers
     * (STATUS, COMPLETE) on a control stream of its own and completes as the target does.
     *
     * @param endpoint where this target listens, as the PROMOTE named it.
     */
    void promote(final String endpoint)
    {
        follower = false;
        promoting = true;
        promotedFrom = endpoint;
        switchover.promote();
        proxy.promote();
    }

    /** @return 1 if the control stream of a promotion came up just now, else 0. */
    int pollPromotion()
    {
        if (promoting && proxy.pollConnected())
        {
            promoting = false;
            return 1;
        }
        return 0;
    }

    /**
     * @param reason why the migration completed.
     * @return the reason, with what this target was in the fan-out if anything.
     */
    String completedReason(final String reason)
    {
        return follower ? reason + " (as a follower: the guest as of the switchover, handed over to " +
            "the target; run it only as a clone)" : null != promotedFrom ? reason + " (a follower promoted to " +
            "target at " + promotedFrom + " after the source lost its target)" : reason;
    }
}
