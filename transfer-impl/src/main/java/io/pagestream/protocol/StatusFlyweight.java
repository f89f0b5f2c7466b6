package io.pagestream.protocol;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * STATUS, either way: heartbeat. The target reports how many pages it has applied.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                   Pages Applied (64)                        ...
 *  +---------------------------------------------------------------+
 *  |                  Sender Timestamp ns (64)                   ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class StatusFlyweight extends FrameFlyweight
{
    /** Offset of the pages applied. */
    public static final int PAGES_APPLIED_OFFSET = HEADER_LENGTH;
    /** Offset of the timestamp. */
    public static final int TIMESTAMP_OFFSET = PAGES_APPLIED_OFFSET + 8;
    /** Frame length. */
    public static final int LENGTH = TIMESTAMP_OFFSET + 8;

    /**
     * @param v pages applied.
     * @return this.
     */
    public StatusFlyweight pagesApplied(final long v)
    {
        buffer.putLong(offset + PAGES_APPLIED_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return pages applied. */
    public long pagesApplied()
    {
        return buffer.getLong(offset + PAGES_APPLIED_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v sender's timestamp.
     * @return this.
     */
    public StatusFlyweight timestampNs(final long v)
    {
        buffer.putLong(offset + TIMESTAMP_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return sender's timestamp. */
    public long timestampNs()
    {
        return buffer.getLong(offset + TIMESTAMP_OFFSET, LITTLE_ENDIAN);
    }

    /** @param receivedLength bytes that arrived. */
    public void validate(final int receivedLength)
    {
        requireLength(receivedLength, LENGTH, true);
    }
}
