package io.pagestream.kernel;

/**
 * Runs of bits in {@code long[]} bitmaps: bit {@code i % 64} of word {@code i / 64} is bit {@code i}. A word at a
 * time, never a bit at a time. Threading: stateless; the caller owns the array.
 */
final class Bitmaps
{
    private Bitmaps()
    {
    }

    /**
     * Set bits {@code [fromBit, toBit)}.
     *
     * @return how many of them were clear before.
     */
    static long setRange(final long[] bitmap, final long fromBit, final long toBit)
    {
        if (fromBit >= toBit)
        {
            return 0;
        }
        final int firstWord = (int)(fromBit >>> 6);
        final int lastWord = (int)((toBit - 1) >>> 6);
        final long firstMask = -1L << fromBit;
        final long lastMask = -1L >>> -toBit;
        long newlySet = 0;
        if (firstWord == lastWord)
        {
            final long mask = firstMask & lastMask;
            newlySet += Long.bitCount(mask & ~bitmap[firstWord]);
            bitmap[firstWord] |= mask;
            return newlySet;
        }
        newlySet += Long.bitCount(firstMask & ~bitmap[firstWord]);
        bitmap[firstWord] |= firstMask;
        for (int w = firstWord + 1; w < lastWord; w++)
        {
            newlySet += Long.bitCount(~bitmap[w]);
            bitmap[w] = -1L;
        }
        newlySet += Long.bitCount(lastMask & ~bitmap[lastWord]);
        bitmap[lastWord] |= lastMask;
        return newlySet;
    }

    /**
     * Clear bits {@code [0, toBit)}, leaving the rest of the last word alone.
     */
    static void clearPrefix(final long[] bitmap, final long toBit)
    {
        if (toBit <= 0)
        {
            return;
        }
        final int lastWord = (int)((toBit - 1) >>> 6);
        for (int w = 0; w < lastWord; w++)
        {
            bitmap[w] = 0;
        }
        bitmap[lastWord] &= ~(-1L >>> -toBit);
    }

    /**
     * @return the number of set bits in {@code [0, toBit)}.
     */
    static long countPrefix(final long[] bitmap, final long toBit)
    {
        if (toBit <= 0)
        {
            return 0;
        }
        final int lastWord = (int)((toBit - 1) >>> 6);
        long count = 0;
        for (int w = 0; w < lastWord; w++)
        {
            count += Long.bitCount(bitmap[w]);
        }
        return count + Long.bitCount(bitmap[lastWord] & (-1L >>> -toBit));
    }
}
