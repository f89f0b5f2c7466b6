package io.pagestream.protocol;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * HELLO_ACK, target to source: the hello was accepted (status 0) or refused (an ErrorCode value; an ERROR frame
 * with the reason follows).
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                           Status                              |
 *  +---------------------------------------------------------------+
 *  |                  Target's Protocol Version                    |
 *  +---------------------------------------------------------------+
 *  |                      Capabilities (64)                      ...
 *  +---------------------------------------------------------------+
 *  |               Echoed Hello Timestamp ns (64)                ...
 *  +---------------------------------------------------------------+
 *  |                  Urgent Lane UDP Port                         |
 *  +---------------------------------------------------------------+
 *  |                          Reserved                             |
 *  +---------------------------------------------------------------+
 *  |                 Target Nonce (128 bits)                     ...
 *  +---------------------------------------------------------------+
 *  |     Target Tag: HMAC-SHA256 over the handshake (256 bits)   ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class HelloAckFlyweight extends FrameFlyweight
{
    /** Offset of the status. */
    public static final int STATUS_OFFSET = HEADER_LENGTH;
    /** Offset of the target's protocol version. */
    public static final int TARGET_VERSION_OFFSET = STATUS_OFFSET + 4;
    /** Offset of the capabilities. */
    public static final int CAPABILITIES_OFFSET = TARGET_VERSION_OFFSET + 4;
    /** Offset of the echoed timestamp. */
    public static final int ECHO_TIMESTAMP_OFFSET = CAPABILITIES_OFFSET + 8;
    /** Offset of the urgent lane's port. */
    public static final int URGENT_PORT_OFFSET = ECHO_TIMESTAMP_OFFSET + 8;
    /** Offset of the target's nonce. */
    public static final int NONCE_OFFSET = URGENT_PORT_OFFSET + 8;
    /** Offset of the target's tag (zero without a key). */
    public static final int TAG_OFFSET = NONCE_OFFSET + HelloFlyweight.NONCE_LENGTH;
    /** Length of a handshake tag. */
    public static final int TAG_LENGTH = 32;
    /** Frame length. */
    public static final int LENGTH = TAG_OFFSET + TAG_LENGTH;

    /**
     * @param nonce the target's nonce.
     * @param tag   the target's tag, or null for none (zeros).
     * @return this.
     */
    public HelloAckFlyweight proof(final byte[] nonce, final byte[] tag)
    {
        buffer.putBytes(offset + NONCE_OFFSET, nonce, 0, HelloFlyweight.NONCE_LENGTH);
        if (null == tag)
        {
            buffer.setMemory(offset + TAG_OFFSET, TAG_LENGTH, (byte)0);
        }
        else
        {
            buffer.putBytes(offset + TAG_OFFSET, tag, 0, TAG_LENGTH);
        }
        return this;
    }

    /** @param dst receives the target's nonce. */
    public void getNonce(final byte[] dst)
    {
        buffer.getBytes(offset + NONCE_OFFSET, dst, 0, HelloFlyweight.NONCE_LENGTH);
    }

    /** @param dst receives the target's tag. */
    public void getTag(final byte[] dst)
    {
        buffer.getBytes(offset + TAG_OFFSET, dst, 0, TAG_LENGTH);
    }

    /**
     * @param v UDP port of the urgent lane on the target's host; the reserved word is cleared.
     * @return this.
     */
    public HelloAckFlyweight urgentPort(final int v)
    {
        buffer.putInt(offset + URGENT_PORT_OFFSET, v, LITTLE_ENDIAN);
        buffer.putInt(offset + URGENT_PORT_OFFSET + 4, 0, LITTLE_ENDIAN);
        return this;
    }

    /** @return UDP port of the urgent lane on the target's host. */
    public int urgentPort()
    {
        return buffer.getInt(offset + URGENT_PORT_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v 0 for accepted, else an ErrorCode value.
     * @return this.
     */
    public HelloAckFlyweight status(final int v)
    {
        buffer.putInt(offset + STATUS_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return 0 for accepted, else an ErrorCode value. */
    public int status()
    {
        return buffer.getInt(offset + STATUS_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v target's protocol version.
     * @return this.
     */
    public HelloAckFlyweight targetVersion(final int v)
    {
        buffer.putInt(offset + TARGET_VERSION_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return target's protocol version. */
    public int targetVersion()
    {
        return buffer.getInt(offset + TARGET_VERSION_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v capability bits.
     * @return this.
     */
    public HelloAckFlyweight capabilities(final long v)
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
     * @param v the hello's timestamp.
     * @return this.
     */
    public HelloAckFlyweight echoTimestampNs(final long v)
    {
        buffer.putLong(offset + ECHO_TIMESTAMP_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return the hello's timestamp. */
    public long echoTimestampNs()
    {
        return buffer.getLong(offset + ECHO_TIMESTAMP_OFFSET, LITTLE_ENDIAN);
    }

    /** @param receivedLength bytes that arrived. */
    public void validate(final int receivedLength)
    {
        requireLength(receivedLength, LENGTH, true);
        if (urgentPort() < 1 || urgentPort() > 65535)
        {
            throw badField("urgentPort", urgentPort(), "must be a UDP port from 1 to 65535");
        }
    }
}
