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
}
