package io.pagestream.protocol;

import org.agrona.MutableDirectBuffer;

/**
 * Writes a page bitmap as PENDING_MAP or MISSING_MAP chunks, skipping all-zero stretches, one frame at a time so the
 * caller can stop on back-pressure and resume: {@link #prepare} writes the next chunk into a scratch buffer,
 * {@link #onSent()} moves past it once it went out. Threading: single writer. No allocation.
 */
public final class PageMapWriter
{
    private final PageMapFlyweight flyweight = new PageMapFlyweight();
    private long[] words;
    private int nextWord;
    private int preparedNextWord;
    private boolean preparedLast;

    /**
     * Start writing a map.
     *
     * @param bitmapWords the map, 64 pages per word; must not change until the last chunk is sent.
     */
    public void start(final long[] bitmapWords)
    {
        words = bitmapWords;
        nextWord = 0;
    }

    /**
     * Write the next chunk, from the first non-zero word onwards, as a frame at the start of {@code scratch}.
     *
     * @param scratch        to write into, at least {@code maxFrameLength} long.
     * @param type           {@link FrameType#PENDING_MAP} or {@link FrameType#MISSING_MAP}.
     * @param sessionId      migration id.
     * @param maxFrameLength largest frame the stream carries.
     * @return the frame's length.
     */
    public int prepare(final MutableDirectBuffer scratch, final int type, final long sessionId, final int maxFrameLength)
    {
        final int totalWords = words.length;
        int w = nextWord;
        while (w < totalWords && words[w] == 0)
        {
            w++;
        }
        final int count = Math.min(PageMapFlyweight.maxWords(maxFrameLength), totalWords - w);
        final int length = PageMapFlyweight.frameLength(count);
        preparedLast = w + count >= totalWords;
        preparedNextWord = w + count;
        flyweight.wrap(scratch, 0);
        flyweight.writeHeader(type, length, sessionId);
        flyweight.chunk(w, count, totalWords, preparedLast);
        for (int i = 0; i < count; i++)
        {
            flyweight.word(i, words[w + i]);
        }
        return length;
    }

    /**
     * The prepared chunk went out.
     *
     * @return true if it was the last one.
     */
    public boolean onSent()
    {
        nextWord = preparedNextWord;
        return preparedLast;
    }
}
