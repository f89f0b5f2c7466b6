package io.pagestream.protocol;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * DEVICE_STATE, source to target: one chunk of the device state; chunks arrive in order.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                Total Device State Length                      |
 *  +---------------------------------------------------------------+
 *  |                        Chunk Offset                           |
 *  +---------------------------------------------------------------+
 *  |                        Chunk Length                           |
 *  +---------------------------------------------------------------+
 *  |                          Reserved                             |
 *  +---------------------------------------------------------------+
 *  |                          Chunk Data                         ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class DeviceStateFlyweight extends FrameFlyweight
{
    /** Offset of the total length. */
    public static final int TOTAL_LENGTH_OFFSET = HEADER_LENGTH;
    /** Offset of the chunk offset. */
    public static final int CHUNK_OFFSET_OFFSET = TOTAL_LENGTH_OFFSET + 4;
    /** Offset of the chunk length. */
    public static final int CHUNK_LENGTH_OFFSET = CHUNK_OFFSET_OFFSET + 4;
    /** Offset of the data; also the header length of this frame. */
    public static final int DATA_OFFSET = CHUNK_LENGTH_OFFSET + 8;

    /**
     * @param v total device state length.
     * @return this.
     */
    public DeviceStateFlyweight totalLength(final int v)
    {
        buffer.putInt(offset + TOTAL_LENGTH_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return total device state length. */
    public int totalLength()
    {
        return buffer.getInt(offset + TOTAL_LENGTH_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v chunk offset.
     * @return this.
     */
    public DeviceStateFlyweight chunkOffset(final int v)
    {
        buffer.putInt(offset + CHUNK_OFFSET_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return chunk offset. */
    public int chunkOffset()
    {
        return buffer.getInt(offset + CHUNK_OFFSET_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v chunk length; the reserved word is cleared.
     * @return this.
     */
    public DeviceStateFlyweight chunkLength(final int v)
    {
        buffer.putInt(offset + CHUNK_LENGTH_OFFSET, v, LITTLE_ENDIAN);
        buffer.putInt(offset + CHUNK_LENGTH_OFFSET + 4, 0, LITTLE_ENDIAN);
        return this;
    }

    /** @return chunk length. */
    public int chunkLength()
    {
        return buffer.getInt(offset + CHUNK_LENGTH_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param receivedLength bytes that arrived.
     * @param maxTotalLength largest device state accepted.
     * @param expectedOffset where the next chunk must start.
     */
    public void validate(final int receivedLength, final int maxTotalLength, final int expectedOffset)
    {
        requireLength(receivedLength, DATA_OFFSET, false);
        final int total = totalLength();
        final int chunkOffset = chunkOffset();
        final int chunkLength = chunkLength();
        if (total < 0 || total > maxTotalLength)
        {
            throw new io.pagestream.api.MigrationException(io.pagestream.api.ErrorCode.DEVICE_STATE_FAILED,
                "totalLength=" + total + " in DEVICE_STATE frame exceeds maxDeviceStateBytes " + maxTotalLength);
        }
        if (chunkLength != receivedLength - DATA_OFFSET)
        {
            throw badField("chunkLength", chunkLength, "frame carries " + (receivedLength - DATA_OFFSET) + " bytes");
        }
        if (chunkOffset != expectedOffset)
        {
            throw badField("chunkOffset", chunkOffset, "expected " + expectedOffset);
        }
        if (chunkLength > total - chunkOffset)
        {
            throw badField("chunkLength", chunkLength,
                "runs past totalLength " + total + " from chunkOffset " + chunkOffset);
        }
    }
}
