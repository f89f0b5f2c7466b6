package io.pagestream.api.policy;

/**
 * Pre-copy until the predicted downtime fits the target. The prediction is the source's
 * {@link RoundFigures#predictedDowntimeMs()}: bytes still to send after a pause over the measured bandwidth, plus a
 * round trip, the last dirty-log fetch and the device state's transfer and save. Gives up with {@link MigrationDecision.Action#ABORT} after {@code maxRounds} iterative rounds or
 * {@code maxTimeMs}, leaving the guest on the source.
 */
public final class DowntimeTargetPolicy implements MigrationPolicy
{
    private final long downtimeTargetMs;
    private final int maxRounds;
    private final long maxTimeMs;

    /**
     * @param downtimeTargetMs largest acceptable downtime, positive.
     * @param maxRounds        iterative rounds before giving up, positive.
     * @param maxTimeMs        elapsed time before giving up, positive.
     */
    public DowntimeTargetPolicy(final long downtimeTargetMs, final int maxRounds, final long maxTimeMs)
    {
        requireBounds(downtimeTargetMs, maxRounds, maxTimeMs);
        this.downtimeTargetMs = downtimeTargetMs;
        this.maxRounds = maxRounds;
        this.maxTimeMs = maxTimeMs;
    }

    static void requireBounds(final long downtimeTargetMs, final int maxRounds, final long maxTimeMs)
    {
        if (downtimeTargetMs <= 0 || maxRounds <= 0 || maxTimeMs <= 0)
        {
            throw new IllegalArgumentException("downtimeTargetMs, maxRounds and maxTimeMs must be positive: " +
                downtimeTargetMs + ", " + maxRounds + ", " + maxTimeMs);
        }
    }

    /** {@inheritDoc} */
    public MigrationDecision onRoundComplete(final RoundFigures figures)
    {
        final double predictedMs = figures.predictedDowntimeMs();
        final long downtimeTargetMs = figures.managedDowntimeTargetMs() > 0 ? figures.managedDowntimeTargetMs() :
            this.downtimeTargetMs;
        if (predictedMs <= downtimeTargetMs)
        {
            return MigrationDecision.STOP_AND_COPY;
        }
        if (figures.round() >= maxRounds || figures.elapsedMs() >= maxTimeMs)
        {
            return MigrationDecision.abort(String.format(
                "not converged after %d rounds in %d ms: %d pages dirty at %.0f pages/s, predicted downtime %.1f ms " +
                "exceeds target %d ms at %.1f MB/s",
                figures.round(), figures.elapsedMs(), figures.dirtyPages(), figures.dirtyRatePagesPerSec(),
                predictedMs, downtimeTargetMs, figures.bandwidthBytesPerSec() / 1e6));
        }
        return MigrationDecision.CONTINUE;
    }

    /**
     * @return the downtime target in milliseconds.
     */
    public long downtimeTargetMs()
    {
        return downtimeTargetMs;
    }
}
