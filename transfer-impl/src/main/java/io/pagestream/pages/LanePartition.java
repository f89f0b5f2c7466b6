package io.pagestream.pages;

/**
 * How guest pages are divided between data lanes: in stripes of {@link #STRIPE_PAGES} consecutive pages, dealt out
 * round-robin, stripe {@code s} going to lane {@code s % laneCount}. With one lane, that lane owns everything.
 * <p>
 * Why stripes: a stripe is a whole number of bitmap words, so each lane reads and clears only words of its own and
 * lanes may run on threads of their own without sharing a word; runs of zero pages stay long inside a lane; and a
 * guest's hot or populated regions, which are rarely aligned to 2 MiB, spread over every lane. A stripe of 512
 * pages is 2 MiB of 4 KiB pages, the unit in which memory is populated ahead of the cursor.
 * Threading: immutable.
 */
public final class LanePartition
{
    /** Pages per stripe: a multiple of 64 so stripes never share a bitmap word. */
    public static final long STRIPE_PAGES = 512;

    private final int laneIndex;
    private final int laneCount;
    private final long pageCount;
    private final long stripePages;

    /**
     * @param laneIndex this lane, from 0.
     * @param laneCount lanes in all, at least 1.
     * @param pageCount pages of guest memory.
     */
    public LanePartition(final int laneIndex, final int laneCount, final long pageCount)
    {
        if (laneCount < 1 || laneIndex < 0 || laneIndex >= laneCount)
        {
            throw new IllegalArgumentException("laneIndex=" + laneIndex + " laneCount=" + laneCount);
        }
        this.laneIndex = laneIndex;
        this.laneCount = laneCount;
        this.pageCount = pageCount;
        this.stripePages = laneCount == 1 ? Math.max(STRIPE_PAGES, (pageCount + 63) & ~63L) : STRIPE_PAGES;
    }

    /**
     * @param pageIndex  a guest page.
     * @param laneCount  lanes in all.
     * @return the lane that carries it.
     */
    public static int laneOf(final long pageIndex, final int laneCount)
    {
        return laneCount == 1 ? 0 : (int)((pageIndex / STRIPE_PAGES) % laneCount);
    }

    /** @return this lane's index. */
    public int laneIndex()
    {
        return laneIndex;
    }

    /**
     * @param pageIndex a guest page.
     * @return true if this lane carries it.
     */
    public boolean owns(final long pageIndex)
    {
        return laneCount == 1 || (pageIndex / stripePages) % laneCount == laneIndex;
    }

    /**
     * @param pageIndex any page index from 0.
     * @return the first page at or after it that this lane carries, or {@code pageCount} if none.
     */
    public long firstAtOrAfter(final long pageIndex)
    {
        if (pageIndex >= pageCount)
        {
            return pageCount;
        }
        if (owns(pageIndex))
        {
            return pageIndex;
        }
        final long stripe = pageIndex / stripePages;
        final long ahead = Math.floorMod(laneIndex - stripe, (long)laneCount);
        return Math.min(pageCount, (stripe + ahead) * stripePages);
    }

    /**
     * @param pageIndex a page this lane carries.
     * @return the end (exclusive) of its stripe, at most {@code pageCount}.
     */
    public long stripeEnd(final long pageIndex)
    {
        return Math.min(pageCount, (pageIndex / stripePages + 1) * stripePages);
    }

    /**
     * Find, clear and return the next page of this lane set in a bitmap.
     *
     * @param bitmap    pages to send.
     * @param fromPageIndex where to start looking.
     * @return the page index, or -1 if this lane has none left at or after it.
     */
    public long takeNext(final PageBitmap bitmap, final long fromPageIndex)
    {
        long p = firstAtOrAfter(fromPageIndex);
        while (p < pageCount)
        {
            final long end = stripeEnd(p);
            final long found = bitmap.takeNext(p, end);
            if (found >= 0)
            {
                return found;
            }
            p = firstAtOrAfter(end);
        }
        return -1;
    }

    /**
     * @param bitmap pages.
     * @return how many of this lane's pages are set.
     */
    public long cardinality(final PageBitmap bitmap)
    {
        if (laneCount == 1)
        {
            return bitmap.cardinality();
        }
        final long[] words = bitmap.words();
        long count = 0;
        for (long p = firstAtOrAfter(0); p < pageCount; p = firstAtOrAfter(stripeEnd(p)))
        {
            final int fromWord = (int)(p >>> 6);
            final int toWord = (int)((stripeEnd(p) + 63) >>> 6);
            for (int w = fromWord; w < toWord; w++)
            {
                count += Long.bitCount(words[w]);
            }
        }
        return count;
    }
}
