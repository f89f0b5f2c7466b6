package io.pagestream.protocol;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * PENDING_MAP (source to target) and MISSING_MAP (target to source): one chunk of a page bitmap, 64 pages per word,
 * bit {@code i} of word {@code w} standing for page {@code 64w + i}. Chunks go in increasing word order; words not in
 * any chunk are all clear (all-zero stretches are skipped); the chunk with {@code Last} set ends the map and may be
 * empty. PENDING_MAP names the pages whose newer version the target must wait for after a post-copy switchover;
 * MISSING_MAP names the pages a target still lacks when post-copy resumes on a new session.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                      First Word Index                         |
 *  +---------------------------------------------------------------+
 *  |                         Word Count                            |
 *  +---------------------------------------------------------------+
 *  |                     Total Words in Map                        |
 *  +---------------------------------------------------------------+
 *  |                            Last                               |
 *  +---------------------------------------------------------------+
 *  |                  Words (64 each, Word Count)                ...
 * ...                                                              |
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class PageMapFlyweight extends FrameFlyweight
{
    /** Offset of the first word index. */
    public static final int FIRST_WORD_OFFSET = HEADER_LENGTH;
    /** Offset of the word count. */
    public static final int WORD_COUNT_OFFSET = FIRST_WORD_OFFSET + 4;
    /** Offset of the total words. */
    public static final int TOTAL_WORDS_OFFSET = WORD_COUNT_OFFSET + 4;
    /** Offset of the last flag. */
    public static final int LAST_OFFSET = TOTAL_WORDS_OFFSET + 4;
    /** Offset of the words. */
    public static final int WORDS_OFFSET = LAST_OFFSET + 4;

    /**
     * @param maxFrameLength largest frame the stream carries.
     * @return words that fit one frame.
     */
    public static int maxWords(final int maxFrameLength)
    {
        return (maxFrameLength - WORDS_OFFSET) >>> 3;
    }

    /**
     * @param firstWord index of the first word.
     * @param wordCount words in this chunk.
     * @param totalWords words in the whole map.
     * @param last      true for the final chunk.
     * @return this.
     */
    public PageMapFlyweight chunk(final int firstWord, final int wordCount, final int totalWords, final boolean last)
    {
        buffer.putInt(offset + FIRST_WORD_OFFSET, firstWord, LITTLE_ENDIAN);
        buffer.putInt(offset + WORD_COUNT_OFFSET, wordCount, LITTLE_ENDIAN);
        buffer.putInt(offset + TOTAL_WORDS_OFFSET, totalWords, LITTLE_ENDIAN);
        buffer.putInt(offset + LAST_OFFSET, last ? 1 : 0, LITTLE_ENDIAN);
        return this;
    }

    /** @return index of the first word. */
    public int firstWord()
    {
        return buffer.getInt(offset + FIRST_WORD_OFFSET, LITTLE_ENDIAN);
    }

    /** @return words in this chunk. */
    public int wordCount()
    {
        return buffer.getInt(offset + WORD_COUNT_OFFSET, LITTLE_ENDIAN);
    }

    /** @return words in the whole map. */
    public int totalWords()
    {
        return buffer.getInt(offset + TOTAL_WORDS_OFFSET, LITTLE_ENDIAN);
    }

    /** @return true for the final chunk. */
    public boolean isLast()
    {
        return buffer.getInt(offset + LAST_OFFSET, LITTLE_ENDIAN) == 1;
    }

    /**
     * @param index of a word in this chunk, from 0.
     * @param value its bits.
     * @return this.
     */
    public PageMapFlyweight word(final int index, final long value)
    {
        buffer.putLong(offset + WORDS_OFFSET + (index << 3), value, LITTLE_ENDIAN);
        return this;
    }

    /**
     * @param index of a word in this chunk, from 0.
     * @return its bits.
     */
    public long word(final int index)
    {
        return buffer.getLong(offset + WORDS_OFFSET + (index << 3), LITTLE_ENDIAN);
    }

    /**
     * @param wordCount words in the chunk.
     * @return frame length.
     */
    public static int frameLength(final int wordCount)
    {
        return WORDS_OFFSET + (wordCount << 3);
    }

    /**
     * @param receivedLength bytes that arrived.
     * @param guestPages     pages in guest memory.
     * @param nextWord       the first word this chunk may start at (chunks go in increasing order).
     */
    public void validate(final int receivedLength, final long guestPages, final int nextWord)
    {
        requireLength(receivedLength, WORDS_OFFSET, false);
        final String name = FrameType.name(type());
        final int expectedWords = (int)((guestPages + 63) >>> 6);
        if (totalWords() != expectedWords)
        {
            throw new MigrationException(ErrorCode.LAYOUT_MISMATCH, "totalWords=" + totalWords() + " in " + name +
                " frame, guest memory of " + guestPages + " pages needs " + expectedWords);
        }
        final int first = firstWord();
        final int count = wordCount();
        if (count < 0 || receivedLength != frameLength(count))
        {
            throw badField("wordCount", count, "frame of " + receivedLength + " bytes carries " +
                ((receivedLength - WORDS_OFFSET) / 8.0) + " words");
        }
        if (first < nextWord || first > expectedWords - count)
        {
            throw badField("firstWord", first, "chunk of " + count + " words must lie in [" + nextWord + ", " +
                expectedWords + ") after the previous chunk");
        }
        final int tailBits = (int)(guestPages & 63);
        if (count > 0 && first + count == expectedWords && tailBits != 0 && (word(count - 1) >>> tailBits) != 0)
        {
            throw new MigrationException(ErrorCode.PAGE_INDEX_OUT_OF_RANGE, "word " + (count - 1) + "=0x" +
                Long.toHexString(word(count - 1)) + " in " + name + " frame sets bits past the last page " +
                (guestPages - 1));
        }
        final int last = buffer.getInt(offset + LAST_OFFSET, LITTLE_ENDIAN);
        if (last != 0 && last != 1)
        {
            throw badField("last", last, "must be 0 or 1");
        }
    }
}
