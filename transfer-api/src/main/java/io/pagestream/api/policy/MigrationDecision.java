package io.pagestream.api.policy;

import java.util.Objects;

/**
 * What a {@link MigrationPolicy} decided after a round. Immutable.
 */
public final class MigrationDecision
{
    /**
     * The possible decisions.
     */
    public enum Action
    {
        /** Run another pre-copy round. */
        CONTINUE,
        /** Pause the vCPUs, send what is left and the device state, complete. */
        STOP_AND_COPY,
        /** Switch over now and move the remaining pages after the target resumes. */
        POSTCOPY,
        /** Run another round with the vCPUs held back by {@link #throttleFraction()}. */
        THROTTLE,
        /** Give up; the guest keeps running on the source. */
        ABORT
    }

    /** Run another pre-copy round. */
    public static final MigrationDecision CONTINUE = new MigrationDecision(Action.CONTINUE, 0.0, "continue");

    /** Stop and copy now. */
    public static final MigrationDecision STOP_AND_COPY =
        new MigrationDecision(Action.STOP_AND_COPY, 0.0, "predicted downtime within target");

    private final Action action;
    private final double throttleFraction;
    private final String reason;

    private MigrationDecision(final Action action, final double throttleFraction, final String reason)
    {
        this.action = action;
        this.throttleFraction = throttleFraction;
        this.reason = reason;
    }

    /**
     * @param reason why, for the report and the listener.
     * @return a decision to stop and copy.
     */
    public static MigrationDecision stopAndCopy(final String reason)
    {
        return new MigrationDecision(Action.STOP_AND_COPY, 0.0, Objects.requireNonNull(reason));
    }

    /**
     * @param reason why the policy gives up, for the report.
     * @return a decision to abort; the migration ends FAILED with {@code NOT_CONVERGED}.
     */
    public static MigrationDecision abort(final String reason)
    {
        return new MigrationDecision(Action.ABORT, 0.0, Objects.requireNonNull(reason));
    }

    /**
     * @param fraction of vCPU time held back, from 0.0 to below 1.0.
     * @param reason   why.
     * @return a decision to throttle and continue.
     */
    public static MigrationDecision throttle(final double fraction, final String reason)
    {
        if (!(fraction >= 0.0 && fraction < 1.0))
        {
            throw new IllegalArgumentException("throttle fraction must be in [0, 1): " + fraction);
        }
        return new MigrationDecision(Action.THROTTLE, fraction, Objects.requireNonNull(reason));
    }

    /**
     * @param reason why.
     * @return a decision to switch to post-copy.
     */
    public static MigrationDecision postcopy(final String reason)
    {
        return new MigrationDecision(Action.POSTCOPY, 0.0, Objects.requireNonNull(reason));
    }

    /**
     * @return what to do.
     */
    public Action action()
    {
        return action;
    }

    /**
     * @return for {@link Action#THROTTLE}, the fraction of vCPU time to hold back; otherwise 0.
     */
    public double throttleFraction()
    {
        return throttleFraction;
    }

    /**
     * @return why, in words.
     */
    public String reason()
    {
        return reason;
    }

    /** {@inheritDoc} */
    public String toString()
    {
        return action + (action == Action.THROTTLE ? "(" + throttleFraction + ")" : "") + ": " + reason;
    }
}
