package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.policy.MigrationDecision;
import io.pagestream.api.policy.MigrationPolicy;
import io.pagestream.pages.PageBitmap;
import org.agrona.ErrorHandler;

import java.util.function.Consumer;

/**
 * Pre-copy: the bulk pass over every page, then rounds over the pages the guest dirtied meanwhile, each ended on
 * every lane and judged by the policy: continue, throttle (auto-converge), stop-and-copy (the guest pauses and one
 * last round sends what is dirty), switch to post-copy, or give up. The session is done after the stop-and-copy
 * round is sent ({@link Outcome#STOP_AND_COPY}) or when the policy chose post-copy ({@link Outcome#POSTCOPY}).
 * <p>
 * Threading: the source conductor's thread.
 */
final class PrecopySession
{
    enum State
    {
        BULK, ITERATE, STOP_AND_COPY, DONE
    }

    enum Outcome
    {
        NONE, STOP_AND_COPY, POSTCOPY
    }

    static final int PAGES_PER_WORK = 64;

    private final DataLanes lanes;
    private final GuestControl guest;
    private final RoundTracker tracker;
    private final MigrationPolicy policy;
    private final MigrationListener listener;
    private final ErrorHandler errorHandler;
    private final Consumer<MigrationPhase> phases;
    private final PageBitmap toSend;
    private final PageBitmap dirty;
    private State state = State.BULK;
    private Outcome outcome = Outcome.NONE;
    private boolean postcopyAvailable;
    private boolean postcopyNegotiated;
    private boolean postcopyPermitted = true;
    private boolean postcopyRequested;
    private boolean switchoverHeld;
    private long migrationId;
    private int round;
    private int roundsEnded;
    private long roundPagesPlanned;
    private MigrationDecision lastDecision;

    PrecopySession(
        final DataLanes lanes,
        final GuestControl guest,
        final RoundTracker tracker,
        final MigrationPolicy policy,
        final MigrationListener listener,
        final ErrorHandler errorHandler,
        final Consumer<MigrationPhase> phases,
        final PageBitmap toSend,
        final PageBitmap dirty)
    {
        this.lanes = lanes;
        this.guest = guest;
        this.tracker = tracker;
        this.policy = policy;
        this.listener = listener;
        this.errorHandler = errorHandler;
        this.phases = phases;
        this.toSend = toSend;
        this.dirty = dirty;
    }

    /**
     * Start tracking dirty pages and begin the bulk pass.
     *
     * @param postcopy true if the target agreed to post-copy.
     * @param nowNs    current time.
     */
    void start(final boolean postcopy, final long nowNs)
    {
        postcopyNegotiated = postcopy;
        postcopyAvailable = postcopy && postcopyPermitted;
        tracker.postcopyAvailable(postcopyAvailable);
        lanes.beforeTracking();
        guest.startTracking();
        lanes.afterTracking();
        toSend.setAll();
        round = 0;
        beginRound(State.BULK, nowNs);
    }

    State state()
    {
        return state;
    }

    boolean isDone()
    {
        return state == State.DONE;
    }

    Outcome outcome()
    {
        return outcome;
    }

    /** @return the round being sent, or the last one sent once done. */
    int round()
    {
        return round;
    }

    /** @return rounds finished, the bulk pass included. */
    int roundsEnded()
    {
        return roundsEnded;
    }

    /** @return the policy's last decision, or null before the first round ended. */
    MigrationDecision lastDecision()
    {
        return lastDecision;
    }

    /** @return pages of the current round not yet sent. */
    long pagesRemaining()
    {
        return Math.max(0, roundPagesPlanned - lanes.roundPages());
    }

    /** @return pages dirtied and not yet sent once done (the post-copy pending set). */
    PageBitmap dirty()
    {
        return dirty;
    }

    /**
     * A manager's settings, applied on the agent thread.
     *
     * @param permitted whether post-copy may be chosen (if negotiated).
     * @param requested switch to post-copy at the end of this round.
     * @param held      hold at the end of this round: no dirty-log harvest, no decision, until released.
     */
    void manage(final boolean permitted, final boolean requested, final boolean held)
    {
        postcopyPermitted = permitted;
        postcopyAvailable = postcopyNegotiated && permitted;
        tracker.postcopyAvailable(postcopyAvailable);
        postcopyRequested = requested;
        switchoverHeld = held;
    }

    /** The target was replaced by a promoted follower, which has no urgent lane here: no post-copy from now on. */
    void forbidPostcopy()
    {
        postcopyNegotiated = false;
        postcopyAvailable = false;
        tracker.postcopyAvailable(false);
    }

    /** @param id the migration's id, for the JFR events. */
    void migrationId(final long id)
    {
        migrationId = id;
    }

    /** @return true if post-copy was negotiated with the target (whatever a manager permits now). */
    boolean postcopyNegotiated()
    {
        return postcopyNegotiated;
    }

