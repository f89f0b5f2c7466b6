package io.pagestream.status;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.protocol.ErrorFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.transport.FramePublisher;
import org.agrona.ErrorHandler;

import java.util.concurrent.CompletableFuture;

/**
 * The part of a migration's life both sides share: the phase other threads may read, listener notifications that
 * never let a listener's exception escape, the decided outcome, delivering an ERROR frame to the peer within a
 * deadline, and completing the future.
 * <p>
 * Threading: written by the agent thread only; {@link #phase()} may be read from any thread.
 */
public final class MigrationLifecycle
{
    private final MigrationListener listener;
    private final ErrorHandler errorHandler;
    private final CompletableFuture<MigrationReport> completion;
    private final ErrorFlyweight errorFlyweight = new ErrorFlyweight();
    private volatile MigrationPhase phase = MigrationPhase.SETUP;
    private MigrationReport outcome;
    private ErrorCode pendingErrorCode;
    private String pendingErrorMessage;
    private long errorDeadlineNs;

    /**
     * @param listener     notified of phase changes and the outcome.
     * @param errorHandler receives exceptions thrown by the listener.
     * @param completion   completed with the outcome.
     */
    public MigrationLifecycle(
        final MigrationListener listener,
        final ErrorHandler errorHandler,
        final CompletableFuture<MigrationReport> completion)
    {
        this.listener = listener;
        this.errorHandler = errorHandler;
        this.completion = completion;
    }

    /** @return the current phase. Any thread. */
    public MigrationPhase phase()
    {
        return phase;
    }

    /**
     * Move to a phase, notifying the listener if it changed.
     *
     * @param next phase.
     */
    public void phase(final MigrationPhase next)
    {
        final MigrationPhase previous = phase;
        if (previous != next)
        {
            phase = next;
            try
            {
                listener.onPhaseChange(previous, next);
            }
            catch (final RuntimeException ex)
            {
                errorHandler.onError(ex);
            }
        }
    }

    /**
     * Fix the outcome and enter the matching terminal phase. The future completes later, in {@link #complete()}.
     *
     * @param report the outcome.
     */
    public void decide(final MigrationReport report)
    {
        outcome = report;
        phase(report.result() == MigrationResult.COMPLETED ? MigrationPhase.COMPLETE :
            report.result() == MigrationResult.CANCELLED ? MigrationPhase.CANCELLED : MigrationPhase.FAILED);
    }

    /** @return true once the outcome is fixed. */
    public boolean isDecided()
    {
        return null != outcome;
    }

    /**
     * Queue an ERROR frame for the peer.
     *
     * @param code       the error code.
     * @param message    the reason.
     * @param deadlineNs after which delivery is abandoned.
     */
    public void notifyPeer(final ErrorCode code, final String message, final long deadlineNs)
    {
        pendingErrorCode = code;
        pendingErrorMessage = message;
        errorDeadlineNs = deadlineNs;
    }

    /**
     * Try once to deliver the queued ERROR frame.
     *
     * @param publisher to the peer.
     * @param sessionId migration id.
     * @param nowNs     current time.
     * @return true when there is nothing more to do: sent, none queued, or past the deadline.
     */
    public boolean deliverError(final FramePublisher publisher, final long sessionId, final long nowNs)
    {
        if (null == pendingErrorCode || null == publisher)
        {
            return true;
        }
        errorFlyweight.wrap(publisher.scratch(), 0);
        errorFlyweight.errorCode(pendingErrorCode.value());
        final int length = errorFlyweight.message(pendingErrorMessage);
        errorFlyweight.writeHeader(FrameType.ERROR, length, sessionId);
        if (publisher.offer(length) == FramePublisher.SENT || nowNs > errorDeadlineNs)
        {
            pendingErrorCode = null;
            return true;
        }
        return false;
    }

    /**
     * Notify the listener of the outcome and complete the future. Call once, after {@link #decide}.
     */
    public void complete()
    {
        try
        {
            listener.onComplete(outcome);
        }
        catch (final RuntimeException ex)
        {
            errorHandler.onError(ex);
        }
        completion.complete(outcome);
    }
}
