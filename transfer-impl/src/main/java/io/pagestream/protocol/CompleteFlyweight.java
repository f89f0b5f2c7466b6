package io.pagestream.protocol;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * COMPLETE, target to source: every page and the device state arrived and verified; the target may resume.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                   Pages Received (64)                       ...
 *  +---------------------------------------------------------------+
 *  |                Page Frames Received (64)                    ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class CompleteFlyweight extends FrameFlyweight
{
    /** Offset of the pages received. */
    public static final int PAGES_RECEIVED_OFFSET = HEADER_LENGTH;
    /** Offset of the page frames received. */
    public static final int PAGE_FRAMES_RECEIVED_OFFSET = PAGES_RECEIVED_OFFSET + 8;
    /** Frame length. */
    public static final int LENGTH = PAGE_FRAMES_RECEIVED_OFFSET + 8;

    /** @param v distinct pages received. @return this. */
    public CompleteFlyweight pagesReceived(final long v)
    {
        buffer.putLong(offset + PAGES_RECEIVED_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return distinct pages received. */
    public long pagesReceived()
    {
        return buffer.getLong(offset + PAGES_RECEIVED_OFFSET, LITTLE_ENDIAN);
    }

    /** @param v page frames received. @return this. */
    public CompleteFlyweight pageFramesReceived(final long v)
    {
        buffer.putLong(offset + PAGE_FRAMES_RECEIVED_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return page frames received. */
    public long pageFramesReceived()
    {
        return buffer.getLong(offset + PAGE_FRAMES_RECEIVED_OFFSET, LITTLE_ENDIAN);
    }

    /** @param receivedLength bytes that arrived. */
    public void validate(final int receivedLength)
    {
        requireLength(receivedLength, LENGTH, true);
    }
}
