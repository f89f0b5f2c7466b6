package io.pagestream.sending;

import io.pagestream.kernel.GuestPageScan;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.pages.LanePartition;
import io.pagestream.pages.PageBitmap;
import io.pagestream.security.FrameMac;
import io.pagestream.transport.FrameSink;
import io.pagestream.transport.Links;
import org.agrona.CloseHelper;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * The source's data lanes as one: a round or a push begins on every lane, progresses on every lane in turn within a
 * duty cycle's page budget, and is over only when every lane is done; a lane that is back-pressured or repairing
 * loss simply sends nothing this cycle while the others go on. Lane 0 also carries the control frames. After a
 * post-copy link loss the lanes reopen on new Aeron sessions without blocking a duty cycle.
 * <p>
 * Threading: the source conductor's thread; with lane threads, every lane after the first is handed to its own
 * thread for each pre-copy round and back when its ROUND_END is out ({@link LaneThreads}).
 */
final class DataLanes implements AutoCloseable
{

    private final DataLane[] lanes;
    private final LaneStreams streams;
    private final LaneStats total = new LaneStats();
    private MemoryKernel kernel;
    private GuestPageScan scan;
    private RoundTracker tracker;
    private LaneThreads threads;

    /**
     * @param lanes   the lanes, index i on stream {@code firstStreamId + i}.
     * @param streams the lanes' Aeron side.
     */
    DataLanes(final DataLane[] lanes, final LaneStreams streams)
    {
        this.lanes = lanes;
        this.streams = streams;
    }

    /**
     * Build the lanes over their streams: one bandwidth cap for all (they share one link); one cache of sent
     * versions and one encoding chooser shared by all when they run on one thread, each lane its own share and its
     * own chooser when lanes run on threads of their own; a sender and a partition each.
     *
     * @param ctx       the source's concluded context.
     * @param sinks     lane i's stream at index i.
     * @param links     to reopen lanes after a link loss.
     * @param limiter   the bandwidth cap.
     * @param tracker   round bookkeeping the lanes report to.
     * @param chooser   the encoding chooser.
     * @param backPressure back-pressure counter for reopened lanes, may be null.
     * @param adminActions admin-action counter for reopened lanes, may be null.
     * @return the lanes.
     */
    static DataLanes create(
        final io.pagestream.api.MigrationSource.Context ctx,
        final FrameSink[] sinks,
        final Links links,
        final io.pagestream.transport.BandwidthLimiter limiter,
        final RoundTracker tracker,
        final EncodingChooser chooser,
        final AtomicCounter backPressure,
        final AtomicCounter adminActions)
    {
        final io.pagestream.api.guest.GuestMemory memory = ctx.guestMemory();
        final boolean deltaAllowed = ctx.compression() == io.pagestream.api.Compression.AUTO ||
            ctx.compression() == io.pagestream.api.Compression.DELTA;
        final boolean threaded = ctx.laneThreads() && sinks.length > 1;
        final long cacheBytes = threaded ? ctx.pageCacheBytes() / sinks.length : ctx.pageCacheBytes();
        final DataLane[] lanes = new DataLane[sinks.length];
        final LaneTally[] tallies = new LaneTally[sinks.length];
        PageCache cache = null;
        for (int i = 0; i < sinks.length; i++)
        {
            if (deltaAllowed && (null == cache || threaded))
            {
                // Lanes on one thread share one cache; a lane on its own thread keeps its own share of it.
                cache = new PageCache(cacheBytes, memory.pageSize(), memory.pageCount(), ctx.pageCachePolicy());
            }
            final EncodingChooser laneChooser = threaded && i > 0 ? new EncodingChooser(ctx.compression(),
                memory.pageSize(), ctx.maxBandwidthBytesPerSec(), ctx.nanoClock().nanoTime()) : chooser;
            final PageSender sender = new PageSender(sinks[i], memory, ctx.migrationId(), limiter,
                PageSender.Pacing.WAIT_FOR_CAP, cache, laneChooser, ctx.nanoClock());
            tallies[i] = threaded && i > 0 ? new LaneTally() : null;
            lanes[i] = new DataLane(i, sinks.length, ctx.migrationId(), memory, sinks[i], sender, limiter,
                null != tallies[i] ? tallies[i] : tracker);
        }
        final boolean fanOut = !ctx.followerEndpoints().isEmpty();
        final DataLanes dataLanes = new DataLanes(lanes, new LaneStreams(lanes, links, fanOut ?
            io.pagestream.transport.Channels.multiDestinationDataPublication(
            ctx.mtuLength(), ctx.termLength(), ctx.socketBufferLength()) :
            io.pagestream.transport.Channels.dataPublication(
            ctx.targetEndpoint(), ctx.mtuLength(), ctx.termLength(), ctx.socketBufferLength()), ctx.dataStreamId(),
            backPressure, adminActions, ctx.followerEndpoints().size(), ctx.targetEndpoint()));
        dataLanes.kernel = MemoryKernel.create();
        dataLanes.scan = ctx.skipUnpopulated() ? new GuestPageScan(dataLanes.kernel, memory) : null;
        dataLanes.tracker = tracker;
        if (threaded)
        {
            dataLanes.threads = new LaneThreads(lanes, tallies, ctx.nanoClock(), ctx.errorHandler());
            dataLanes.threads.start();
        }
        return dataLanes;
    }

