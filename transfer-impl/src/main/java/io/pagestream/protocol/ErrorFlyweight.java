package io.pagestream.protocol;

import java.nio.charset.StandardCharsets;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * ERROR, either way: the sender gives up on the migration.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                    Error Code (ErrorCode value)               |
 *  +---------------------------------------------------------------+
 *  |                       Message Length                          |
 *  +---------------------------------------------------------------+
 *  |                     Message (UTF-8)                         ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class ErrorFlyweight extends FrameFlyweight
{
    /** Offset of the error code. */
    public static final int ERROR_CODE_OFFSET = HEADER_LENGTH;
    /** Offset of the message length. */
    public static final int MESSAGE_LENGTH_OFFSET = ERROR_CODE_OFFSET + 4;
    /** Offset of the message. */
    public static final int MESSAGE_OFFSET = MESSAGE_LENGTH_OFFSET + 4;
    /** Longest message in bytes; longer ones are cut. */
    public static final int MAX_MESSAGE_LENGTH = 1024;

    /**
     * @param v error code value.
     * @return this.
     */
    public ErrorFlyweight errorCode(final int v)
    {
        buffer.putInt(offset + ERROR_CODE_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return error code value. */
    public int errorCode()
    {
        return buffer.getInt(offset + ERROR_CODE_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * Write the message, cut to {@link #MAX_MESSAGE_LENGTH} bytes.
     *
     * @param message in words.
     * @return the frame length.
     */
    public int message(final String message)
    {
        final byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        final int length = Math.min(bytes.length, MAX_MESSAGE_LENGTH);
        buffer.putInt(offset + MESSAGE_LENGTH_OFFSET, length, LITTLE_ENDIAN);
        buffer.putBytes(offset + MESSAGE_OFFSET, bytes, 0, length);
        return MESSAGE_OFFSET + length;
    }

    /** @return the message. Allocates. */
    public String message()
    {
        final int length = buffer.getInt(offset + MESSAGE_LENGTH_OFFSET, LITTLE_ENDIAN);
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset + MESSAGE_OFFSET, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * @return the message, led by the wire value of the code when this build does not know it (the peer's error then
     * reads as {@link io.pagestream.api.ErrorCode#GENERIC}, and the value it sent is not lost).
     */
    public String describe()
    {
        final int code = errorCode();
        final boolean unknown = io.pagestream.api.ErrorCode.get(code) == io.pagestream.api.ErrorCode.GENERIC &&
            code != io.pagestream.api.ErrorCode.GENERIC.value();
        return unknown ? "errorCode=" + code + " (unknown to this version): " + message() : message();
    }

    /** @param receivedLength bytes that arrived. */
    public void validate(final int receivedLength)
    {
        requireLength(receivedLength, MESSAGE_OFFSET, false);
        final int length = buffer.getInt(offset + MESSAGE_LENGTH_OFFSET, LITTLE_ENDIAN);
        if (length < 0 || length > MAX_MESSAGE_LENGTH || length != receivedLength - MESSAGE_OFFSET)
        {
            throw badField("messageLength", length, "frame carries " + (receivedLength - MESSAGE_OFFSET) +
                " bytes, at most " + MAX_MESSAGE_LENGTH);
        }
    }
}
