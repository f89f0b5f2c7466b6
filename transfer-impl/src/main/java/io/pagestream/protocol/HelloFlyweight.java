package io.pagestream.protocol;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * HELLO, source to target: the guest's layout and where the target sends its control frames.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                        Page Size                              |
 *  +---------------------------------------------------------------+
 *  |                       Region Count                            |
 *  +---------------------------------------------------------------+
 *  |                        Page Count (64)                      ...
 *  +---------------------------------------------------------------+
 *  |                      Capabilities (64)                      ...
 *  +---------------------------------------------------------------+
 *  |                    Send Timestamp ns (64)                   ...
 *  +---------------------------------------------------------------+
 *  |                     Control Stream Id                         |
 *  +---------------------------------------------------------------+
 *  |                  Control Endpoint Length                      |
 *  +---------------------------------------------------------------+
 *  |                 Source Nonce (128 bits)                     ...
 *  +---------------------------------------------------------------+
 *  |            VM UUID (128 bits, zero if none)                 ...
 *  +---------------------------------------------------------------+
 *  |           Region Lengths in bytes (64 each, Region Count)   ...
 *  +---------------------------------------------------------------+
 *  |           Control Endpoint (ASCII host:port)                ...
 *  +---------------------------------------------------------------+
 *  |        Lane Count (only with more than one data lane)         |
 *  +---------------------------------------------------------------+
 *  |     Aeron Session Ids of lanes 1 .. Lane Count - 1 (32 each)...
 *  +---------------------------------------------------------------+
 *  |     Data Bytes (64, only with the DATA_BYTES capability)    ...
 *  +---------------------------------------------------------------+
 * </pre>
 * The hello travels on data lane 0, whose Aeron session the target pins; with more lanes the trailing block names
 * the session of each other lane (stream {@code dataStreamId + lane}), which the target pins likewise. Without the
 * block the source uses one lane. With {@link Capabilities#DATA_BYTES} the frame ends with the bytes the source
 * expects to send (its populated pages), for the target's admission check.
 */
public final class HelloFlyweight extends FrameFlyweight
{
    /** Offset of the page size. */
    public static final int PAGE_SIZE_OFFSET = HEADER_LENGTH;
    /** Offset of the region count. */
    public static final int REGION_COUNT_OFFSET = PAGE_SIZE_OFFSET + 4;
    /** Offset of the page count. */
    public static final int PAGE_COUNT_OFFSET = REGION_COUNT_OFFSET + 4;
    /** Offset of the capabilities. */
    public static final int CAPABILITIES_OFFSET = PAGE_COUNT_OFFSET + 8;
    /** Offset of the sender's timestamp. */
    public static final int TIMESTAMP_OFFSET = CAPABILITIES_OFFSET + 8;
    /** Offset of the control stream id. */
    public static final int CONTROL_STREAM_ID_OFFSET = TIMESTAMP_OFFSET + 8;
    /** Offset of the control endpoint length. */
    public static final int CONTROL_ENDPOINT_LENGTH_OFFSET = CONTROL_STREAM_ID_OFFSET + 4;
    /** Offset of the source's nonce. */
    public static final int NONCE_OFFSET = CONTROL_ENDPOINT_LENGTH_OFFSET + 4;
    /** Length of a handshake nonce. */
    public static final int NONCE_LENGTH = 16;
    /** Offset of the VM's UUID: most significant half, then least significant half. */
    public static final int VM_ID_OFFSET = NONCE_OFFSET + NONCE_LENGTH;
    /** Offset of the first region length. */
    public static final int REGION_LENGTHS_OFFSET = VM_ID_OFFSET + 16;
    /** Most regions a hello may describe. */
    public static final int MAX_REGIONS = 256;
    /** Longest control endpoint. */
    public static final int MAX_ENDPOINT_LENGTH = 255;
    /** Most data lanes a hello may name. */
    public static final int MAX_LANES = 16;

    /**
     * @param regionCount     regions described.
     * @param endpointLength  bytes of the control endpoint.
     * @return the frame length.
     */
    public static int frameLength(final int regionCount, final int endpointLength)
    {
        return REGION_LENGTHS_OFFSET + regionCount * 8 + endpointLength;
    }

    /**
     * @param regionCount    regions described.
     * @param endpointLength bytes of the control endpoint.
     * @param laneCount      data lanes, 1 for none beyond lane 0.
     * @return the frame length with the lane block (none for one lane).
     */
    public static int frameLength(final int regionCount, final int endpointLength, final int laneCount)
    {
        return frameLength(regionCount, endpointLength) + (laneCount <= 1 ? 0 : 4 + 4 * (laneCount - 1));
    }

    /**
     * @param regionCount    regions described.
     * @param endpointLength bytes of the control endpoint.
     * @param laneCount      data lanes, 1 for none beyond lane 0.
     * @param dataBytes      true to end with the data bytes ({@link Capabilities#DATA_BYTES}).
     * @return the frame length.
     */
    public static int frameLength(final int regionCount, final int endpointLength, final int laneCount,
        final boolean dataBytes)
    {
        return frameLength(regionCount, endpointLength, laneCount) + (dataBytes ? 8 : 0);
    }

    /**
     * Write the data bytes; call last, with {@link Capabilities#DATA_BYTES} among the capabilities.
     *
     * @param laneCount data lanes written before.
     * @param bytes     of guest memory the source expects to send.
     * @return this.
     */
    public HelloFlyweight dataBytes(final int laneCount, final long bytes)
    {
        buffer.putLong(offset + frameLength(regionCount(), controlEndpointLength(), laneCount), bytes, LITTLE_ENDIAN);
        return this;
    }

    /**
     * @param frameLength bytes of the validated frame.
     * @return the bytes the source expects to send, or -1 if its hello does not say.
     */
    public long dataBytes(final int frameLength)
    {
        return (capabilities() & Capabilities.DATA_BYTES) != 0 ?
            buffer.getLong(offset + frameLength - 8, LITTLE_ENDIAN) : -1;
    }

    private int withoutDataBytes(final int frameLength)
    {
        return (capabilities() & Capabilities.DATA_BYTES) != 0 ? frameLength - 8 : frameLength;
    }

    /**
     * Write the lane block; call after {@link #controlEndpoint(String)}, only with more than one lane.
     *
     * @param laneCount  data lanes.
     * @param sessionIds Aeron session id of each lane; index 0 (lane 0) is not written.
     * @return this.
     */
    public HelloFlyweight lanes(final int laneCount, final int[] sessionIds)
    {
        final int at = offset + laneBlockOffset();
        buffer.putInt(at, laneCount, LITTLE_ENDIAN);
        for (int i = 1; i < laneCount; i++)
        {
            buffer.putInt(at + 4 * i, sessionIds[i], LITTLE_ENDIAN);
        }
        return this;
    }

    /**
     * @param frameLength bytes of the validated frame.
     * @return data lanes the source uses.
     */
    public int laneCount(final int frameLength)
    {
        return withoutDataBytes(frameLength) == laneBlockOffset() ? 1 :
            buffer.getInt(offset + laneBlockOffset(), LITTLE_ENDIAN);
    }

    /**
     * @param lane a lane from 1 to {@code laneCount - 1}.
     * @return its Aeron session id.
     */
    public int laneSessionId(final int lane)
    {
        return buffer.getInt(offset + laneBlockOffset() + 4 * lane, LITTLE_ENDIAN);
    }

    private int laneBlockOffset()
    {
        return frameLength(regionCount(), controlEndpointLength());
    }

    /**
     * @param v page size.
     * @return this.
     */
    public HelloFlyweight pageSize(final int v)
    {
        buffer.putInt(offset + PAGE_SIZE_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return page size. */
    public int pageSize()
    {
        return buffer.getInt(offset + PAGE_SIZE_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v region count.
     * @return this.
     */
    public HelloFlyweight regionCount(final int v)
    {
        buffer.putInt(offset + REGION_COUNT_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return region count. */
    public int regionCount()
    {
        return buffer.getInt(offset + REGION_COUNT_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v page count.
     * @return this.
     */
    public HelloFlyweight pageCount(final long v)
    {
        buffer.putLong(offset + PAGE_COUNT_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return page count. */
    public long pageCount()
    {
        return buffer.getLong(offset + PAGE_COUNT_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v capability bits.
     * @return this.
     */
    public HelloFlyweight capabilities(final long v)
    {
        buffer.putLong(offset + CAPABILITIES_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return capability bits. */
    public long capabilities()
    {
        return buffer.getLong(offset + CAPABILITIES_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v sender's nanosecond timestamp, echoed in the ack.
     * @return this.
     */
    public HelloFlyweight timestampNs(final long v)
    {
        buffer.putLong(offset + TIMESTAMP_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return sender's timestamp. */
    public long timestampNs()
    {
        return buffer.getLong(offset + TIMESTAMP_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v control stream id.
     * @return this.
     */
    public HelloFlyweight controlStreamId(final int v)
    {
        buffer.putInt(offset + CONTROL_STREAM_ID_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return control stream id. */
    public int controlStreamId()
    {
        return buffer.getInt(offset + CONTROL_STREAM_ID_OFFSET, LITTLE_ENDIAN);
    }

    /** @return control endpoint length. */
    public int controlEndpointLength()
    {
        return buffer.getInt(offset + CONTROL_ENDPOINT_LENGTH_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param nonce {@link #NONCE_LENGTH} fresh random bytes.
     * @return this.
     */
    public HelloFlyweight nonce(final byte[] nonce)
    {
        buffer.putBytes(offset + NONCE_OFFSET, nonce, 0, NONCE_LENGTH);
        return this;
    }

    /**
     * @param id the VM's UUID, or null for none (zeros).
     * @return this.
     */
    public HelloFlyweight vmId(final java.util.UUID id)
    {
        buffer.putLong(offset + VM_ID_OFFSET, null == id ? 0 : id.getMostSignificantBits(), LITTLE_ENDIAN);
        buffer.putLong(offset + VM_ID_OFFSET + 8, null == id ? 0 : id.getLeastSignificantBits(), LITTLE_ENDIAN);
        return this;
    }

    /** @return the VM's UUID, or null if the source named none. Allocates; once per hello. */
    public java.util.UUID vmId()
    {
        final long msb = buffer.getLong(offset + VM_ID_OFFSET, LITTLE_ENDIAN);
        final long lsb = buffer.getLong(offset + VM_ID_OFFSET + 8, LITTLE_ENDIAN);
        return msb == 0 && lsb == 0 ? null : new java.util.UUID(msb, lsb);
    }

    /** @param dst receives the {@link #NONCE_LENGTH} nonce bytes. */
    public void getNonce(final byte[] dst)
    {
        buffer.getBytes(offset + NONCE_OFFSET, dst, 0, NONCE_LENGTH);
    }

    /**
     * @param index  of the region.
     * @param length of the region in bytes.
     * @return this.
     */
    public HelloFlyweight regionLength(final int index, final long length)
    {
        buffer.putLong(offset + REGION_LENGTHS_OFFSET + index * 8, length, LITTLE_ENDIAN);
        return this;
    }

    /**
     * @param index of the region, below {@link #regionCount()}.
     * @return region length in bytes.
     */
    public long regionLength(final int index)
    {
        return buffer.getLong(offset + REGION_LENGTHS_OFFSET + index * 8, LITTLE_ENDIAN);
    }

    /**
     * Write the control endpoint; call after {@link #regionCount(int)}.
     *
     * @param endpoint ASCII {@code host:port}.
     * @return this.
     */
    public HelloFlyweight controlEndpoint(final String endpoint)
    {
        final int length = endpoint.length();
        buffer.putInt(offset + CONTROL_ENDPOINT_LENGTH_OFFSET, length, LITTLE_ENDIAN);
        buffer.putStringWithoutLengthAscii(offset + REGION_LENGTHS_OFFSET + regionCount() * 8, endpoint);
        return this;
    }

    /** @return the control endpoint. Allocates; call once per hello. */
    public String controlEndpoint()
    {
        return buffer.getStringWithoutLengthAscii(
            offset + REGION_LENGTHS_OFFSET + regionCount() * 8, controlEndpointLength());
    }

    /**
     * Validate every length field against what arrived.
     *
     * @param receivedLength bytes that arrived.
     */
    public void validate(final int receivedLength)
    {
        requireLength(receivedLength, REGION_LENGTHS_OFFSET, false);
        final int regions = regionCount();
        if (regions < 1 || regions > MAX_REGIONS)
        {
            throw badField("regionCount", regions, "must be from 1 to " + MAX_REGIONS);
        }
        final int endpointLength = controlEndpointLength();
        if (endpointLength < 3 || endpointLength > MAX_ENDPOINT_LENGTH)
        {
            throw badField("controlEndpointLength", endpointLength, "must be from 3 to " + MAX_ENDPOINT_LENGTH);
        }
        final int baseLength = frameLength(regions, endpointLength);
        final boolean dataBytes = (capabilities() & Capabilities.DATA_BYTES) != 0;
        if (dataBytes)
        {
            requireLength(receivedLength, baseLength + 8, false);
        }
        final int length = withoutDataBytes(receivedLength);
        if (length != baseLength)
        {
            requireLength(length, baseLength + 4, false);
            final int lanes = buffer.getInt(offset + baseLength, LITTLE_ENDIAN);
            if (lanes < 2 || lanes > MAX_LANES)
            {
                throw badField("laneCount", lanes, "must be from 2 to " + MAX_LANES + " when the lane block is present");
            }
            requireLength(length, frameLength(regions, endpointLength, lanes), true);
        }
        if (dataBytes && dataBytes(receivedLength) < 0)
        {
            throw badField("dataBytes", dataBytes(receivedLength), "must not be negative");
        }
        final int pageSize = pageSize();
        if (pageSize < 4096 || Integer.bitCount(pageSize) != 1)
        {
            throw badField("pageSize", pageSize, "must be a power of two of at least 4096");
        }
        final int endpointOffset = offset + REGION_LENGTHS_OFFSET + regions * 8;
        for (int i = 0; i < endpointLength; i++)
        {
            final byte b = buffer.getByte(endpointOffset + i);
            if (b <= ' ' || b > '~')
            {
                throw new MigrationException(ErrorCode.MALFORMED_FRAME,
                    "controlEndpoint byte " + i + " is " + (b & 0xFF) + ", not printable ASCII");
            }
        }
    }
}