    /**
     * After the handshake: in the bulk pass, skip what the guest never populated, and send the data maps if the
     * target takes them.
     *
     * @param targetTakesDataMaps true if the target offered {@link io.pagestream.protocol.Capabilities#DATA_MAP}.
     */
    void holes(final boolean targetTakesDataMaps)
    {
        for (final DataLane lane : lanes)
        {
            lane.holes(scan, targetTakesDataMaps);
        }
    }

    /**
     * Just before the dirty log starts: scan which pages the guest populated, all of guest memory now, since a log
     * kept by the kernel's write-protection marks every never-populated page in a way the kernel reports like a
     * swapped-out page ({@link GuestPageScan#scanAll()}).
     */
    void beforeTracking()
    {
        if (null != scan)
        {
            scan.scanAll();
        }
    }

    /** Just after the dirty log started: add what the guest populated meanwhile ({@link GuestPageScan#addPresent()}). */
    void afterTracking()
    {
        if (null != scan)
        {
            scan.addPresent();
        }
    }

    /** @return the memory kernel the lanes read guest memory through. */
    MemoryKernel kernel()
    {
        return kernel;
    }

    /** @return the scan of populated pages, or null if the bulk pass reads every page. */
    GuestPageScan scan()
    {
        return scan;
    }

    int count()
    {
        return lanes.length;
    }

    DataLane lane(final int index)
    {
        return lanes[index];
    }

    /** @return the lanes' Aeron side: sessions, connections, receivers, reopening, bytes on the wire. */
    LaneStreams streams()
    {
        return streams;
    }

    /** @return threads of their own the lanes send on, 0 if all are on the agent's thread. */
    int laneThreads()
    {
        return null == threads ? 0 : threads.count();
    }

    /**
     * A round begins: every lane's encoding choice looks back over the last one ({@link EncodingChooser}).
     *
     * @param nowNs current time.
     */
    void onRoundBoundary(final long nowNs)
    {
        EncodingChooser last = null;
        for (final DataLane lane : lanes)
        {
            final EncodingChooser chooser = lane.sender().chooser();
            if (chooser != last)
            {
                chooser.onRoundBoundary(nowNs);
                last = chooser;
            }
        }
    }

    /**
     * @param bytesPerSec the bandwidth cap now in force, which every lane's encoding choice weighs.
     */
    void cap(final long bytesPerSec)
    {
        for (final DataLane lane : lanes)
        {
            lane.sender().chooser().cap(bytesPerSec);
        }
    }

    /** @return true if the lanes keep sent versions for delta encoding. */
    boolean hasCache()
    {
        return null != lanes[0].sender().cache();
    }

    /** @return hits in the lanes' caches of sent versions (one shared, or one per threaded lane). */
    long cacheHits()
    {
        return cacheCount(true);
    }

    /** @return misses in the lanes' caches of sent versions. */
    long cacheMisses()
    {
        return cacheCount(false);
    }

