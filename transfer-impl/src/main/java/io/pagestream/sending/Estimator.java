package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationEstimate;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.guest.DirtyPageLog;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.policy.MigrationDecision;
import io.pagestream.api.policy.MigrationPolicy;
import io.pagestream.api.policy.RoundFigures;
import io.pagestream.protocol.PageFlyweight;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Predicts a migration before it starts. It counts the guest's populated pages (the bulk pass's pages), samples the
 * dirty log over a short window at four points (an eighth, a quarter, half and all of it) to learn how many
 * distinct pages the guest writes in a given time (a working set grows more slowly than its write rate), then
 * plays the rounds over the link's rate: each round sends what the last one left dirty, and the migration's own
 * built-in policy for its strategy judges each, exactly as it would live, until it stops-and-copies, switches to
 * post-copy or gives up. Raw pages are assumed (compression can only make it faster).
 * <p>
 * Threading: the caller's; it blocks for the sampling window. The dirty log is started and stopped here, so no
 * migration of the guest may run meanwhile.
 */
public final class Estimator
{
    /** Fixed cost of a switchover beyond its pages: the device state's frames, the acknowledgement, COMMIT. */
    static final double SWITCHOVER_FIXED_MS = 10;
    /** Fixed cost of a round's end: the dirty-log fetch, the round barrier. */
    static final double ROUND_FIXED_MS = 2;
    /** Handshake and the first frames. */
    static final double START_FIXED_MS = 5;
    private static final int MAX_ROUNDS_PLAYED = 10_000;

    private Estimator()
    {
    }

