package io.pagestream.api.policy;

import java.util.Locale;

/**
 * The default policy: pre-copy while rounds converge, then post-copy or auto-converge.
 * <ul>
 * <li>Stop and copy as soon as the predicted downtime fits the target.</li>
 * <li>A round <em>fails to converge</em> when the guest dirties bytes at {@value #NEAR_BANDWIDTH} or more of the
 * achieved bandwidth (at the current bytes per page) and the dirty set did not shrink by a fifth.</li>
 * <li>After {@value #ROUNDS_TO_SWITCH} such rounds in a row, or at the round or time bound, switch to post-copy if
 * it is available.</li>
 * <li>Otherwise throttle the vCPUs (auto-converge), in steps computed from the measurement: the fraction that would
 * bring the unthrottled dirty rate down to half the bandwidth, at least 20% and at least 10 points more than the
 * step before, at most 99%. At the round or time bound without post-copy it gives up.</li>
 * </ul>
 * Threading: one migration, the source's agent thread.
 */
public final class HybridPolicy implements MigrationPolicy
{
    /** Dirty bytes per second over achieved bandwidth at which a round counts as not converging. */
    public static final double NEAR_BANDWIDTH = 0.8;
    /** Non-converging rounds in a row before switching. */
    public static final int ROUNDS_TO_SWITCH = 2;
    /** First throttle step. */
    public static final double THROTTLE_INITIAL = 0.2;
    /** Smallest increase of the throttle between steps. */
    public static final double THROTTLE_INCREMENT = 0.1;
    /** Largest throttle. */
    public static final double THROTTLE_MAX = 0.99;

    private final long downtimeTargetMs;
    private final int maxRounds;
    private final long maxTimeMs;
    private int nonConvergingRounds;
    private long previousDirtyPages = Long.MAX_VALUE;

    /**
     * @param downtimeTargetMs largest acceptable downtime, positive.
     * @param maxRounds        iterative rounds before switching or giving up, positive.
     * @param maxTimeMs        elapsed time before switching or giving up, positive.
     */
    public HybridPolicy(final long downtimeTargetMs, final int maxRounds, final long maxTimeMs)
    {
        DowntimeTargetPolicy.requireBounds(downtimeTargetMs, maxRounds, maxTimeMs);
        this.downtimeTargetMs = downtimeTargetMs;
        this.maxRounds = maxRounds;
        this.maxTimeMs = maxTimeMs;
    }

    /** {@inheritDoc} */
    public MigrationDecision onRoundComplete(final RoundFigures f)
    {
        final double predictedMs = f.predictedDowntimeMs();
        final long downtimeTargetMs = f.managedDowntimeTargetMs() > 0 ? f.managedDowntimeTargetMs() :
            this.downtimeTargetMs;
        if (predictedMs <= downtimeTargetMs)
        {
            return MigrationDecision.stopAndCopy(String.format(Locale.ROOT,
                "predicted downtime %.1f ms within target %d ms after round %d", predictedMs, downtimeTargetMs,
                f.round()));
        }

        final double bandwidth = Math.max(1.0, f.bandwidthBytesPerSec());
        final double dirtyBytesPerSec = f.dirtyRatePagesPerSec() * f.wireBytesPerPage();
        final double ratio = dirtyBytesPerSec / bandwidth;
        // The bulk pass has nothing to shrink from: its dirty rate alone decides.
        final boolean shrinking = previousDirtyPages != Long.MAX_VALUE && f.dirtyPages() < previousDirtyPages * 0.8;
        previousDirtyPages = f.dirtyPages();
        nonConvergingRounds = ratio >= NEAR_BANDWIDTH && !shrinking ? nonConvergingRounds + 1 : 0;

        final boolean bound = f.round() >= maxRounds || f.elapsedMs() >= maxTimeMs;
        final boolean stuck = nonConvergingRounds >= ROUNDS_TO_SWITCH;
        final String figures = String.format(Locale.ROOT,
            "round %d: %d pages dirty, guest dirties %.1f MB/s against %.1f MB/s achieved (%.2fx), " +
            "predicted downtime %.1f ms, target %d ms, throttle %.0f%%",
            f.round(), f.dirtyPages(), dirtyBytesPerSec / 1e6, bandwidth / 1e6, ratio, predictedMs, downtimeTargetMs,
            f.throttleFraction() * 100);

        if (!stuck && !bound)
        {
            return MigrationDecision.CONTINUE;
        }
        if (f.postcopyAvailable())
        {
            return MigrationDecision.postcopy((bound ? "round/time bound reached; " : "not converging; ") + figures);
        }
        if (bound)
        {
            return MigrationDecision.abort("not converged within maxRounds=" + maxRounds + " / maxTimeMs=" +
                maxTimeMs + " and post-copy unavailable; " + figures);
        }
        if (f.throttleFraction() >= THROTTLE_MAX)
        {
            return MigrationDecision.CONTINUE;
        }
        final double current = f.throttleFraction();
        final double unthrottledBytesPerSec = dirtyBytesPerSec / Math.max(0.01, 1 - current);
        final double needed = 1 - 0.5 * bandwidth / Math.max(1.0, unthrottledBytesPerSec);
        final double step = Math.min(THROTTLE_MAX, Math.max(Math.max(THROTTLE_INITIAL, current + THROTTLE_INCREMENT),
            needed));
        // Give the new throttle a round to show its effect before judging again.
        nonConvergingRounds = ROUNDS_TO_SWITCH - 1;
        return MigrationDecision.throttle(step, String.format(Locale.ROOT, "auto-converge to %.0f%%; ", step * 100) +
            figures);
    }

    /**
     * @return the downtime target in milliseconds.
     */
    public long downtimeTargetMs()
    {
        return downtimeTargetMs;
    }
}
