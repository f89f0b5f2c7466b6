package io.pagestream.protocol;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * SWITCHOVER, source to target: every page and the device state have been sent; final figures to check.
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
 *  |                          Reserved                             |
 *  +---------------------------------------------------------------+
 *  |              Total Page Frames sent (64)                    ...
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
    /** Offset of the total page frames. */
    public static final int TOTAL_PAGE_FRAMES_OFFSET = DEVICE_STATE_CHECKSUM_OFFSET + 8;
    /** Frame length. */
    public static final int LENGTH = TOTAL_PAGE_FRAMES_OFFSET + 8;

    /** @param v final round. @return this. */
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

    /** @param v device state length. @return this. */
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

    /** @param v CRC32C of the device state; the reserved word is cleared. @return this. */
    public SwitchoverFlyweight deviceStateChecksum(final int v)
    {
        buffer.putInt(offset + DEVICE_STATE_CHECKSUM_OFFSET, v, LITTLE_ENDIAN);
        buffer.putInt(offset + DEVICE_STATE_CHECKSUM_OFFSET + 4, 0, LITTLE_ENDIAN);
        return this;
    }

    /** @return CRC32C of the device state. */
    public int deviceStateChecksum()
    {
        return buffer.getInt(offset + DEVICE_STATE_CHECKSUM_OFFSET, LITTLE_ENDIAN);
    }

    /** @param v page frames sent in the whole migration. @return this. */
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
    }
}
