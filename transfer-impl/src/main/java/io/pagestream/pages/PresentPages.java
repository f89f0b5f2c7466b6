package io.pagestream.pages;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Which guest pages hold their current contents on the target, readable from any thread: the target agent writes
 * a page and then sets its bit with release semantics; a vCPU's fault path reads the bit with acquire semantics, so
 * once it sees the bit it also sees the page. Threading: one writer (the target conductor, which also reads every lane)
and any number of readers.
 */
public final class PresentPages
{
    private static final VarHandle WORDS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long pageCount;
    private final long[] words;

    /**
     * @param pageCount pages covered; positive.
     */
    public PresentPages(final long pageCount)
    {
        this.pageCount = pageCount;
        this.words = new long[(int)((pageCount + 63) >>> 6)];
    }

    /** @return pages covered. */
    public long pageCount()
    {
        return pageCount;
    }

    /**
     * Any thread.
     *
     * @param pageIndex in range.
     * @return true if the page is present.
     */
    public boolean get(final long pageIndex)
    {
        return ((long)WORDS.getAcquire(words, (int)(pageIndex >>> 6)) & (1L << pageIndex)) != 0;
    }

    /**
     * Writer only: mark a page present once its contents are in place (release).
     *
     * @param pageIndex in range.
     * @return true if it was not present before.
     */
    public boolean set(final long pageIndex)
    {
        final int w = (int)(pageIndex >>> 6);
        final long mask = 1L << pageIndex;
        final long old = (long)WORDS.getOpaque(words, w);
        if ((old & mask) != 0)
        {
            return false;
        }
        // A release store, not an atomic read-modify-write: on x86 a locked instruction right after a page copy
        // would wait for every store of the copy to reach the cache, measured at about a third of the target's
        // apply time. Hence one writer.
        WORDS.setRelease(words, w, old | mask);
        return true;
    }

    /**
     * Writer only: set one word, e.g. {@code received & ~pending} at a post-copy switchover.
     *
     * @param wordIndex of the word.
     * @param value     its bits.
     */
    public void setWord(final int wordIndex, final long value)
    {
        WORDS.setRelease(words, wordIndex, value);
    }

    /**
     * @param wordIndex of the word.
     * @return its bits (acquire).
     */
    public long word(final int wordIndex)
    {
        return (long)WORDS.getAcquire(words, wordIndex);
    }

    /** @return words in the map. */
    public int wordCount()
    {
        return words.length;
    }
}
