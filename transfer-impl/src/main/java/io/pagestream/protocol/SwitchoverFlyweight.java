package io.pagestream.protocol;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * SWITCHOVER, source to target: the device state has been sent; final figures to check. Mode 0 (stop-and-copy):
 * every page has been sent too. Mode 1 (post-copy): the pages of the PENDING_MAP frames before it are still to come,
 * {@code Pending Pages} of them, and the target may run the guest now.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                         Final Round                           |
 *  +---------------------------------------------------------------+
 *  |                  Device State Length                          |
 *  +---------------------------------------------------------------+
 *  |                 Device State CRC32C                           |
 *  +---------------------------------------------------------------+
 *  |                            Mode                               |
 *  +---------------------------------------------------------------+
 *  |              Total Page Frames sent (64)                    ...
 *  +---------------------------------------------------------------+
 *  |                    Pending Pages (64)                       ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class SwitchoverFlyweight extends FrameFlyweight
{
    /** Offset of the final round. */
    public static final int FINAL_ROUND_OFFSET = HEADER_LENGTH;
    /** Offset of the device state length. */
    public static final int DEVICE_STATE_LENGTH_OFFSET = FINAL_ROUND_OFFSET + 4;
    /** Offset of the device state checksum. */
    public static final int DEVICE_STATE_CHECKSUM_OFFSET = DEVICE_STATE_LENGTH_OFFSET + 4;
    /** Offset of the mode. */
    public static final int MODE_OFFSET = DEVICE_STATE_CHECKSUM_OFFSET + 4;
    /** Offset of the total page frames. */
    public static final int TOTAL_PAGE_FRAMES_OFFSET = DEVICE_STATE_CHECKSUM_OFFSET + 8;
    /** Offset of the pending pages. */
    public static final int PENDING_PAGES_OFFSET = TOTAL_PAGE_FRAMES_OFFSET + 8;
    /** Frame length. */
    public static final int LENGTH = PENDING_PAGES_OFFSET + 8;
    /** Mode: every page sent, the target completes. */
    public static final int MODE_STOP_AND_COPY = 0;
    /** Mode: the target runs now and receives the pending pages afterwards. */
    public static final int MODE_POSTCOPY = 1;

    /**
     * @param v final round.
     * @return this.
     */
    public SwitchoverFlyweight finalRound(final int v)
    {
        buffer.putInt(offset + FINAL_ROUND_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return final round. */
    public int finalRound()
    {
        return buffer.getInt(offset + FINAL_ROUND_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v device state length.
     * @return this.
     */
    public SwitchoverFlyweight deviceStateLength(final int v)
    {
        buffer.putInt(offset + DEVICE_STATE_LENGTH_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return device state length. */
    public int deviceStateLength()
    {
        return buffer.getInt(offset + DEVICE_STATE_LENGTH_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v CRC32C of the device state.
     * @return this.
     */
    public SwitchoverFlyweight deviceStateChecksum(final int v)
    {
        buffer.putInt(offset + DEVICE_STATE_CHECKSUM_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /**
     * @param v {@link #MODE_STOP_AND_COPY} or {@link #MODE_POSTCOPY}.
     * @return this.
     */
    public SwitchoverFlyweight mode(final int v)
    {
        buffer.putInt(offset + MODE_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return the mode. */
    public int mode()
    {
        return buffer.getInt(offset + MODE_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v pages still to come in post-copy, 0 for stop-and-copy.
     * @return this.
     */
    public SwitchoverFlyweight pendingPages(final long v)
    {
        buffer.putLong(offset + PENDING_PAGES_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return pages still to come in post-copy. */
    public long pendingPages()
    {
        return buffer.getLong(offset + PENDING_PAGES_OFFSET, LITTLE_ENDIAN);
    }

    /** @return CRC32C of the device state. */
    public int deviceStateChecksum()
    {
        return buffer.getInt(offset + DEVICE_STATE_CHECKSUM_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v page frames sent in the whole migration.
     * @return this.
     */
    public SwitchoverFlyweight totalPageFrames(final long v)
    {
        buffer.putLong(offset + TOTAL_PAGE_FRAMES_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return page frames sent in the whole migration. */
    public long totalPageFrames()
    {
        return buffer.getLong(offset + TOTAL_PAGE_FRAMES_OFFSET, LITTLE_ENDIAN);
    }

    /** @param receivedLength bytes that arrived. */
    public void validate(final int receivedLength)
    {
        requireLength(receivedLength, LENGTH, true);
        if (mode() != MODE_STOP_AND_COPY && mode() != MODE_POSTCOPY)
        {
            throw new io.pagestream.api.MigrationException(io.pagestream.api.ErrorCode.PROTOCOL_VIOLATION,
                "mode=" + mode() + " in SWITCHOVER frame, expected 0 (stop-and-copy) or 1 (post-copy)");
        }
        if (pendingPages() < 0 || (mode() == MODE_STOP_AND_COPY && pendingPages() != 0))
        {
            throw badField("pendingPages", pendingPages(), "must be 0 for stop-and-copy and never negative");
        }
    }
}
