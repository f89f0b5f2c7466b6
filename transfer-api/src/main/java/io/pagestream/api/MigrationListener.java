package io.pagestream.api;

import io.pagestream.api.policy.MigrationDecision;
import io.pagestream.api.policy.RoundFigures;

/**
 * Notified of a migration's milestones. Every method has an empty default.
 * <p>
 * Threading: called on PageStream's agent thread; must return quickly and must not call back into the source or
 * target except {@code progress()} and {@code cancel()}.
 */
public interface MigrationListener
{
    /**
     * @param previous the phase left.
     * @param next     the phase entered.
     */
    default void onPhaseChange(final MigrationPhase previous, final MigrationPhase next)
    {
    }

    /**
     * Source only: a round finished and the policy decided.
     *
     * @param figures  what was measured; valid only during the call.
     * @param decision what the policy decided.
     */
    default void onRoundComplete(final RoundFigures figures, final MigrationDecision decision)
    {
    }

    /**
     * The migration ended; the same report completes the completion future right after.
     *
     * @param report the final report.
     */
    default void onComplete(final MigrationReport report)
    {
    }

    /**
     * A manager's change took effect (or was refused; the text says which). Called on the source's agent thread.
     *
     * @param settings the settings now in force.
     * @param change   what changed, e.g. {@code maxBandwidth 100000000 B/s}.
     */
    default void onSettingsChanged(final MigrationSettings settings, final String change)
    {
    }
}
