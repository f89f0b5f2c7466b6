package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.ZeroPages;
import io.pagestream.kernel.GuestPageScan;
import io.pagestream.pages.LanePartition;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.RoundEndFlyweight;
import io.pagestream.protocol.ZeroRunFlyweight;
import io.pagestream.transport.BandwidthLimiter;
import io.pagestream.transport.FrameSink;

/**
 * One data lane on the source: its own Aeron stream, its share of the pages (a {@link LanePartition}), and its own
 * sender state: the cursor, the zero run being gathered, the page part-way through a send, and what it sent in the
 * round. A round on a lane ends with its own ROUND_END, so the target can check each lane's counts; a lane that is
 * back-pressured or losing frames holds up only itself.
 * <p>
 * Pre-copy: {@link #beginRound} then {@link #doWork} until {@link #isRoundSent()}. Post-copy: {@link #beginPush}
 * then {@link #doWork}, which wraps round once to the pages before the cursor, until {@link #isPushed()}; a fault
 * moves the cursor to just after the faulted page ({@link #prepage}).
 * <p>
 * Threading: the source conductor's thread, or for a pre-copy round the lane's own thread ({@link LaneThreads}),
 * never both at once. No allocation.
 */
final class DataLane
{
    enum State
    {
        IDLE, SENDING, ROUND_END_DUE, ROUND_SENT, PUSHING, PUSHED
    }

    private final int index;
    private final long migrationId;
    private final GuestMemory memory;
    private final int pageSize;
    private final LanePartition partition;
    private final BandwidthLimiter limiter;
    private final RoundCounts tracker;
    private final PageSender sender;
    private final LaneStats stats = new LaneStats();
    private final ZeroRunFlyweight zeroRunFlyweight = new ZeroRunFlyweight();
    private final RoundEndFlyweight roundEndFlyweight = new RoundEndFlyweight();
    private FrameSink sink;
    private State state = State.IDLE;

    private PageBitmap pages;
    private int round;
    private long cursor;
    private boolean wrapped;
    private long currentPage = -1;
    private boolean currentPageZero;
    private long zeroRunStart;
    private long zeroRunLength;
    private long roundPageFrames;
    private long roundPages;
    private long rateLimitedWaits;
    private BulkHoles holes;

    DataLane(
        final int index,
        final int laneCount,
        final long migrationId,
        final GuestMemory memory,
        final FrameSink sink,
        final PageSender sender,
        final BandwidthLimiter limiter,
        final RoundCounts tracker)
    {
        this.index = index;
        this.migrationId = migrationId;
        this.memory = memory;
        this.pageSize = memory.pageSize();
        this.partition = new LanePartition(index, laneCount, memory.pageCount());
        this.sink = sink;
        this.sender = sender;
        this.limiter = limiter;
        this.tracker = tracker;
    }

    int index()
    {
        return index;
    }

    State state()
    {
        return state;
    }

    FrameSink sink()
    {
        return sink;
    }

    PageSender sender()
    {
        return sender;
    }

    LaneStats stats()
    {
        return stats;
    }

    LanePartition partition()
    {
        return partition;
    }

    long rateLimitedWaits()
    {
        return rateLimitedWaits + sender.rateLimitedWaits();
    }

    /**
     * Skip what the guest never populated in the bulk pass ({@link BulkHoles}).
     *
     * @param pageScan the guest's page scan, shared by the lanes, or null to read every page.
     * @param sendMaps true if the target takes DATA_MAP frames.
     */
    void holes(final GuestPageScan pageScan, final boolean sendMaps)
    {
        holes = null == pageScan ? null : new BulkHoles(pageScan, memory, sendMaps, stats);
    }

    /**
     * Carry on over a new stream (a new Aeron session after a post-copy link loss): the page part-way and the zero
     * run being gathered are dropped, as the pages to send are rebuilt from the target's missing map.
     *
     * @param newSink the lane's new stream.
     */
    void retarget(final FrameSink newSink)
    {
        sink = newSink;
        sender.retarget(newSink);
        currentPage = -1;
        zeroRunLength = 0;
    }

    /**
     * Start a pre-copy round over this lane's pages of {@code toSend}.
     *
     * @param toSend   pages to send; this lane takes (clears) the bits of its own pages.
     * @param roundNow the round number written in every frame.
     */
    void beginRound(final PageBitmap toSend, final int roundNow)
    {
        pages = toSend;
        round = roundNow;
        cursor = 0;
        currentPage = -1;
        roundPageFrames = 0;
        roundPages = 0;
        if (null != holes)
        {
            holes.beginRound();
        }
        state = State.SENDING;
    }

    /**
     * Start (or restart, after a recovery) the post-copy push of this lane's pages of {@code toSend}.
     *
     * @param toSend   pages still to send.
     * @param roundNow the round number written in every frame.
     */
    void beginPush(final PageBitmap toSend, final int roundNow)
    {
        pages = toSend;
        round = roundNow;
        cursor = 0;
        wrapped = false;
        currentPage = -1;
        state = State.PUSHING;
    }

    /**
     * Pre-paging: a fault on {@code pageIndex} means the guest works near it, so push what follows it next.
     *
     * @param pageIndex the faulted page.
     */
    void prepage(final long pageIndex)
    {
        if (partition.owns(pageIndex) && (state == State.PUSHING || state == State.PUSHED))
        {
            cursor = pageIndex + 1;
            wrapped = false;
            state = State.PUSHING;
        }
    }

    boolean isRoundSent()
    {
        return state == State.ROUND_SENT;
    }

    boolean isPushed()
    {
        return state == State.PUSHED;
    }

    /** @return page frames this lane sent in the current round. */
    long roundPageFrames()
    {
        return roundPageFrames;
    }

