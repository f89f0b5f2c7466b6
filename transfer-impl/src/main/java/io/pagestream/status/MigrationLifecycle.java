package io.pagestream.status;

import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import org.agrona.ErrorHandler;

import java.util.concurrent.CompletableFuture;

/**
 * The part of a migration's life both sides share: the public phase other threads may read, listener notifications
 * that never let a listener's exception escape, the decided outcome, completing the future, and the one rule both
 * reports use for the migration's {@link MigrationMode}. It puts nothing on the wire.
 * <p>
 * Threading: written by the conductor's thread only; {@link #phase()} may be read from any thread.
 */
public final class MigrationLifecycle
{
    private final MigrationListener listener;
    private final ErrorHandler errorHandler;
    private java.nio.file.Path reportFile;
    private final CompletableFuture<MigrationReport> completion;
    private volatile MigrationPhase phase = MigrationPhase.SETUP;
    private MigrationReport outcome;

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

    /**
     * The mode both sides report: pre-copy unless the guest was handed over in post-copy; post-copy if that happened
     * right after the bulk pass (round 0), hybrid if after later rounds.
     *
     * @param postcopyStarted true once a post-copy switchover took effect.
     * @param switchRound     the last pre-copy round sent before the switch.
     * @return the mode.
     */
    public static MigrationMode mode(final boolean postcopyStarted, final int switchRound)
    {
        if (!postcopyStarted)
        {
            return MigrationMode.PRECOPY;
        }
        return switchRound <= 0 ? MigrationMode.POSTCOPY : MigrationMode.HYBRID;
    }

    /**
     * @param file where to write the report as JSON before anyone hears the outcome, or null.
     * @return this.
     */
    public MigrationLifecycle reportFile(final java.nio.file.Path file)
    {
        reportFile = file;
        return this;
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

    /** @return the decided outcome, or null. */
    public MigrationReport outcome()
    {
        return outcome;
    }

    /**
     * Notify the listener of the outcome and complete the future. Call once, after {@link #decide}.
     */
    public void complete()
    {
        if (null != outcome)
        {
            final Events.MigrationEnd event = new Events.MigrationEnd();
            if (event.isEnabled() && Events.recorded(outcome.migrationId()))
            {
                event.role = outcome.role();
                event.migrationId = outcome.migrationId();
                event.result = outcome.result().name();
                event.errorCode = null == outcome.errorCode() ? "" : outcome.errorCode().name();
                event.mode = outcome.mode().name();
                event.totalTimeMs = outcome.totalTimeMs();
                event.downtimeMs = outcome.downtimeMs();
                event.pagesSent = outcome.pagesSent();
                event.bytesOnWire = outcome.bytesOnWire();
                event.reason = outcome.reason();
                event.commit();
            }
        }
        if (null != reportFile && null != outcome)
        {
            try
            {
                final java.nio.file.Path partial = reportFile.resolveSibling(reportFile.getFileName() + ".partial");
                java.nio.file.Files.writeString(partial, outcome.toJson(), java.nio.charset.StandardCharsets.UTF_8);
                java.nio.file.Files.move(partial, reportFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
            catch (final java.io.IOException | RuntimeException ex)
            {
                errorHandler.onError(ex);
            }
        }
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