    /**
     * @param ctx             the source's context as it would launch (not concluded): guest, dirty log, strategy,
     *                        downtime target, bounds, post-copy.
     * @param linkBytesPerSec the link's rate; 0 to use the context's cap.
     * @param sampleMs        how long to sample the dirty rate.
     * @param targetPostcopy  whether the target would run post-copy.
     * @return the estimate.
     */
    public static MigrationEstimate estimate(
        final MigrationSource.Context ctx, final long linkBytesPerSec, final long sampleMs, final boolean targetPostcopy)
    {
        final GuestMemory memory = ctx.guestMemory();
        final DirtyPageLog log = ctx.dirtyPageLog();
        if (null == memory || null == log)
        {
            throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, "estimate: guestMemory and dirtyPageLog " +
                "must be set");
        }
        final long link = linkBytesPerSec > 0 ? linkBytesPerSec : ctx.maxBandwidthBytesPerSec();
        if (link <= 0)
        {
            throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, "estimate: the link's rate is not known: " +
                "give it (linkBytesPerSec, e.g. from an earlier migration's bytesOnWire / totalTimeMs) or cap the " +
                "migration (maxBandwidthBytesPerSec)");
        }
        if (sampleMs < 40 || sampleMs > 60_000)
        {
            throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, "estimate: sampleMs=" + sampleMs +
                ": must be from 40 to 60000");
        }
        final long dataPages = io.pagestream.kernel.ProcessMemory.populatedPages(memory);
        final double[] sampleSec = new double[4];
        final long[] distinct = new long[4];
        sample(log, memory.pageCount(), sampleMs, sampleSec, distinct);
        final WorkingSet workingSet = new WorkingSet(sampleSec, distinct, memory.pageCount());
        final long postcopyCap = ctx.postcopyBandwidthBytesPerSec() > 0 ? ctx.postcopyBandwidthBytesPerSec() : link;
        return play(ctx, memory, link, postcopyCap, dataPages, workingSet, targetPostcopy && ctx.postcopyAllowed(),
            sampleMs);
    }

    private static void sample(final DirtyPageLog log, final long pageCount, final long sampleMs,
        final double[] sampleSec, final long[] distinct)
    {
        final int words = (int)((pageCount + 63) >>> 6);
        final long[] fetched = new long[words];
        final long[] union = new long[words];
        final double[] fractions = {0.125, 0.25, 0.5, 1.0};
        log.startTracking();
        try
        {
            final long startNs = System.nanoTime();
            for (int i = 0; i < fractions.length; i++)
            {
                final long dueNs = startNs + (long)(TimeUnit.MILLISECONDS.toNanos(sampleMs) * fractions[i]);
                long now;
                while ((now = System.nanoTime()) < dueNs)
                {
                    LockSupport.parkNanos(dueNs - now);
                }
                java.util.Arrays.fill(fetched, 0L);
                log.fetchAndClear(fetched);
                long count = 0;
                for (int w = 0; w < words; w++)
                {
                    union[w] |= fetched[w];
                    count += Long.bitCount(union[w]);
                }
                sampleSec[i] = (System.nanoTime() - startNs) / 1e9;
                distinct[i] = count;
            }
        }
        finally
        {
            log.stopTracking();
        }
    }

    private static MigrationEstimate play(
        final MigrationSource.Context ctx,
        final GuestMemory memory,
        final long link,
        final long postcopyCap,
        final long dataPages,
        final WorkingSet workingSet,
        final boolean postcopyAvailable,
        final long sampleMs)
    {
        final MigrationPolicy policy;
        switch (ctx.strategy())
        {
            case PRECOPY:
                policy = MigrationPolicy.downtimeTarget(ctx.downtimeTargetMs(), ctx.maxRounds(), ctx.maxTimeMs());
                break;
            case POSTCOPY:
                policy = MigrationPolicy.postcopyAfterBulk();
                break;
            default:
                policy = MigrationPolicy.hybrid(ctx.downtimeTargetMs(), ctx.maxRounds(), ctx.maxTimeMs());
                break;
        }
        final int pageSize = memory.pageSize();
        final int chunk = Math.min(pageSize, ctx.mtuLength() - PageFlyweight.PAYLOAD_OFFSET - 64);
        final double wire = pageSize + PageFlyweight.PAYLOAD_OFFSET * Math.ceil((double)pageSize / Math.max(1, chunk));
        final double deviceMs = ctx.deviceState() == null ? 0 :
            Math.max(0, ctx.deviceState().sizeHintBytes()) * 1000.0 / link;
        final Figures f = new Figures(link, wire, deviceMs, postcopyAvailable);

        double elapsedMs = START_FIXED_MS;
        double bytes = 0;
        long pages = dataPages;
        double throttle = 0;
        double maxThrottle = 0;
        for (int round = 0; round < MAX_ROUNDS_PLAYED; round++)
        {
            final double roundMs = pages * wire * 1000.0 / link + ROUND_FIXED_MS;
            elapsedMs += roundMs;
            bytes += pages * wire;
            final long dirty = workingSet.distinctIn(roundMs / 1000.0 * (1 - throttle));
            f.round(round, dirty, pages, roundMs, elapsedMs, throttle);
            final MigrationDecision decision = policy.onRoundComplete(f);
            switch (decision.action())
            {
                case THROTTLE:
                    throttle = decision.throttleFraction();
                    maxThrottle = Math.max(maxThrottle, throttle);
                    pages = dirty;
                    break;
                case STOP_AND_COPY:
                {
                    final double downtimeMs = dirty * wire * 1000.0 / link + deviceMs + SWITCHOVER_FIXED_MS;
                    return new MigrationEstimate(Math.round(elapsedMs + downtimeMs), Math.round(downtimeMs),
                        MigrationMode.PRECOPY, maxThrottle == 0, round, maxThrottle,
                        Math.round(bytes + dirty * wire), dataPages, memory.pageCount(), workingSet.ratePerSec(),
                        workingSet.distinctIn(1.0), link, sampleMs, decision.reason());
                }
                case POSTCOPY:
                {
                    final double downtimeMs = deviceMs + SWITCHOVER_FIXED_MS;
                    final double pushMs = dirty * wire * 1000.0 / postcopyCap;
                    return new MigrationEstimate(Math.round(elapsedMs + downtimeMs + pushMs), Math.round(downtimeMs),
                        round == 0 ? MigrationMode.POSTCOPY : MigrationMode.HYBRID, false, round, maxThrottle,
                        Math.round(bytes + dirty * wire), dataPages, memory.pageCount(), workingSet.ratePerSec(),
                        workingSet.distinctIn(1.0), link, sampleMs, decision.reason());
                }
                case ABORT:
                    return new MigrationEstimate(Math.round(elapsedMs), 0, MigrationMode.PRECOPY, false, -1,
                        maxThrottle, Math.round(bytes), dataPages, memory.pageCount(), workingSet.ratePerSec(),
                        workingSet.distinctIn(1.0), link, sampleMs, "would fail: " + decision.reason());
                case CONTINUE:
                default:
                    pages = dirty;
                    break;
            }
        }
        return new MigrationEstimate(Math.round(elapsedMs), 0, MigrationMode.PRECOPY, false, -1, maxThrottle,
            Math.round(bytes), dataPages, memory.pageCount(), workingSet.ratePerSec(), workingSet.distinctIn(1.0),
            link, sampleMs, "no decision in " + MAX_ROUNDS_PLAYED + " rounds");
    }

    /**
     * Distinct pages written in a time: measured at four points, linear below the first, a power law between and
     * beyond them (the exponent of the last two points, 0 to 1), never more than the guest.
     */
    static final class WorkingSet
    {
        private final double[] sec;
        private final long[] distinct;
        private final long pageCount;

        WorkingSet(final double[] sec, final long[] distinct, final long pageCount)
        {
            this.sec = sec;
            this.distinct = distinct;
            this.pageCount = pageCount;
        }

        long distinctIn(final double seconds)
        {
            if (seconds <= 0)
            {
                return 0;
            }
            if (seconds <= sec[0])
            {
                return Math.min(pageCount, Math.round(distinct[0] * seconds / sec[0]));
            }
            int i = 1;
            while (i < sec.length - 1 && seconds > sec[i])
            {
                i++;
            }
            final double d0 = Math.max(1, distinct[i - 1]);
            final double d1 = Math.max(1, distinct[i]);
            if (distinct[i] == 0)
            {
                return 0;
            }
            double exponent = Math.log(d1 / d0) / Math.log(sec[i] / sec[i - 1]);
            exponent = Math.max(0, Math.min(1, exponent));
            return Math.min(pageCount, Math.round(d0 * Math.pow(seconds / sec[i - 1], exponent)));
        }

        double ratePerSec()
        {
            return distinct[0] / sec[0];
        }
    }

    /** The figures of a round played, as the policy reads them live. */
    private static final class Figures implements RoundFigures
    {
        private final double link;
        private final double wire;
        private final double deviceMs;
        private final boolean postcopyAvailable;
        private int round;
        private long dirty;
        private long pagesSent;
        private double roundMs;
        private double elapsedMs;
        private double throttle;

        Figures(final double link, final double wire, final double deviceMs, final boolean postcopyAvailable)
        {
            this.link = link;
            this.wire = wire;
            this.deviceMs = deviceMs;
            this.postcopyAvailable = postcopyAvailable;
        }

        void round(final int r, final long dirtyPages, final long sent, final double durationMs, final double atMs,
            final double throttleFraction)
        {
            round = r;
            dirty = dirtyPages;
            pagesSent = sent;
            roundMs = durationMs;
            elapsedMs = atMs;
            throttle = throttleFraction;
        }

        public int round()
        {
            return round;
        }

        public long dirtyPages()
        {
            return dirty;
        }

        public double dirtyRatePagesPerSec()
        {
            return roundMs <= 0 ? 0 : dirty * 1000.0 / roundMs;
        }

        public double bandwidthBytesPerSec()
        {
            return link;
        }

        public double wireBytesPerPage()
        {
            return wire;
        }

        public double predictedDowntimeMs()
        {
            return dirty * wire * 1000.0 / link + deviceMs + SWITCHOVER_FIXED_MS;
        }

        public long pagesSentInRound()
        {
            return pagesSent;
        }

        public long bytesSentInRound()
        {
            return Math.round(pagesSent * wire);
        }

        public long roundDurationMs()
        {
            return Math.round(roundMs);
        }

        public long elapsedMs()
        {
            return Math.round(elapsedMs);
        }

        public long roundTripUs()
        {
            return 100;
        }

        public boolean postcopyAvailable()
        {
            return postcopyAvailable;
        }

        public double throttleFraction()
        {
            return throttle;
        }
    }
}
