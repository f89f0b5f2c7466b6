package io.pagestream.api.policy;

/**
 * What the source measured up to the end of a round, handed to the {@link MigrationPolicy}.
 * <p>
 * Threading: valid only during the policy call; copy what you keep.
 */
public interface RoundFigures
{
    /**
     * @return the round just finished: 0 is the bulk pass, 1 the first iterative round.
     */
    int round();

    /**
     * @return pages dirty now, which the next round (or stop-and-copy) would send.
     */
    long dirtyPages();

    /**
     * @return pages the guest dirtied per second during the round just finished.
     */
    double dirtyRatePagesPerSec();

    /**
     * @return the achieved send bandwidth in bytes per second, smoothed over the rounds so far.
     */
    double bandwidthBytesPerSec();

    /**
     * @return average bytes on the wire per page sent (encoding ratio times page size, plus framing).
     */
    double wireBytesPerPage();

    /**
     * @return predicted downtime in milliseconds if the guest were paused now: the dirty pages at
     * {@link #wireBytesPerPage()} over {@link #bandwidthBytesPerSec()}, plus one round trip, plus the last dirty-log
     * fetch (the pause repeats it), plus the device state's expected size over the bandwidth and its save at the
     * rate measured by earlier saves in this JVM (none known: the transfer alone). The target's restore of the
     * device state is not in it.
     */
    double predictedDowntimeMs();

    /**
     * @return pages sent during the round just finished.
     */
    long pagesSentInRound();

    /**
     * @return bytes put on the wire during the round just finished.
     */
    long bytesSentInRound();

    /**
     * @return duration of the round just finished in milliseconds.
     */
    long roundDurationMs();

    /**
     * @return milliseconds since the migration started.
     */
    long elapsedMs();

    /**
     * @return the measured handshake round-trip time in microseconds.
     */
    long roundTripUs();

    /**
     * @return true if the source may switch to post-copy: the source allows it and the target enabled it in the
     * handshake.
     */
    boolean postcopyAvailable();

    /**
     * @return the fraction of vCPU time currently held back by auto-converge, 0 when not throttled.
     */
    double throttleFraction();

    /**
     * @return the downtime target a manager set during the migration ({@code MigrationControl.downtimeTarget}), or 0
     * if none did; the built-in policies use it in place of their own from then on.
     */
    default long managedDowntimeTargetMs()
    {
        return 0;
    }
}