    /** @return true while a round has been sent and a manager's hold keeps it from ending. */
    boolean isHeld()
    {
        return switchoverHeld && state != State.DONE && state != State.STOP_AND_COPY && lanes.isRoundSent();
    }

    int doWork(final long nowNs)
    {
        if (state == State.DONE)
        {
            return 0;
        }
        int work = lanes.doWork(nowNs, PAGES_PER_WORK);
        // A held round is left open: the guest runs, its writes gather in the dirty log, nothing is decided.
        if (lanes.isRoundSent() && !(switchoverHeld && state != State.STOP_AND_COPY))
        {
            work += endRound(nowNs);
        }
        return work;
    }

    private int endRound(final long nowNs)
    {
        roundsEnded++;
        if (state == State.STOP_AND_COPY)
        {
            tracker.endRound(nowNs, 0, 0);
            outcome = Outcome.STOP_AND_COPY;
            state = State.DONE;
            return 1;
        }
        final long newlyDirty = guest.fetchDirty(dirty);
        tracker.fetchCostNs(guest.lastFetchNs());
        final long dirtyNow = dirty.cardinality();
        tracker.endRound(nowNs, newlyDirty < 0 ? dirtyNow : newlyDirty, dirtyNow);

        final MigrationDecision decision;
        if (postcopyRequested && postcopyAvailable)
        {
            postcopyRequested = false;
            decision = MigrationDecision.postcopy("post-copy started by a manager after round " + round);
        }
        else
        {
            decision = policy.onRoundComplete(tracker);
        }
        lastDecision = decision;
        recordRound(decision);
        try
        {
            listener.onRoundComplete(tracker, decision);
        }
        catch (final RuntimeException ex)
        {
            errorHandler.onError(ex);
        }
        switch (decision.action())
        {
            case CONTINUE:
                nextRound(State.ITERATE, nowNs);
                break;

            case THROTTLE:
                guest.throttle(decision.throttleFraction());
                tracker.throttleFraction(decision.throttleFraction());
                nextRound(State.ITERATE, nowNs);
                break;

            case STOP_AND_COPY:
                guest.pause();
                guest.fetchDirty(dirty);
                nextRound(State.STOP_AND_COPY, nowNs);
                break;

            case POSTCOPY:
                if (!postcopyAvailable)
                {
                    throw new MigrationException(ErrorCode.MISSING_CAPABILITY, "the policy chose post-copy, but it " +
                        "is not available (the source or the target did not enable it): " + decision.reason());
                }
                outcome = Outcome.POSTCOPY;
                state = State.DONE;
                break;

            case ABORT:
            default:
                throw new MigrationException(ErrorCode.NOT_CONVERGED, decision.reason());
        }
        return 1;
    }

    private void recordRound(final MigrationDecision decision)
    {
        if (!io.pagestream.status.Events.recorded(migrationId))
        {
            return;
        }
        final io.pagestream.status.Events.Round roundEvent = new io.pagestream.status.Events.Round();
        if (roundEvent.isEnabled())
        {
            roundEvent.migrationId = migrationId;
            roundEvent.round = tracker.round();
            roundEvent.pagesSent = tracker.pagesSentInRound();
            roundEvent.bytesSent = tracker.bytesSentInRound();
            roundEvent.dirtyPages = tracker.dirtyPages();
            roundEvent.dirtyRatePagesPerSec = tracker.dirtyRatePagesPerSec();
            roundEvent.bandwidthBytesPerSec = tracker.bandwidthBytesPerSec();
            roundEvent.predictedDowntimeMs = (long)tracker.predictedDowntimeMs();
            roundEvent.durationMs = tracker.roundDurationMs();
            roundEvent.commit();
        }
        final io.pagestream.status.Events.PolicyDecision decisionEvent =
            new io.pagestream.status.Events.PolicyDecision();
        if (decisionEvent.isEnabled())
        {
            decisionEvent.migrationId = migrationId;
            decisionEvent.round = tracker.round();
            decisionEvent.action = decision.action().name();
            decisionEvent.throttle = decision.throttleFraction();
            decisionEvent.reason = decision.reason();
            decisionEvent.commit();
        }
    }

    private void nextRound(final State next, final long nowNs)
    {
        toSend.swap(dirty);
        round++;
        beginRound(next, nowNs);
    }

    private void beginRound(final State next, final long nowNs)
    {
        lanes.onRoundBoundary(nowNs);
        roundPagesPlanned = toSend.cardinality();
        tracker.beginRound(round, nowNs);
        lanes.beginRound(toSend, round);
        state = next;
        phases.accept(next == State.BULK ? MigrationPhase.BULK :
            next == State.ITERATE ? MigrationPhase.ITERATE : MigrationPhase.STOP_AND_COPY);
    }
}
