package io.pagestream.protocol;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * ZERO_RUN, source to target: pages {@code [firstPageIndex, firstPageIndex + pageCount)} are all zero.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                     First Page Index (64)                   ...
 *  +---------------------------------------------------------------+
 *  |                        Page Count (64)                      ...
 *  +---------------------------------------------------------------+
 *  |                            Round                              |
 *  +---------------------------------------------------------------+
 *  |                           Reserved                            |
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class ZeroRunFlyweight extends FrameFlyweight
{
    /** Offset of the first page index. */
    public static final int FIRST_PAGE_INDEX_OFFSET = HEADER_LENGTH;
    /** Offset of the page count. */
    public static final int PAGE_COUNT_OFFSET = FIRST_PAGE_INDEX_OFFSET + 8;
    /** Offset of the round. */
    public static final int ROUND_OFFSET = PAGE_COUNT_OFFSET + 8;
    /** Frame length. */
    public static final int LENGTH = ROUND_OFFSET + 8;

    /**
     * @param v first page index.
     * @return this.
     */
    public ZeroRunFlyweight firstPageIndex(final long v)
    {
        buffer.putLong(offset + FIRST_PAGE_INDEX_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return first page index. */
    public long firstPageIndex()
    {
        return buffer.getLong(offset + FIRST_PAGE_INDEX_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v pages in the run.
     * @return this.
     */
    public ZeroRunFlyweight pageCount(final long v)
    {
        buffer.putLong(offset + PAGE_COUNT_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return pages in the run. */
    public long pageCount()
    {
        return buffer.getLong(offset + PAGE_COUNT_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v round; the reserved word is cleared.
     * @return this.
     */
    public ZeroRunFlyweight round(final int v)
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
     * @param receivedLength bytes that arrived.
     * @param guestPages     pages in guest memory.
     */
    public void validate(final int receivedLength, final long guestPages)
    {
        requireLength(receivedLength, LENGTH, true);
        final long first = firstPageIndex();
        final long count = pageCount();
        if (first < 0 || first >= guestPages)
        {
            throw new MigrationException(ErrorCode.PAGE_INDEX_OUT_OF_RANGE,
                "firstPageIndex=" + first + " in ZERO_RUN frame outside guest memory of " + guestPages + " pages");
        }
        if (count <= 0)
        {
            throw badField("pageCount", count, "must be positive");
        }
        if (count > guestPages - first)
        {
            throw new MigrationException(ErrorCode.PAGE_INDEX_OUT_OF_RANGE,
                "pageCount=" + count + " in ZERO_RUN frame from page " + first + " runs past guest memory of " +
                guestPages + " pages");
        }
    }
}
