package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationResult;
import io.pagestream.status.MigrationLifecycle;
import io.pagestream.api.MigrationProgress;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.policy.MigrationDecision;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.concurrent.TimeUnit;

/**
 * The source's figures in the three places they are read: the Aeron counters (other processes; refreshed every
 * millisecond from the lanes' own tallies, and at the end), the progress snapshot (other threads; refreshed every
 * {@value #PROGRESS_MS} ms) and the report (at the end). One writer, the conductor; {@link #progress} from any thread.
 */
final class SourceFigures
{
    private Throwable cause;
    private SourceControl control;
    private static final long PROGRESS_MS = 50;
    private static final long RATE_WINDOW_NS = TimeUnit.MILLISECONDS.toNanos(250);
    private static final long COUNTERS_NS = TimeUnit.MILLISECONDS.toNanos(1);

    private final MigrationSource.Context ctx;
    private final MigrationCounters counters;
    private final DataLanes lanes;
    private final UrgentLane urgent;
    private final LaneStats controlStats;
    private final RoundTracker tracker;
    private final LaneStats total = new LaneStats();
    private long startNs;
    private final AtomicCounter pagesSent;
    private final AtomicCounter bytesSent;
    private final AtomicCounter zeroPages;
    private final AtomicCounter rawPages;
    private final AtomicCounter deltaPages;
    private final AtomicCounter lz4Pages;
    private final AtomicCounter bytesSaved;
    private final AtomicCounter urgentPages;
    private final AtomicCounter postcopyPages;
    private final AtomicCounter requests;
    private final AtomicCounter rounds;
    private final AtomicCounter rateLimited;
    private final AtomicCounter recoveriesCounter;
    private final AtomicCounter remaining;
    private final AtomicCounter bandwidthCap;
    private final AtomicCounter stateCounter;
    private long lastProgressNs;
    private long lastCountersNs = Long.MIN_VALUE / 2;
    private long rateWindowStartNs;
    private long rateWindowStartBytes;
    private long faultCount;
    private long faultP50Us;
    private long faultP99Us;
    private long faultMaxUs;
    private long downtimeNs;
    private long postcopyStartNs;
    private boolean targetRunning;
    private GuestControl guest;
    private PrecopySession precopy;
    private SwitchoverSession switchover;
    private RecoverySession recovery;
    private PostcopySession postcopy;

    private volatile int progressRound;
    private volatile long progressPagesRemaining;
    private volatile double progressRate;
    private volatile double progressExpectedDowntimeMs;
    private volatile double progressDirtyRate;
    private volatile double progressThrottle;
    private volatile String progressDecision = "";

    SourceFigures(
        final MigrationSource.Context ctx,
        final MigrationCounters counters,
        final DataLanes lanes,
        final UrgentLane urgent,
        final LaneStats controlStats,
        final RoundTracker tracker)
    {
        this.ctx = ctx;
        this.counters = counters;
        this.lanes = lanes;
        this.urgent = urgent;
        this.controlStats = controlStats;
        this.tracker = tracker;
        pagesSent = counters.get(CounterType.PAGES_SENT);
        bytesSent = counters.get(CounterType.BYTES_SENT);
        zeroPages = counters.get(CounterType.ZERO_PAGES_SENT);
        rawPages = counters.get(CounterType.RAW_PAGES_SENT);
        deltaPages = counters.get(CounterType.DELTA_PAGES_SENT);
        lz4Pages = counters.get(CounterType.LZ4_PAGES_SENT);
        bytesSaved = counters.get(CounterType.BYTES_SAVED);
        urgentPages = counters.get(CounterType.URGENT_PAGES_SENT);
        postcopyPages = counters.get(CounterType.POSTCOPY_PAGES_SENT);
        requests = counters.get(CounterType.PAGE_REQUESTS_RECEIVED);
        rounds = counters.get(CounterType.ROUNDS);
        rateLimited = counters.get(CounterType.RATE_LIMITED);
        recoveriesCounter = counters.get(CounterType.RECOVERIES);
        stateCounter = counters.get(CounterType.SOURCE_STATE);
        remaining = counters.get(CounterType.PAGES_REMAINING);
        bandwidthCap = counters.get(CounterType.BANDWIDTH_CAP);
    }

    /**
     * @param guestControl the hypervisor calls (throttle, pause).
     * @param precopySession   rounds and decisions.
     * @param switchoverSession the hand-over.
     * @param recoverySession  recoveries.
     */
    void sessions(final GuestControl guestControl, final PrecopySession precopySession,
        final SwitchoverSession switchoverSession, final RecoverySession recoverySession)
    {
        guest = guestControl;
        precopy = precopySession;
        switchover = switchoverSession;
        recovery = recoverySession;
    }

