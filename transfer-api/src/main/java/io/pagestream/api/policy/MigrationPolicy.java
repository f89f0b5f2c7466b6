package io.pagestream.api.policy;

/**
 * Decides, after every round, what the source does next.
 * <p>
 * Threading: called on the source's agent thread, once per round; must not block. A policy instance serves one
 * migration.
 */
@FunctionalInterface
public interface MigrationPolicy
{
    /**
     * @param figures measured up to the end of the round just finished.
     * @return the decision; never null.
     */
    MigrationDecision onRoundComplete(RoundFigures figures);

    /**
     * The default pre-copy policy: stop and copy once the predicted downtime is within the target, give up after a
     * bound on rounds or time.
     *
     * @param downtimeTargetMs largest acceptable downtime.
     * @param maxRounds        iterative rounds before giving up.
     * @param maxTimeMs        elapsed time before giving up.
     * @return a new policy.
     */
    static MigrationPolicy downtimeTarget(final long downtimeTargetMs, final int maxRounds, final long maxTimeMs)
    {
        return new DowntimeTargetPolicy(downtimeTargetMs, maxRounds, maxTimeMs);
    }

    /**
     * The adaptive hybrid, the default: see {@link HybridPolicy}.
     *
     * @param downtimeTargetMs largest acceptable downtime.
     * @param maxRounds        iterative rounds before switching to post-copy or giving up.
     * @param maxTimeMs        elapsed time before switching to post-copy or giving up.
     * @return a new policy.
     */
    static MigrationPolicy hybrid(final long downtimeTargetMs, final int maxRounds, final long maxTimeMs)
    {
        return new HybridPolicy(downtimeTargetMs, maxRounds, maxTimeMs);
    }

    /**
     * Post-copy right after the bulk pass.
     *
     * @return a new policy.
     */
    static MigrationPolicy postcopyAfterBulk()
    {
        return figures -> figures.postcopyAvailable() ?
            MigrationDecision.postcopy("post-copy strategy: switching after the bulk pass with " +
                figures.dirtyPages() + " pages dirty") :
            MigrationDecision.abort("post-copy strategy, but post-copy is not available (the target must enable " +
                "it and the source allow it)");
    }
}
