package io.pagestream.sending;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.ZeroPages;
import io.pagestream.kernel.GuestPageScan;
import io.pagestream.pages.LanePartition;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.PageMapFlyweight;
import io.pagestream.transport.FrameSink;

/**
 * One lane's bulk pass over what the guest never populated, from the kernel's {@link GuestPageScan}:
 * <ul>
 * <li>a page that cannot hold data is zero without being read (reading it would commit it), and whole bitmap words
 * of such pages join the zero run at once;</li>
 * <li>a page that may is read, after the file pages of its window of {@value #READ_AHEAD_PAGES} pages were mapped in
 * one call each run (file-backed guest memory only);</li>
 * <li>before the first data page of each scan chunk goes out, the chunk's DATA_MAP (if the target takes them), so
 * the target commits memory for the chunk's data pages in batches and none for its zero pages.</li>
 * </ul>
 * Only the bulk pass may use the scan: a page unpopulated when its chunk was scanned and written since is in the
 * dirty log, and later rounds read it. Threading: the source conductor's thread. No allocation.
 */
final class BulkHoles
{
    /** Pages mapped ahead of reading at a time (file-backed guest memory only). */
    static final int READ_AHEAD_PAGES = 512;

    private final GuestPageScan scan;
    private final GuestMemory memory;
    private final int pageSize;
    private final boolean dataMaps;
    private final LaneStats stats;
    private final PageMapFlyweight mapFlyweight = new PageMapFlyweight();
    private long mappedChunk = -1;
    private long readAheadWindow = -1;

    /**
     * @param scan     the guest's page scan, shared by the lanes.
     * @param memory   guest memory.
     * @param dataMaps true if the target takes DATA_MAP frames.
     * @param stats    the lane's figures: unread zero pages and data maps are counted there.
     */
    BulkHoles(final GuestPageScan scan, final GuestMemory memory, final boolean dataMaps, final LaneStats stats)
    {
        this.scan = scan;
        this.memory = memory;
        this.pageSize = memory.pageSize();
        this.dataMaps = dataMaps;
        this.stats = stats;
    }

    /** A new bulk pass: every chunk's map goes again, every window is mapped again. */
    void beginRound()
    {
        mappedChunk = -1;
        readAheadWindow = -1;
    }

    /**
     * @param pageIndex a page of the bulk pass.
     * @return true if it is zero: without a read if the scan shows it cannot hold data.
     */
    boolean isZero(final long pageIndex)
    {
        if (!scan.mayHoldData(pageIndex))
        {
            stats.unreadZeroPages++;
            return true;
        }
        final long window = pageIndex / READ_AHEAD_PAGES;
        if (window != readAheadWindow)
        {
            readAheadWindow = window;
            scan.readAhead(window * READ_AHEAD_PAGES, READ_AHEAD_PAGES);
        }
        return ZeroPages.isZero(memory.pageAddress(pageIndex), pageSize);
    }

    /**
     * Take whole bitmap words of pages that cannot hold data from {@code cursor} on, up to the end of the lane's
     * stripe, clearing them from {@code pages}. The page cache is empty in the bulk pass, so nothing needs
     * invalidating for them.
     *
     * @param pages     pages still to send in the round.
     * @param partition the lane's partition.
     * @param cursor    the lane's cursor, where a zero run ends.
     * @return pages taken (a multiple of 64), to join the zero run.
     */
    long takeWords(final PageBitmap pages, final LanePartition partition, final long cursor)
    {
        final long[] words = pages.words();
        final long stripeEnd = partition.stripeEnd(cursor);
        long at = cursor;
        while ((at & 63) == 0 && at + 64 <= stripeEnd && partition.owns(at))
        {
            final int w = (int)(at >>> 6);
            if (words[w] != -1L || scan.word(w) != 0)
            {
                break;
            }
            words[w] = 0;
            at += 64;
        }
        stats.unreadZeroPages += at - cursor;
        return at - cursor;
    }

    /**
     * @param pageIndex a data page about to be sent.
     * @param sink      the lane's stream.
     * @param migrationId the session.
     * @return {@link FrameSink#SENT} if the page's chunk map went out now or before (or maps are off), else
     * {@link FrameSink#RETRY} or {@link FrameSink#CLOSED}.
     */
    int sendMapBefore(final long pageIndex, final FrameSink sink, final long migrationId)
    {
        final long chunk = pageIndex / GuestPageScan.CHUNK_PAGES;
        if (!dataMaps || chunk == mappedChunk)
        {
            return FrameSink.SENT;
        }
        final int length = TargetProxy.dataMap(sink, migrationId, scan, memory.pageCount(), chunk, mapFlyweight);
        if (length <= 0)
        {
            return length;
        }
        mappedChunk = chunk;
        stats.bytes += length;
        stats.dataMapFrames++;
        return FrameSink.SENT;
    }
}
