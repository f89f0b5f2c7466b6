package io.pagestream.sending;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The round counts of a lane that sends on a thread of its own: the lane's thread adds (a single writer, each count
 * published with an ordered store), the agent's thread folds what was added since its last look into the
 * {@link RoundTracker}, so the tracker stays single-threaded. No allocation.
 */
final class LaneTally implements RoundCounts
{
    private final AtomicLong dataPages = new AtomicLong();
    private final AtomicLong dataFrames = new AtomicLong();
    private final AtomicLong dataBytes = new AtomicLong();
    private final AtomicLong zeroPages = new AtomicLong();
    private final AtomicLong zeroBytes = new AtomicLong();
    private long foldedDataPages;
    private long foldedDataFrames;
    private long foldedDataBytes;
    private long foldedZeroPages;
    private long foldedZeroBytes;

    /** {@inheritDoc} */
    public void onDataPage(final int frames, final int bytes)
    {
        dataFrames.lazySet(dataFrames.get() + frames);
        dataBytes.lazySet(dataBytes.get() + bytes);
        dataPages.lazySet(dataPages.get() + 1);
    }

    /** {@inheritDoc} */
    public void onZeroRun(final long pages, final int bytes)
    {
        zeroBytes.lazySet(zeroBytes.get() + bytes);
        zeroPages.lazySet(zeroPages.get() + pages);
    }

    /**
     * Add to the tracker what the lane counted since the last fold. Agent thread.
     *
     * @param tracker the round bookkeeping.
     */
    void foldInto(final RoundTracker tracker)
    {
        final long pages = dataPages.get();
        final long frames = dataFrames.get();
        final long bytes = dataBytes.get();
        final long zero = zeroPages.get();
        final long zeroRunBytes = zeroBytes.get();
        tracker.onLaneCounts(pages - foldedDataPages, frames - foldedDataFrames, bytes - foldedDataBytes,
            zero - foldedZeroPages, zeroRunBytes - foldedZeroBytes);
        foldedDataPages = pages;
        foldedDataFrames = frames;
        foldedDataBytes = bytes;
        foldedZeroPages = zero;
        foldedZeroBytes = zeroRunBytes;
    }
}
