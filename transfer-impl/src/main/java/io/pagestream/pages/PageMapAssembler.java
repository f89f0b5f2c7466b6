package io.pagestream.pages;

import io.pagestream.protocol.PageMapFlyweight;
import org.agrona.DirectBuffer;

/**
 * Rebuilds a page bitmap from PENDING_MAP or MISSING_MAP chunks, checking each chunk before a word of it is used:
 * chunks in order, inside the bitmap, with the total the first chunk announced (see
 * {@link PageMapFlyweight#validate}). Threading: single writer. No allocation.
 */
public final class PageMapAssembler
{
    private final PageMapFlyweight flyweight = new PageMapFlyweight();
    private PageBitmap bitmap;
    private int nextWord;
    private boolean complete;

    /**
     * Start a new map: the bitmap is cleared and filled as chunks arrive.
     *
     * @param into the bitmap to fill.
     */
    public void start(final PageBitmap into)
    {
        bitmap = into;
        bitmap.clearAll();
        nextWord = 0;
        complete = false;
    }

    /** @return true once a map was started and its last chunk applied. */
    public boolean isComplete()
    {
        return complete;
    }

    /** @return true if a map was started and is not complete. */
    public boolean isAssembling()
    {
        return null != bitmap && !complete;
    }

    /**
     * Check and apply one chunk.
     *
     * @param buffer holding the frame.
     * @param offset of the frame.
     * @param length of the frame.
     * @return true if this was the last chunk.
     * @throws io.pagestream.api.MigrationException naming the field when the chunk is malformed or out of order.
     */
    public boolean onChunk(final DirectBuffer buffer, final int offset, final int length)
    {
        flyweight.wrapForRead(buffer, offset);
        flyweight.validate(length, bitmap.pageCount(), nextWord);
        final long[] words = bitmap.words();
        final int first = flyweight.firstWord();
        final int count = flyweight.wordCount();
        for (int i = 0; i < count; i++)
        {
            words[first + i] = flyweight.word(i);
        }
        nextWord = first + count;
        complete = flyweight.isLast();
        return complete;
    }
}
