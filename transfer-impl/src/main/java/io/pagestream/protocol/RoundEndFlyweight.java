package io.pagestream.protocol;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * ROUND_END, source to target: a round finished. The target checks the counts against what it received.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                            Round                              |
 *  +---------------------------------------------------------------+
 *  |                           Reserved                            |
 *  +---------------------------------------------------------------+
 *  |                Page Frames sent in the round (64)           ...
 *  +---------------------------------------------------------------+
 *  |          Pages covered in the round, zero runs included (64)  ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class RoundEndFlyweight extends FrameFlyweight
{
    /** Offset of the round. */
    public static final int ROUND_OFFSET = HEADER_LENGTH;
    /** Offset of the page frame count. */
    public static final int PAGE_FRAMES_OFFSET = ROUND_OFFSET + 8;
    /** Offset of the page count. */
    public static final int PAGES_OFFSET = PAGE_FRAMES_OFFSET + 8;
    /** Frame length. */
    public static final int LENGTH = PAGES_OFFSET + 8;

    /**
     * @param v round; the reserved word is cleared.
     * @return this.
     */
    public RoundEndFlyweight round(final int v)
    {
        buffer.putInt(offset + ROUND_OFFSET, v, LITTLE_ENDIAN);
        buffer.putInt(offset + ROUND_OFFSET + 4, 0, LITTLE_ENDIAN);
        return this;
    }

    /** @return round. */
    public int round()
    {
        return buffer.getInt(offset + ROUND_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v page frames sent in the round.
     * @return this.
     */
    public RoundEndFlyweight pageFrames(final long v)
    {
        buffer.putLong(offset + PAGE_FRAMES_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return page frames sent in the round. */
    public long pageFrames()
    {
        return buffer.getLong(offset + PAGE_FRAMES_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v pages covered in the round.
     * @return this.
     */
    public RoundEndFlyweight pages(final long v)
    {
        buffer.putLong(offset + PAGES_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return pages covered in the round. */
    public long pages()
    {
        return buffer.getLong(offset + PAGES_OFFSET, LITTLE_ENDIAN);
    }

    /** @param receivedLength bytes that arrived. */
    public void validate(final int receivedLength)
    {
        requireLength(receivedLength, LENGTH, true);
    }
}
