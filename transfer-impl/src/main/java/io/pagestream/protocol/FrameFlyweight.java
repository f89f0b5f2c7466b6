package io.pagestream.protocol;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * The common header every frame starts with. Little-endian.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------+---------------+-------------------------------+
 *  |    Version    |     Type      |             Flags             |
 *  +---------------+---------------+-------------------------------+
 *  |                         Frame Length                          |
 *  +---------------------------------------------------------------+
 *  |                          Session Id                           |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 * </pre>
 * Frame length counts every byte of the frame, header included, and must equal the length Aeron delivered.
 * Session id is the migration id chosen by the source and agreed in the hello.
 * <p>
 * Threading: a flyweight is a reusable view owned by one thread.
 */
public class FrameFlyweight
{
    /** Protocol version this build speaks. */
    public static final int PROTOCOL_VERSION = 1;
    /** Offset of the version byte. */
    public static final int VERSION_OFFSET = 0;
    /** Offset of the type byte. */
    public static final int TYPE_OFFSET = 1;
    /** Offset of the flags. */
    public static final int FLAGS_OFFSET = 2;
    /** Offset of the frame length. */
    public static final int FRAME_LENGTH_OFFSET = 4;
    /** Offset of the session id. */
    public static final int SESSION_ID_OFFSET = 8;
    /** Length of the common header. */
    public static final int HEADER_LENGTH = 16;

    /** The wrapped buffer. */
    protected MutableDirectBuffer buffer;
    /** Offset of the frame in the buffer. */
    protected int offset;

    /**
     * Wrap a frame for reading or writing. Read-only buffers can be wrapped by casting when only getters are used;
     * see {@link #wrapForRead(DirectBuffer, int)}.
     *
     * @param buffer holding the frame.
     * @param offset of the frame's first byte.
     * @return this.
     */
    public FrameFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    /**
     * Wrap a received frame for reading. Aeron hands fragments as {@link DirectBuffer}s that are in fact mutable
     * term buffers; setters must not be called on a frame wrapped this way.
     *
     * @param buffer holding the frame.
     * @param offset of the frame's first byte.
     * @return this.
     */
    public FrameFlyweight wrapForRead(final DirectBuffer buffer, final int offset)
    {
        return wrap((MutableDirectBuffer)buffer, offset);
    }

    /** @return the wrapped buffer. */
    public MutableDirectBuffer buffer()
    {
        return buffer;
    }

    /** @return offset of the frame in the buffer. */
    public int offset()
    {
        return offset;
    }

    /**
     * Write the common header.
     *
     * @param type        frame type.
     * @param frameLength total frame length in bytes.
     * @param sessionId   migration id.
     */
    public void writeHeader(final int type, final int frameLength, final long sessionId)
    {
        buffer.putByte(offset + VERSION_OFFSET, (byte)PROTOCOL_VERSION);
        buffer.putByte(offset + TYPE_OFFSET, (byte)type);
        buffer.putShort(offset + FLAGS_OFFSET, (short)0, LITTLE_ENDIAN);
        buffer.putInt(offset + FRAME_LENGTH_OFFSET, frameLength, LITTLE_ENDIAN);
        buffer.putLong(offset + SESSION_ID_OFFSET, sessionId, LITTLE_ENDIAN);
    }

    /** @return protocol version, unsigned. */
    public int version()
    {
        return buffer.getByte(offset + VERSION_OFFSET) & 0xFF;
    }

    /** @return frame type, unsigned. */
    public int type()
    {
        return buffer.getByte(offset + TYPE_OFFSET) & 0xFF;
    }

    /** STATUS flag: the sender is a target whose guest runs (post-copy). */
    public static final int FLAG_GUEST_RUNNING = 1;

    /**
     * @param v flags, written after {@link #writeHeader}.
     * @return this.
     */
    public FrameFlyweight flags(final int v)
    {
        buffer.putShort(offset + FLAGS_OFFSET, (short)v, LITTLE_ENDIAN);
        return this;
    }

    /** @return flags, unsigned. */
    public int flags()
    {
        return buffer.getShort(offset + FLAGS_OFFSET, LITTLE_ENDIAN) & 0xFFFF;
    }

    /** @return the frame length field. */
    public int frameLength()
    {
        return buffer.getInt(offset + FRAME_LENGTH_OFFSET, LITTLE_ENDIAN);
    }

    /** @return the session id. */
    public long sessionId()
    {
        return buffer.getLong(offset + SESSION_ID_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * Check the common header against what arrived.
     *
     * @param receivedLength bytes Aeron delivered for this frame.
     * @throws MigrationException naming the bad field and value.
     */
    public void validateHeader(final int receivedLength)
    {
        if (receivedLength < HEADER_LENGTH)
        {
            throw new MigrationException(ErrorCode.MALFORMED_FRAME,
                "receivedLength=" + receivedLength + " bytes, shorter than the " + HEADER_LENGTH + "-byte header");
        }
        if (version() != PROTOCOL_VERSION)
        {
            throw new MigrationException(ErrorCode.UNSUPPORTED_VERSION,
                "version=" + version() + " in " + FrameType.name(type()) + " frame, this build speaks " +
                PROTOCOL_VERSION);
        }
        if (frameLength() != receivedLength)
        {
            throw new MigrationException(ErrorCode.MALFORMED_FRAME,
                "frameLength=" + frameLength() + " in " + FrameType.name(type()) + " frame but " + receivedLength +
                " bytes arrived");
        }
    }

    /**
     * Require a minimum or exact frame length for a frame type.
     *
     * @param receivedLength bytes that arrived.
     * @param expected       required length.
     * @param exact          true if the length must equal, false if it must be at least.
     */
    protected final void requireLength(final int receivedLength, final int expected, final boolean exact)
    {
        if (exact ? receivedLength != expected : receivedLength < expected)
        {
            // The type byte is named only if it arrived: nothing past the received bytes is read.
            final String name = receivedLength > TYPE_OFFSET ? FrameType.name(type()) : "a";
            throw new MigrationException(ErrorCode.MALFORMED_FRAME,
                "frameLength=" + receivedLength + " in " + name + " frame, expected " +
                (exact ? "" : "at least ") + expected);
        }
    }

    /**
     * Fail with {@link ErrorCode#BAD_LENGTH} naming the field.
     *
     * @param field name of the field.
     * @param value its value.
     * @param rule  in words.
     * @return never returns; declared for {@code throw} at call sites.
     */
    protected final MigrationException badField(final String field, final long value, final String rule)
    {
        return new MigrationException(ErrorCode.BAD_LENGTH,
            field + "=" + value + " in " + FrameType.name(type()) + " frame: " + rule);
    }
}
