package io.pagestream.protocol;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * PAGE, source to target: one page, or one self-contained chunk of a page larger than a frame carries.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                        Page Index (64)                      ...
 *  +---------------------------------------------------------------+
 *  |                            Round                              |
 *  +---------------+---------------+-------------------------------+
 *  |   Encoding    |   Reserved    |           Reserved            |
 *  +---------------+---------------+-------------------------------+
 *  |                  Chunk Offset within the page                 |
 *  +---------------------------------------------------------------+
 *  |                 Decoded Length of the chunk                   |
 *  +---------------------------------------------------------------+
 *  |              CRC32C of the decoded chunk bytes                |
 *  +---------------------------------------------------------------+
 *  |                       Payload Length                          |
 *  +---------------------------------------------------------------+
 *  |                          Payload                            ...
 *  +---------------------------------------------------------------+
 * </pre>
 * A chunk covers bytes {@code [chunkOffset, chunkOffset + decodedLength)} of the page and applies on its own.
 */
public final class PageFlyweight extends FrameFlyweight
{
    /** Offset of the page index. */
    public static final int PAGE_INDEX_OFFSET = HEADER_LENGTH;
    /** Offset of the round. */
    public static final int ROUND_OFFSET = PAGE_INDEX_OFFSET + 8;
    /** Offset of the encoding byte. */
    public static final int ENCODING_OFFSET = ROUND_OFFSET + 4;
    /** Offset of the chunk offset. */
    public static final int CHUNK_OFFSET_OFFSET = ENCODING_OFFSET + 4;
    /** Offset of the decoded length. */
    public static final int DECODED_LENGTH_OFFSET = CHUNK_OFFSET_OFFSET + 4;
    /** Offset of the checksum. */
    public static final int CHECKSUM_OFFSET = DECODED_LENGTH_OFFSET + 4;
    /** Offset of the payload length. */
    public static final int PAYLOAD_LENGTH_OFFSET = CHECKSUM_OFFSET + 4;
    /** Offset of the payload; also the header length of a page frame. */
    public static final int PAYLOAD_OFFSET = PAYLOAD_LENGTH_OFFSET + 4;

    /**
     * @param v page index.
     * @return this.
     */
    public PageFlyweight pageIndex(final long v)
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
     * @param v round.
     * @return this.
     */
    public PageFlyweight round(final int v)
    {
        buffer.putInt(offset + ROUND_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return round. */
    public int round()
    {
        return buffer.getInt(offset + ROUND_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v encoding code; reserved bytes are cleared.
     * @return this.
     */
    public PageFlyweight encoding(final int v)
    {
        buffer.putInt(offset + ENCODING_OFFSET, v & 0xFF, LITTLE_ENDIAN);
        return this;
    }

    /** @return encoding code. */
    public int encoding()
    {
        return buffer.getByte(offset + ENCODING_OFFSET) & 0xFF;
    }

    /**
     * @param v chunk offset within the page.
     * @return this.
     */
    public PageFlyweight chunkOffset(final int v)
    {
        buffer.putInt(offset + CHUNK_OFFSET_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return chunk offset within the page. */
    public int chunkOffset()
    {
        return buffer.getInt(offset + CHUNK_OFFSET_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v decoded length of the chunk.
     * @return this.
     */
    public PageFlyweight decodedLength(final int v)
    {
        buffer.putInt(offset + DECODED_LENGTH_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return decoded length of the chunk. */
    public int decodedLength()
    {
        return buffer.getInt(offset + DECODED_LENGTH_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v CRC32C of the decoded chunk.
     * @return this.
     */
    public PageFlyweight checksum(final int v)
    {
        buffer.putInt(offset + CHECKSUM_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return CRC32C of the decoded chunk. */
    public int checksum()
    {
        return buffer.getInt(offset + CHECKSUM_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v payload length.
     * @return this.
     */
    public PageFlyweight payloadLength(final int v)
    {
        buffer.putInt(offset + PAYLOAD_LENGTH_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return payload length. */
    public int payloadLength()
    {
        return buffer.getInt(offset + PAYLOAD_LENGTH_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * Validate lengths and ranges before anything is written.
     *
     * @param receivedLength bytes that arrived.
     * @param pageCount      pages in guest memory.
     * @param pageSize       page size in bytes.
     */
    public void validate(final int receivedLength, final long pageCount, final int pageSize)
    {
        requireLength(receivedLength, PAYLOAD_OFFSET, false);
        final int payloadLength = payloadLength();
        if (payloadLength != receivedLength - PAYLOAD_OFFSET)
        {
            throw badField("payloadLength", payloadLength,
                "frame carries " + (receivedLength - PAYLOAD_OFFSET) + " payload bytes");
        }
        final long pageIndex = pageIndex();
        if (pageIndex < 0 || pageIndex >= pageCount)
        {
            throw new io.pagestream.api.MigrationException(io.pagestream.api.ErrorCode.PAGE_INDEX_OUT_OF_RANGE,
                "pageIndex=" + pageIndex + " in PAGE frame outside guest memory of " + pageCount + " pages");
        }
        final int chunkOffset = chunkOffset();
        final int decodedLength = decodedLength();
        if (chunkOffset < 0 || chunkOffset >= pageSize)
        {
            throw badField("chunkOffset", chunkOffset, "must be within the page size " + pageSize);
        }
        if (decodedLength <= 0 || decodedLength > pageSize - chunkOffset)
        {
            throw badField("decodedLength", decodedLength,
                "must be positive and end within the page (chunkOffset=" + chunkOffset + ", pageSize=" + pageSize +
                ")");
        }
    }
}
