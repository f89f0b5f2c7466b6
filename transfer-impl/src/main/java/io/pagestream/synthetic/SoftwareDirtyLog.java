package io.pagestream.synthetic;

import io.pagestream.api.guest.DirtyPageLog;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A dirty log kept in software: writers call {@link #markDirty(long)} after writing a page; the source fetches and
 * clears with {@link #fetchAndClear(long[])}. Marking after the write and fetching with an atomic swap before reading
 * means any write a fetch misses is reported by the next one.
 * <p>
 * Threading: any number of writers concurrently with one fetcher.
 */
public final class SoftwareDirtyLog implements DirtyPageLog
{
    private static final VarHandle WORDS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] words;
    private final long pageCount;
    private volatile boolean tracking;

    /**
     * @param pageCount pages of the guest.
     */
    public SoftwareDirtyLog(final long pageCount)
    {
        this.pageCount = pageCount;
        this.words = new long[(int)((pageCount + 63) >>> 6)];
    }

    /**
     * Record a write. Call after the write completes. Cheap when tracking is off.
     *
     * @param pageIndex written.
     */
    public void markDirty(final long pageIndex)
    {
        if (tracking)
        {
            WORDS.getAndBitwiseOr(words, (int)(pageIndex >>> 6), 1L << pageIndex);
        }
    }

    /** {@inheritDoc} */
    public void startTracking()
    {
        for (int i = 0; i < words.length; i++)
        {
            WORDS.setVolatile(words, i, 0L);
        }
        tracking = true;
    }

    /** {@inheritDoc} */
    public long fetchAndClear(final long[] bitmap)
    {
        long newlySet = 0;
        for (int i = 0; i < words.length; i++)
        {
            if ((long)WORDS.getVolatile(words, i) != 0)
            {
                final long w = (long)WORDS.getAndSet(words, i, 0L);
                newlySet += Long.bitCount(w & ~bitmap[i]);
                bitmap[i] |= w;
            }
        }
        return newlySet;
    }

    /** {@inheritDoc} */
    public void stopTracking()
    {
        tracking = false;
    }

    /** @return true while tracking. */
    public boolean isTracking()
    {
        return tracking;
    }

    /** @return pages covered. */
    public long pageCount()
    {
        return pageCount;
    }

    /** {@inheritDoc} */
    public String name()
    {
        return "software";
    }
}