    /** @param t the exception behind the failure being reported, kept as the report's cause. */
    void cause(final Throwable t)
    {
        if (null == cause)
        {
            cause = t;
        }
    }

    /** @param sourceControl the management plane, for the settings in force. */
    void control(final SourceControl sourceControl)
    {
        control = sourceControl;
    }

    /** @param session the post-copy session. */
    void postcopy(final PostcopySession session)
    {
        postcopy = session;
    }

    void postcopyStarted(final long nowNs)
    {
        postcopyStartNs = nowNs;
    }

    /**
     * The target runs the guest (post-copy): the downtime ends here, once.
     *
     * @param nowNs   current time.
     * @param pauseNs when the guest paused here.
     */
    void targetRunning(final long nowNs, final long pauseNs)
    {
        if (!targetRunning)
        {
            targetRunning = true;
            downtimeNs = nowNs - pauseNs;
            recordSwitchover(true, "guest running on the target (post-copy)");
        }
    }

    boolean isTargetRunning()
    {
        return targetRunning;
    }

    /**
     * The guest runs again, here (a revert) or on the target (COMMIT).
     *
     * @param nowNs   current time.
     * @param pauseNs when the guest paused here.
     */
    void downtimeEnded(final long nowNs, final long pauseNs, final String outcome)
    {
        downtimeNs = nowNs - pauseNs;
        recordSwitchover(false, outcome);
    }

    private void recordSwitchover(final boolean postcopy, final String outcome)
    {
        final io.pagestream.status.Events.Switchover event = new io.pagestream.status.Events.Switchover();
        if (event.isEnabled() && io.pagestream.status.Events.recorded(ctx.migrationId()))
        {
            event.migrationId = ctx.migrationId();
            event.postcopy = postcopy;
            event.round = null == precopy ? -1 : precopy.round();
            event.outcome = outcome;
            event.downtimeMs = TimeUnit.NANOSECONDS.toMillis(downtimeNs);
            event.commit();
        }
    }

    /** @param nowNs when the migration clock starts: elapsed time, rates and the report count from here. */
    void start(final long nowNs)
    {
        startNs = nowNs;
        rateWindowStartNs = nowNs;
        lastProgressNs = nowNs;
    }

    void state(final SourceState state)
    {
        stateCounter.setOrdered(state.code());
    }

    void recoveries(final int recoveries)
    {
        recoveriesCounter.setOrdered(recoveries);
    }

    void faults(final long count, final long p50Us, final long p99Us, final long maxUs)
    {
        faultCount = count;
        faultP50Us = p50Us;
        faultP99Us = p99Us;
        faultMaxUs = maxUs;
    }

    /**
     * Refresh the counters, and the progress snapshot when due.
     *
     * @param state          the conductor's state.
     * @param nowNs          current time.
     * @param pagesRemaining pages of the current round (or the post-copy push) not yet sent.
     * @param throttle       the vCPU throttle now.
     * @param decision       the policy's last decision, or null.
     * @param roundsEnded    rounds finished, the bulk pass included.
     */
    void update(final SourceState state, final long nowNs, final long pagesRemaining, final double throttle,
        final MigrationDecision decision, final int roundsEnded)
    {
        if (nowNs - lastCountersNs >= COUNTERS_NS || state == SourceState.DONE || state == SourceState.FAILING)
        {
            // Other processes read these: a millisecond old is fresh enough, and the duty cycle stays lean.
            lastCountersNs = nowNs;
            final LaneStats sum = sum();
            pagesSent.setOrdered(sum.pages);
            bytesSent.setOrdered(sum.bytes);
            zeroPages.setOrdered(sum.zeroPages);
            rawPages.setOrdered(sum.rawPages);
            deltaPages.setOrdered(sum.deltaPages);
            lz4Pages.setOrdered(sum.lz4Pages);
            bytesSaved.setOrdered(sum.bytesSaved);
            urgentPages.setOrdered(sum.urgentPages);
            postcopyPages.setOrdered(sum.postcopyPages);
            requests.setOrdered(urgent.requests());
            rateLimited.setOrdered(lanes.rateLimitedWaits());
            rounds.setOrdered(roundsEnded);
            remaining.setOrdered(pagesRemaining);
            bandwidthCap.setOrdered(
                null == control ? ctx.maxBandwidthBytesPerSec() : control.inForce().maxBandwidthBytesPerSec());
        }
        if (nowNs - lastProgressNs < TimeUnit.MILLISECONDS.toNanos(PROGRESS_MS) && state != SourceState.DONE)
        {
            return;
        }
        lastProgressNs = nowNs;
        if (lanes.hasCache())
        {
            counters.get(CounterType.PAGE_CACHE_HITS).setOrdered(lanes.cacheHits());
            counters.get(CounterType.PAGE_CACHE_MISSES).setOrdered(lanes.cacheMisses());
        }
        progressRound = tracker.round();
        progressPagesRemaining = pagesRemaining;
        progressExpectedDowntimeMs = tracker.predictedDowntimeMs();
        progressDirtyRate = tracker.dirtyRatePagesPerSec();
        progressThrottle = throttle;
        progressDecision = null == decision ? "" : decision.toString();
        final long windowNs = nowNs - rateWindowStartNs;
        if (windowNs >= RATE_WINDOW_NS)
        {
            final long bytes = bytesOnWire();
            progressRate = (bytes - rateWindowStartBytes) * 1e9 / windowNs;
            rateWindowStartBytes = bytes;
            rateWindowStartNs = nowNs;
        }
    }