    /** @return pages this lane sent in the current round. */
    long roundPages()
    {
        return roundPages;
    }

    /**
     * Send up to {@code maxPages} pages, then the lane's ROUND_END once its pages are out.
     *
     * @param nowNs    current time.
     * @param maxPages bound on the pages sent by this call.
     * @return work done.
     * @throws MigrationException PEER_LOST if the lane's stream closed.
     */
    int doWork(final long nowNs, final int maxPages)
    {
        switch (state)
        {
            case SENDING:
            case PUSHING:
                return sendPages(nowNs, maxPages);
            case ROUND_END_DUE:
                return sendRoundEnd();
            default:
                return 0;
        }
    }

    private int sendPages(final long nowNs, final int maxPages)
    {
        final boolean bulk = null != holes && round == 0 && state == State.SENDING;
        int work = 0;
        for (int i = 0; i < maxPages; i++)
        {
            if (currentPage < 0)
            {
                if (bulk && zeroRunLength > 0 && zeroRunStart + zeroRunLength == cursor)
                {
                    final long skipped = holes.takeWords(pages, partition, cursor);
                    if (skipped > 0)
                    {
                        cursor += skipped;
                        zeroRunLength += skipped;
                        work++;
                        continue;
                    }
                }
                currentPage = partition.takeNext(pages, cursor);
                if (currentPage < 0 && state == State.PUSHING && !wrapped && cursor > 0)
                {
                    wrapped = true; // pre-paging started after a fault: wrap round to the pages before it
                    currentPage = partition.takeNext(pages, 0);
                }
                if (currentPage < 0)
                {
                    if (!flushZeroRun(nowNs))
                    {
                        return work;
                    }
                    if (state == State.PUSHING)
                    {
                        state = State.PUSHED; // everything pushed; faults and recoveries may bring more
                        return work;
                    }
                    state = State.ROUND_END_DUE;
                    return work + sendRoundEnd();
                }
                cursor = currentPage + 1;
                currentPageZero = bulk ? holes.isZero(currentPage) : ZeroPages.isZero(memory.pageAddress(currentPage), pageSize);
            }

            if (currentPageZero)
            {
                sender.onZeroPage(currentPage);
                if (zeroRunLength > 0 && zeroRunStart + zeroRunLength == currentPage)
                {
                    zeroRunLength++;
                }
                else
                {
                    if (!flushZeroRun(nowNs))
                    {
                        break;
                    }
                    zeroRunStart = currentPage;
                    zeroRunLength = 1;
                }
            }
            else if (!flushZeroRun(nowNs) || (bulk && !sendDataMap()) || !sendDataPage(nowNs))
            {
                break;
            }
            currentPage = -1;
            work++;
        }
        return work;
    }

    /**
     * Bulk pass: before the first data page of a chunk, its DATA_MAP, so the target can commit the memory for the
     * chunk's data pages in batches (and none for its zero pages).
     */
    private boolean sendDataMap()
    {
        final int outcome = holes.sendMapBefore(currentPage, sink, migrationId);
        if (outcome != FrameSink.SENT)
        {
            onNotSent(outcome, 0);
            return false;
        }
        return true;
    }

    private boolean flushZeroRun(final long nowNs)
    {
        if (zeroRunLength == 0)
        {
            return true;
        }
        final int length = ZeroRunFlyweight.LENGTH;
        if (!limiter.tryAcquire(length, nowNs))
        {
            rateLimitedWaits++;
            return false;
        }
        final int outcome = TargetProxy.zeroRun(sink, migrationId, zeroRunStart, zeroRunLength, round,
            zeroRunFlyweight);
        if (outcome != FrameSink.SENT)
        {
            onNotSent(outcome, length);
            return false;
        }
        tracker.onZeroRun(zeroRunLength, length);
        roundPages += zeroRunLength;
        stats.pages += zeroRunLength;
        stats.zeroPages += zeroRunLength;
        stats.bytes += length;
        if (state == State.PUSHING)
        {
            stats.postcopyPages += zeroRunLength;
        }
        zeroRunLength = 0;
        return true;
    }

    private boolean sendDataPage(final long nowNs)
    {
        if (!sender.send(currentPage, round, nowNs))
        {
            return false;
        }
        final int pageFrames = sender.lastPageFrames();
        final int pageBytes = sender.lastPageBytes();
        tracker.onDataPage(pageFrames, pageBytes);
        roundPageFrames += pageFrames;
        roundPages++;
        stats.pageFrames += pageFrames;
        stats.pages++;
        stats.bytes += pageBytes;
        if (state == State.PUSHING)
        {
            stats.postcopyPages++;
        }
        switch (sender.lastPageEncoding())
        {
            case DELTA:
                stats.deltaPages++;
                stats.bytesSaved += PageFlyweight.PAYLOAD_OFFSET + pageSize - pageBytes;
                break;
            case LZ4:
                stats.lz4Pages++;
                stats.bytesSaved += PageFlyweight.PAYLOAD_OFFSET + pageSize - pageBytes;
                break;
            default:
                stats.rawPages++;
                break;
        }
        return true;
    }

    private int sendRoundEnd()
    {
        final int outcome = TargetProxy.roundEnd(sink, migrationId, round, roundPageFrames, roundPages,
            roundEndFlyweight);
        if (outcome != FrameSink.SENT)
        {
            onNotSent(outcome, 0);
            return 0;
        }
        stats.bytes += RoundEndFlyweight.LENGTH;
        state = State.ROUND_SENT;
        return 1;
    }

    private void onNotSent(final int outcome, final int frameLength)
    {
        limiter.refund(frameLength);
        if (outcome == FrameSink.CLOSED)
        {
            throw new MigrationException(ErrorCode.PEER_LOST,
                "data lane " + index + " closed or reached its maximum position");
        }
    }
}
