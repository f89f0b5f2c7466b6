package io.pagestream.pages;

/**
 * A bitmap of pages as {@code long[]} words (bit {@code i % 64} of word {@code i / 64} is page {@code i}), the layout
 * {@link io.pagestream.api.guest.DirtyPageLog} fills. Walked with {@link Long#numberOfTrailingZeros(long)}.
 * Threading: single writer per word; no internal synchronisation (lanes own whole words, see {@link LanePartition}).
 */
public final class PageBitmap
{
    private final long pageCount;
    private long[] words;

    /**
     * @param pageCount pages covered; positive.
     */
    public PageBitmap(final long pageCount)
    {
        if (pageCount <= 0 || ((pageCount + 63) >>> 6) > Integer.MAX_VALUE - 8)
        {
            throw new IllegalArgumentException("pageCount out of range: " + pageCount);
        }
        this.pageCount = pageCount;
        this.words = new long[wordCount(pageCount)];
    }

    /**
     * @param pageCount pages.
     * @return words needed to hold a bit per page.
     */
    public static int wordCount(final long pageCount)
    {
        return (int)((pageCount + 63) >>> 6);
    }

    /** @return pages covered. */
    public long pageCount()
    {
        return pageCount;
    }

    /** @return the backing words, for a dirty log to OR into. */
    public long[] words()
    {
        return words;
    }

    /**
     * @param pageIndex to clear.
     * @return true if the bit was set before.
     */
    public boolean clear(final long pageIndex)
    {
        final int w = (int)(pageIndex >>> 6);
        final long mask = 1L << pageIndex;
        final long old = words[w];
        words[w] = old & ~mask;
        return (old & mask) != 0;
    }

    /**
     * @param pageIndex to set.
     * @return true if the bit was clear before.
     */
    public boolean set(final long pageIndex)
    {
        final int w = (int)(pageIndex >>> 6);
        final long mask = 1L << pageIndex;
        final long old = words[w];
        words[w] = old | mask;
        return (old & mask) == 0;
    }

    /**
     * @param pageIndex to test.
     * @return true if set.
     */
    public boolean get(final long pageIndex)
    {
        return (words[(int)(pageIndex >>> 6)] & (1L << pageIndex)) != 0;
    }

    /** Set every page's bit; bits past {@link #pageCount()} stay clear. */
    public void setAll()
    {
        java.util.Arrays.fill(words, -1L);
        final int tail = (int)(pageCount & 63);
        if (tail != 0)
        {
            words[words.length - 1] = (1L << tail) - 1;
        }
    }

    /** Clear every bit. */
    public void clearAll()
    {
        java.util.Arrays.fill(words, 0L);
    }

    /**
     * Set a run of pages.
     *
     * @param firstPageIndex first page.
     * @param count          pages.
     * @return bits that were clear before.
     */
    public long setRange(final long firstPageIndex, final long count)
    {
        long newlySet = 0;
        long pageIndex = firstPageIndex;
        final long end = firstPageIndex + count;
        while (pageIndex < end)
        {
            final int w = (int)(pageIndex >>> 6);
            final int bit = (int)(pageIndex & 63);
            final int n = (int)Math.min(64 - bit, end - pageIndex);
            final long mask = n == 64 ? -1L : ((1L << n) - 1) << bit;
            final long old = words[w];
            newlySet += Long.bitCount(mask & ~old);
            words[w] = old | mask;
            pageIndex += n;
        }
        return newlySet;
    }

    /** @return the number of set bits. */
    public long cardinality()
    {
        long count = 0;
        for (final long word : words)
        {
            count += Long.bitCount(word);
        }
        return count;
    }

    /**
     * Find the first set page at or after {@code fromPageIndex}, clear it and return it.
     *
     * @param fromPageIndex where to start looking.
     * @return the page index, or -1 if none is set from there on.
     */
    public long takeNext(final long fromPageIndex)
    {
        if (fromPageIndex >= pageCount || fromPageIndex < 0)
        {
            return -1;
        }
        int w = (int)(fromPageIndex >>> 6);
        long word = words[w] & (-1L << fromPageIndex);
        while (word == 0)
        {
            if (++w == words.length)
            {
                return -1;
            }
            word = words[w];
        }
        final int bit = Long.numberOfTrailingZeros(word);
        words[w] &= ~(1L << bit);
        return ((long)w << 6) + bit;
    }

    /**
     * Find the first set page in {@code [fromPageIndex, toPageIndex)}, clear it and return it.
     *
     * @param fromPageIndex where to start looking.
     * @param toPageIndex   where to stop looking (exclusive); clamped to {@link #pageCount()}.
     * @return the page index, or -1 if none is set in the range.
     */
    public long takeNext(final long fromPageIndex, final long toPageIndex)
    {
        final long end = Math.min(toPageIndex, pageCount);
        if (fromPageIndex >= end || fromPageIndex < 0)
        {
            return -1;
        }
        int w = (int)(fromPageIndex >>> 6);
        final int lastWord = (int)((end - 1) >>> 6);
        long word = words[w] & (-1L << fromPageIndex);
        while (word == 0)
        {
            if (++w > lastWord)
            {
                return -1;
            }
            word = words[w];
        }
        final int bit = Long.numberOfTrailingZeros(word);
        final long pageIndex = ((long)w << 6) + bit;
        if (pageIndex >= end)
        {
            return -1;
        }
        words[w] &= ~(1L << bit);
        return pageIndex;
    }

    /**
     * Copy another bitmap's bits into this one.
     *
     * @param other of the same size.
     */
    public void copyFrom(final PageBitmap other)
    {
        if (other.pageCount != pageCount)
        {
            throw new IllegalArgumentException("page counts differ: " + pageCount + " vs " + other.pageCount);
        }
        System.arraycopy(other.words, 0, words, 0, words.length);
    }

    /**
     * Exchange contents with another bitmap of the same size, without copying.
     *
     * @param other bitmap.
     */
    public void swap(final PageBitmap other)
    {
        if (other.pageCount != pageCount)
        {
            throw new IllegalArgumentException("page counts differ: " + pageCount + " vs " + other.pageCount);
        }
        final long[] tmp = words;
        words = other.words;
        other.words = tmp;
    }
}
