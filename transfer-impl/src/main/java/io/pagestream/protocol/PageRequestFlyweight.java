package io.pagestream.protocol;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * PAGE_REQUEST, target to source on the control stream, post-copy only: the target's guest faulted on a page it
 * lacks; the source answers on the urgent lane.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                        Page Index (64)                      ...
 *  +---------------------------------------------------------------+
 *  |                   Fault Timestamp ns (64)                   ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class PageRequestFlyweight extends FrameFlyweight
{
    /** Offset of the page index. */
    public static final int PAGE_INDEX_OFFSET = HEADER_LENGTH;
    /** Offset of the fault timestamp. */
    public static final int TIMESTAMP_OFFSET = PAGE_INDEX_OFFSET + 8;
    /** Frame length. */
    public static final int LENGTH = TIMESTAMP_OFFSET + 8;

    /**
     * @param v page index.
     * @return this.
     */
    public PageRequestFlyweight pageIndex(final long v)
    {
        buffer.putLong(offset + PAGE_INDEX_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return page index. */
    public long pageIndex()
    {
        return buffer.getLong(offset + PAGE_INDEX_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v when the fault began, target's clock.
     * @return this.
     */
    public PageRequestFlyweight timestampNs(final long v)
    {
        buffer.putLong(offset + TIMESTAMP_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return when the fault began, target's clock. */
    public long timestampNs()
    {
        return buffer.getLong(offset + TIMESTAMP_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param receivedLength bytes that arrived.
     * @param guestPages     pages in guest memory.
     */
    public void validate(final int receivedLength, final long guestPages)
    {
        requireLength(receivedLength, LENGTH, true);
        final long pageIndex = pageIndex();
        if (pageIndex < 0 || pageIndex >= guestPages)
        {
            throw new MigrationException(ErrorCode.PAGE_INDEX_OUT_OF_RANGE,
                "pageIndex=" + pageIndex + " in PAGE_REQUEST frame outside guest memory of " + guestPages + " pages");
        }
    }
}