    /**
     * @param phase the public phase.
     * @param nowNs current time.
     * @return a snapshot. Any thread.
     */
    MigrationProgress progress(final MigrationPhase phase, final long nowNs)
    {
        return new MigrationProgress(
            phase,
            progressRound,
            progressPagesRemaining,
            pagesSent.get(),
            bytesSent.get(),
            progressRate,
            progressExpectedDowntimeMs,
            progressDirtyRate,
            TimeUnit.NANOSECONDS.toMillis(nowNs - startNs),
            progressThrottle,
            progressDecision,
            null == control ? null : control.inForce());
    }

    /**
     * @param nowNs     current time.
     * @param result    the outcome.
     * @param reason    in words.
     * @param code      the error code, or null.
     * @param committed true if the guest was handed over in post-copy.
     * @return the report.
     */
    MigrationReport report(final long nowNs, final MigrationResult result, final String reason, final ErrorCode code,
        final boolean committed)
    {
        final LaneStats sum = sum();
        final int switchRound = committed ? switchover.finalRound() : guest.isPaused() ? precopy.round() - 1 : -1;
        return new MigrationReport.Builder()
            .role("source")
            .migrationId(ctx.migrationId())
            .cause(result == MigrationResult.COMPLETED ? null : cause)
            .result(result)
            .reason(reason)
            .errorCode(code)
            .mode(MigrationLifecycle.mode(committed, switchRound))
            .downtimeMs(TimeUnit.NANOSECONDS.toMillis(downtimeNs))
            .rounds(committed ? postcopy.round() : precopy.round())
            .deviceStateBytes(switchover.deviceStateBytes())
            .deviceSaveUs(TimeUnit.NANOSECONDS.toMicros(guest.deviceSaveNs()))
            .switchRound(switchRound)
            .postcopyMs(committed ? TimeUnit.NANOSECONDS.toMillis(nowNs - postcopyStartNs) : 0)
            .maxThrottle(guest.maxThrottle())
            .recoveries(recovery.recoveries())
            .lastDecision(null == precopy.lastDecision() ? "" : precopy.lastDecision().toString())
            .guestBytes(ctx.guestMemory().sizeBytes())
            .pageSize(ctx.guestMemory().pageSize())
            .totalTimeMs(TimeUnit.NANOSECONDS.toMillis(nowNs - startNs))
            .downtimeTargetMs(null == control ? ctx.downtimeTargetMs() : control.inForce().downtimeTargetMs())
            .adjustments(null == control ? 0 : control.inForce().adjustments())
            .settings(null == control ? "" : control.inForce().toString())
            .pagesSent(sum.pages)
            .bytesOnWire(bytesOnWire())
            .pagesByEncoding(sum.zeroPages, sum.deltaPages, sum.lz4Pages, sum.rawPages)
            .bytesSaved(sum.bytesSaved)
            .backPressureEvents(counters.value(CounterType.BACK_PRESSURE))
            .postcopyPages(sum.postcopyPages)
            .urgentPages(sum.urgentPages)
            .faults(faultCount, faultP50Us, faultP99Us, faultMaxUs)
            .lanes(lanes.count())
            .laneThreads(lanes.laneThreads())
            .unreadZeroPages(sum.unreadZeroPages)
            .memoryPaths(lanes.kernel().stats().describeUsed())
            .dirtyLog(ctx.dirtyPageLog().name())
            .build();
    }

    private long bytesOnWire()
    {
        return lanes.streams().bytesOnWire() + urgent.bytesOnWire();
    }

    private LaneStats sum()
    {
        total.clear();
        total.add(lanes.stats());
        total.add(urgent.stats());
        total.add(controlStats);
        return total;
    }
}
