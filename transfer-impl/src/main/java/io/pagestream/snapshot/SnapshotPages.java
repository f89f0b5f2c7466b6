package io.pagestream.snapshot;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.DirtyPageLog;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.GuestPageScan;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.pages.PageBitmap;
import io.pagestream.sending.RoundTracker;

import java.util.Arrays;

/**
 * Which guest pages the snapshots of one snapshot session write, and writing them: the dirty log fetched into a bitmap,
 * the pages ever reported dirty, those fetched since the last snapshot that completed (what the next incremental
 * snapshot must hold even if a snapshot in between failed after fetching them), and the passes over them: a bulk pass
 * that writes every page that may hold data and defines the rest as zero without reading it, and a pass over the pages
 * dirty now.
 * <p>
 * Threading: the session's caller's thread, one call at a time.
 */
final class SnapshotPages
{
    private final GuestMemory memory;
    private final DirtyPageLog log;
    private final int pageSize;
    private final long pageCount;
    private final GuestPageScan scan;
    private final PageBitmap dirty;
    private final long[] everDirty;
    private final long[] sinceLastSnapshot;
    private boolean tracking;

    /**
     * @param memory the guest's memory.
     * @param log    the guest's dirty log; tracking starts at the first snapshot.
     */
    SnapshotPages(final GuestMemory memory, final DirtyPageLog log)
    {
        this.memory = memory;
        this.log = log;
        this.pageSize = memory.pageSize();
        this.pageCount = memory.pageCount();
        this.scan = new GuestPageScan(MemoryKernel.create(), memory);
        this.dirty = new PageBitmap(pageCount);
        this.everDirty = new long[PageBitmap.wordCount(pageCount)];
        this.sinceLastSnapshot = new long[PageBitmap.wordCount(pageCount)];
    }

    /**
     * Before the first snapshot: learn which pages were ever populated, then start the dirty log. Once only.
     *
     * @throws MigrationException {@code HYPERVISOR_CALLBACK_FAILED} if the log failed to start.
     */
    void startTracking()
    {
        if (!tracking)
        {
            scan.scanAll();
            GuestCalls.call(log::startTracking, "dirtyPageLog.startTracking");
            scan.addPresent();
            tracking = true;
        }
    }

    /** Stop the dirty log if it was started. */
    void stopTracking()
    {
        if (tracking)
        {
            log.stopTracking();
        }
    }

    /** Mark dirty again what a snapshot that failed since the last completed one had fetched. */
    void carryOver()
    {
        final long[] words = dirty.words();
        for (int w = 0; w < words.length; w++)
        {
            words[w] |= sinceLastSnapshot[w];
        }
    }

    /** The snapshot completed; its cut was the pause, so later writes are the next one's. */
    void cut()
    {
        Arrays.fill(sinceLastSnapshot, 0);
    }

    /** @return pages dirty now, not yet written. */
    long dirtyPages()
    {
        return dirty.cardinality();
    }

    /**
     * The bulk pass of a full snapshot: every page that may hold data (populated, or ever reported dirty) is
     * written, the others defined as zero without being read.
     *
     * @param writer  the snapshot's file.
     * @param tracker counts the pages written.
     */
    void bulk(final SnapshotWriter writer, final RoundTracker tracker)
    {
        // Everything goes now: what the log reported so far is covered by this pass.
        dirty.clearAll();
        final int words = PageBitmap.wordCount(pageCount);
        for (int w = 0; w < words; w++)
        {
            final long first = (long)w << 6;
            final int pages = (int)Math.min(64, pageCount - first);
            final long mayHoldData = scan.word(w) | everDirty[w];
            for (int bit = 0; bit < pages; bit++)
            {
                final long page = first + bit;
                if ((mayHoldData & (1L << bit)) != 0)
                {
                    writer.page(page, memory.pageAddress(page));
                    tracker.onDataPage(1, pageSize);
                }
                else
                {
                    writer.zeroPage(page);
                }
            }
        }
        writer.flush();
    }

    /**
     * Write the pages dirty now, and clear them.
     *
     * @param writer  the snapshot's file.
     * @param tracker counts the pages written.
     */
    void writeDirty(final SnapshotWriter writer, final RoundTracker tracker)
    {
        for (long page = dirty.takeNext(0); page >= 0; page = dirty.takeNext(page + 1))
        {
            writer.page(page, memory.pageAddress(page));
            tracker.onDataPage(1, pageSize);
        }
        writer.flush();
    }

    /**
     * Fetch and clear the dirty log into the dirty pages.
     *
     * @return pages newly dirty.
     * @throws MigrationException {@code HYPERVISOR_CALLBACK_FAILED} if the log threw.
     */
    long fetch()
    {
        final long before = dirty.cardinality();
        try
        {
            log.fetchAndClear(dirty.words());
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.HYPERVISOR_CALLBACK_FAILED, "dirtyPageLog.fetchAndClear: " + ex, ex);
        }
        final long[] words = dirty.words();
        for (int w = 0; w < words.length; w++)
        {
            everDirty[w] |= words[w];
            sinceLastSnapshot[w] |= words[w];
        }
        return dirty.cardinality() - before;
    }
}
