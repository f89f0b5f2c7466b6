package io.pagestream.synthetic;

/**
 * One synthetic vCPU's random choices: which page it writes next, shaped by the {@link Workload}, and the raw
 * xorshift64 numbers that pick the words and values it writes there.
 * <p>
 * Threading: owned by one vCPU thread. No allocation.
 */
final class PagePicker
{
    private final Workload workload;
    private final double hotsetFraction;
    private final double hotWriteShare;
    private long rng;
    private long sequentialCursor;

    /**
     * @param workload       which pages are written.
     * @param hotsetFraction the share of pages in the hot set (HOTSET).
     * @param hotWriteShare  the share of writes that hit the hot set (HOTSET).
     * @param seed           the random seed; made odd, as xorshift needs a non-zero state.
     * @param startPageIndex the first page a SEQUENTIAL walk writes.
     */
    PagePicker(
        final Workload workload,
        final double hotsetFraction,
        final double hotWriteShare,
        final long seed,
        final long startPageIndex)
    {
        this.workload = workload;
        this.hotsetFraction = hotsetFraction;
        this.hotWriteShare = hotWriteShare;
        this.rng = seed | 1;
        this.sequentialCursor = startPageIndex;
    }

    /** @return the next xorshift64 number. */
    long next()
    {
        long x = rng;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        rng = x;
        return x;
    }

    /**
     * @param pageCount pages of guest memory.
     * @return the index of the page to write next.
     */
    long pickPage(final long pageCount)
    {
        switch (workload)
        {
            case HOTSET:
            {
                final long hotPages = Math.max(1, (long)(pageCount * hotsetFraction));
                final long r = next();
                if ((r >>> 11) * 0x1.0p-53 < hotWriteShare)
                {
                    return Long.remainderUnsigned(next(), hotPages);
                }
                return Long.remainderUnsigned(next(), pageCount);
            }
            case SEQUENTIAL:
            {
                final long p = sequentialCursor;
                sequentialCursor = p + 1 == pageCount ? 0 : p + 1;
                return p;
            }
            case UNIFORM:
            default:
                return Long.remainderUnsigned(next(), pageCount);
        }
    }
}