    private long cacheCount(final boolean hits)
    {
        long count = 0;
        PageCache last = null;
        for (final DataLane lane : lanes)
        {
            final PageCache cache = lane.sender().cache();
            if (null != cache && cache != last)
            {
                count += hits ? cache.hits() : cache.misses();
                last = cache;
            }
        }
        return count;
    }

    /** @return lane 0's stream, which carries the control frames. */
    FrameSink controlSink()
    {
        return lanes[0].sink();
    }

    void beginRound(final PageBitmap toSend, final int round)
    {
        for (final DataLane lane : lanes)
        {
            lane.beginRound(toSend, round);
            if (null != threads && lane.index() > 0)
            {
                threads.handOver(lane.index());
            }
        }
    }

    boolean isRoundSent()
    {
        if (null != threads)
        {
            threads.fold(tracker);
        }
        for (final DataLane lane : lanes)
        {
            if ((null != threads && threads.isHandedOver(lane.index())) || !lane.isRoundSent())
            {
                return false;
            }
        }
        return true;
    }

    void beginPush(final PageBitmap toSend, final int round)
    {
        for (final DataLane lane : lanes)
        {
            lane.beginPush(toSend, round);
        }
    }

    boolean isPushed()
    {
        for (final DataLane lane : lanes)
        {
            if (!lane.isPushed())
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @param pageIndex a faulted page: its lane pushes what follows it next.
     */
    void prepage(final long pageIndex)
    {
        lanes[LanePartition.laneOf(pageIndex, lanes.length)].prepage(pageIndex);
    }

    /**
     * Give every lane a share of the budget.
     *
     * @param nowNs    current time.
     * @param maxPages pages this call may send in all.
     * @return work done.
     */
    int doWork(final long nowNs, final int maxPages)
    {
        if (null != threads)
        {
            threads.fold(tracker);
            threads.throwFailure();
        }
        final int share = Math.max(8, maxPages / lanes.length);
        int work = 0;
        for (final DataLane lane : lanes)
        {
            if (null == threads || !threads.isHandedOver(lane.index()))
            {
                work += lane.doWork(nowNs, share);
            }
        }
        return work;
    }

    /** @return page frames sent in the current round, every lane. */
    long roundPageFrames()
    {
        long frames = 0;
        for (final DataLane lane : lanes)
        {
            frames += lane.roundPageFrames();
        }
        return frames;
    }

    /** @return pages sent in the current round, every lane. */
    long roundPages()
    {
        long pages = 0;
        for (final DataLane lane : lanes)
        {
            pages += lane.roundPages();
        }
        return pages;
    }

    /**
     * Sign (or seal) every lane's frames under the session's frame key, each lane under its own lane byte.
     *
     * @param frameKey the session's frame key.
     * @param encrypt  true to seal.
     */
    void sign(final byte[] frameKey, final boolean encrypt)
    {
        for (final DataLane lane : lanes)
        {
            lane.sink().signer(new FrameMac(frameKey, FrameMac.dataLane(lane.index()), encrypt));
        }
    }

    /** Stop delta encoding on every lane (cached versions may not match after a link loss). */
    void disableCache()
    {
        for (final DataLane lane : lanes)
        {
            lane.sender().disableCache();
        }
    }

    /** @return the lanes' figures, summed. */
    LaneStats stats()
    {
        total.clear();
        for (final DataLane lane : lanes)
        {
            total.add(lane.stats());
        }
        return total;
    }

    /** @return times the bandwidth cap held a lane back. */
    long rateLimitedWaits()
    {
        long waits = 0;
        for (final DataLane lane : lanes)
        {
            waits += lane.rateLimitedWaits();
        }
        return waits;
    }

    /**
     * Stop the lanes' threads, if any, waiting for each to leave its duty cycle: the migration is over, and no lane
     * may read guest memory once its end is delivered. Idempotent.
     */
    void stopThreads()
    {
        CloseHelper.quietClose(threads);
    }

    /** Stop the lanes' threads, if any, then close every lane's stream. */
    public void close()
    {
        CloseHelper.quietClose(threads);
        for (final DataLane lane : lanes)
        {
            CloseHelper.quietClose(lane.sink());
        }
    }
}
