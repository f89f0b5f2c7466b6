package io.pagestream.protocol;

/**
 * AUTH, source to target on the data stream right after the source accepted the HELLO_ACK, when keys are in use: the
 * source's tag, proving it holds the secret key. The target accepts no other frame before it.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |     Source Tag: HMAC-SHA256 over the handshake (256 bits)   ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class AuthFlyweight extends FrameFlyweight
{
    /** Offset of the source's tag. */
    public static final int TAG_OFFSET = HEADER_LENGTH;
    /** Frame length. */
    public static final int LENGTH = TAG_OFFSET + HelloAckFlyweight.TAG_LENGTH;

    /**
     * @param tag the source's tag.
     * @return this.
     */
    public AuthFlyweight tag(final byte[] tag)
    {
        buffer.putBytes(offset + TAG_OFFSET, tag, 0, HelloAckFlyweight.TAG_LENGTH);
        return this;
    }

    /** @param dst receives the source's tag. */
    public void getTag(final byte[] dst)
    {
        buffer.getBytes(offset + TAG_OFFSET, dst, 0, HelloAckFlyweight.TAG_LENGTH);
    }

    /** @param receivedLength bytes that arrived. */
    public void validate(final int receivedLength)
    {
        requireLength(receivedLength, LENGTH, true);
    }
}
