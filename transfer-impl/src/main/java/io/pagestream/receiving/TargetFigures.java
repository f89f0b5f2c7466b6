package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationProgress;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationTarget;
import io.pagestream.api.PageEncoding;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.status.MigrationLifecycle;
import org.HdrHistogram.Histogram;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.concurrent.TimeUnit;

/**
 * The target's figures: the state counter, the fault latencies captured once for COMPLETE and the report, the
 * progress snapshot and the report. One writer, the conductor; {@link #progress} from any thread.
 */
final class TargetFigures
{
    private final MigrationTarget.Context ctx;
    private final MigrationCounters counters;
    private final GuestImage image;
    private final SwitchoverReceiver switchover;
    private final AtomicCounter stateCounter;
    private final AtomicCounter recoveriesCounter;
    private final long startNs;
    private long postcopyStartNs;
    private long postcopyEndNs;
    private int recoveries;
    private int lanes = 1;
    private boolean faultsCaptured;
    private long faultCount;
    private long faultP50Us;
    private long faultP99Us;
    private long faultMaxUs;

    private java.util.function.LongSupplier migrationId = () -> 0;
    private Throwable cause;

    /** @param id where the migration's id comes from once a source said hello. */
    void migrationId(final java.util.function.LongSupplier id)
    {
        migrationId = id;
    }

    /** @param t the exception behind the failure being reported, kept as the report's cause. */
    void cause(final Throwable t)
    {
        if (null == cause)
        {
            cause = t;
        }
    }

    TargetFigures(
        final MigrationTarget.Context ctx,
        final MigrationCounters counters,
        final GuestImage image,
        final SwitchoverReceiver switchover,
        final long startNs)
    {
        this.ctx = ctx;
        this.counters = counters;
        this.image = image;
        this.switchover = switchover;
        this.stateCounter = counters.get(CounterType.TARGET_STATE);
        this.recoveriesCounter = counters.get(CounterType.RECOVERIES);
        this.startNs = startNs;
    }

    void state(final TargetState state)
    {
        stateCounter.setOrdered(state.code());
    }

    void lanes(final int laneCount)
    {
        lanes = laneCount;
    }

    void recoveries(final int count)
    {
        recoveries = count;
        recoveriesCounter.setOrdered(count);
    }

    void postcopyStarted(final long nowNs)
    {
        postcopyStartNs = nowNs;
    }

    void postcopyEnded(final long nowNs)
    {
        postcopyEndNs = nowNs;
    }

    /**
     * Take the fault service times once, when the guest ran here: for COMPLETE and the report.
     *
     * @param faults the fault path.
     */
    void captureFaults(final FaultService faults)
    {
        if (switchover.isPostcopy() && !faultsCaptured)
        {
            faultsCaptured = true;
            final Histogram h = faults.histogram();
            faultCount = h.getTotalCount();
            faultP50Us = h.getValueAtPercentile(50) / 1000;
            faultP99Us = h.getValueAtPercentile(99) / 1000;
            faultMaxUs = h.getMaxValue() / 1000;
        }
    }

    long faultCount()
    {
        return faultCount;
    }

    long faultP50Us()
    {
        return faultP50Us;
    }

    long faultP99Us()
    {
        return faultP99Us;
    }

    long faultMaxUs()
    {
        return faultMaxUs;
    }

    /**
     * @param phase the public phase.
     * @param nowNs current time.
     * @return a snapshot. Any thread.
     */
    MigrationProgress progress(final MigrationPhase phase, final long nowNs)
    {
        final long pages = image.pagesReceived();
        return new MigrationProgress(phase, image.round(), phase == MigrationPhase.POSTCOPY ?
            image.postcopyRemaining() : ctx.guestMemory().pageCount() - pages, pages,
            counters.value(CounterType.BYTES_RECEIVED), 0, 0, 0, TimeUnit.NANOSECONDS.toMillis(nowNs - startNs));
    }

    /**
     * @param nowNs  current time.
     * @param result the outcome.
     * @param reason in words.
     * @param code   the error code, or null.
     * @return the report.
     */
    MigrationReport report(final long nowNs, final MigrationResult result, final String reason, final ErrorCode code)
    {
        final boolean postcopy = switchover.isPostcopy();
        final int round = image.round();
        final int switchRound = postcopy || result == MigrationResult.COMPLETED ? switchover.switchRound() : -1;
        final long zero = image.zeroPages();
        final long delta = image.pages(PageEncoding.DELTA);
        final long lz4 = image.pages(PageEncoding.LZ4);
        final long raw = image.pages(PageEncoding.RAW);
        return new MigrationReport.Builder()
            .role("target")
            .migrationId(migrationId.getAsLong())
            .cause(result == MigrationResult.COMPLETED ? null : cause)
            .result(result)
            .reason(reason)
            .errorCode(code)
            .mode(MigrationLifecycle.mode(postcopy, switchRound))
            .guestBytes(ctx.guestMemory().sizeBytes())
            .pageSize(ctx.guestMemory().pageSize())
            .totalTimeMs(TimeUnit.NANOSECONDS.toMillis(nowNs - startNs))
            .rounds(Math.max(0, round - 1))
            .switchRound(switchRound)
            .postcopyMs(postcopy ? TimeUnit.NANOSECONDS.toMillis((postcopyEndNs > 0 ? postcopyEndNs : nowNs) -
                postcopyStartNs) : 0)
            .faults(faultCount, faultP50Us, faultP99Us, faultMaxUs)
            .recoveries(recoveries)
            .pagesSent(zero + delta + lz4 + raw)
            .bytesOnWire(counters.value(CounterType.BYTES_RECEIVED))
            .pagesByEncoding(zero, delta, lz4, raw)
            .deviceStateBytes(switchover.deviceStateBytes())
            .deviceRestoreUs(TimeUnit.NANOSECONDS.toMicros(switchover.deviceRestoreNs()))
            .staleDiscardUs(TimeUnit.NANOSECONDS.toMicros(switchover.staleDiscardNs()))
            .lanes(lanes)
            .pagesCommittedAhead(image.committer().pagesCommitted())
            .memoryPaths(image.committer().kernel().stats().describeUsed())
            .faultPath(null != image.installer() ? image.installer().name() : ctx.postcopyEnabled() ? "software" : "")
            .build();
    }
}
