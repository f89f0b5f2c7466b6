package io.pagestream.security;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A per-frame tag: the first {@value #TAG_LENGTH} bytes of HMAC-SHA256(sessionKey, lane | sequence | frame), appended
 * after the frame. The sequence counts the frames of one lane (one Aeron session, delivered in order), so a frame
 * replayed, dropped or moved within the stream fails; lanes without order (page requests from many vCPU threads) use
 * no sequence, and a replayed request only makes the source send a page again.
 * <p>
 * HMAC is computed over two {@link MessageDigest}s with precomputed pad blocks, and the frame is first copied into a
 * reusable array, so signing and verifying allocate nothing. Threading: one thread per instance.
 */
public final class FrameMac
{
    /** Bytes of tag after each frame. */
    public static final int TAG_LENGTH = 16;
    /** Lane: the data stream, source to target. */
    public static final byte LANE_DATA = 1;
    /** Lane: the urgent stream, source to target. */
    public static final byte LANE_URGENT = 2;
    /** Lane: the control stream, target to source, from the target's agent. */
    public static final byte LANE_CONTROL = 3;
    /** Lane: page requests, target to source, from vCPU threads; no sequence. */
    public static final byte LANE_REQUEST = 4;
    private static final int BLOCK = 64;
    private static final int MAX_FRAME = 64 * 1024;

    private final MessageDigest digest;
    private final byte[] innerPad = new byte[BLOCK];
    private final byte[] outerPad = new byte[BLOCK];
    private final byte[] header = new byte[9];
    private final byte[] inner = new byte[32];
    private final byte[] tag = new byte[32];
    private final byte[] received = new byte[TAG_LENGTH];
    private final byte[] copy = new byte[MAX_FRAME];
    private final byte lane;
    private final boolean sequenced;
    private long sequence;

    /**
     * @param sessionKey 32 bytes derived for this session.
     * @param lane       one of the {@code LANE_*} values.
     */
    public FrameMac(final byte[] sessionKey, final byte lane)
    {
        try
        {
            digest = MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException("SHA-256 unavailable", ex);
        }
        if (sessionKey.length > BLOCK)
        {
            throw new IllegalArgumentException("session key longer than a block: " + sessionKey.length);
        }
        for (int i = 0; i < BLOCK; i++)
        {
            final byte k = i < sessionKey.length ? sessionKey[i] : 0;
            innerPad[i] = (byte)(k ^ 0x36);
            outerPad[i] = (byte)(k ^ 0x5c);
        }
        this.lane = lane;
        this.sequenced = lane != LANE_REQUEST;
    }

    /**
     * Append the tag of {@code [offset, offset + length)} at {@code offset + length}, for the current sequence; call
     * {@link #advance()} once the frame is really sent (a refused offer is signed again, with the same sequence).
     *
     * @param buffer holding the frame, with {@value #TAG_LENGTH} bytes of room after it.
     * @param offset of the frame.
     * @param length of the frame without tag.
     */
    public void sign(final MutableDirectBuffer buffer, final int offset, final int length)
    {
        compute(buffer, offset, length);
        buffer.putBytes(offset + length, tag, 0, TAG_LENGTH);
    }

    /**
     * The frame last signed was sent: the next one takes the next sequence.
     */
    public void advance()
    {
        if (sequenced)
        {
            sequence++;
        }
    }

    /**
     * Check the tag at the end of a frame; on success the next frame is expected.
     *
     * @param buffer       holding the frame.
     * @param offset       of the frame.
     * @param taggedLength bytes that arrived, tag included.
     * @return true if the tag matches (constant-time compare).
     */
    public boolean verify(final DirectBuffer buffer, final int offset, final int taggedLength)
    {
        final int length = taggedLength - TAG_LENGTH;
        if (length <= 0 || length > MAX_FRAME)
        {
            return false;
        }
        compute(buffer, offset, length);
        buffer.getBytes(offset + length, received, 0, TAG_LENGTH);
        int diff = 0;
        for (int i = 0; i < TAG_LENGTH; i++)
        {
            diff |= received[i] ^ tag[i];
        }
        if (diff != 0)
        {
            return false;
        }
        if (sequenced)
        {
            sequence++;
        }
        return true;
    }

    private void compute(final DirectBuffer buffer, final int offset, final int length)
    {
        header[0] = lane;
        final long seq = sequenced ? sequence : 0;
        for (int i = 0; i < 8; i++)
        {
            header[1 + i] = (byte)(seq >>> (8 * i));
        }
        buffer.getBytes(offset, copy, 0, length);
        try
        {
            digest.reset();
            digest.update(innerPad);
            digest.update(header);
            digest.update(copy, 0, length);
            digest.digest(inner, 0, 32);
            digest.update(outerPad);
            digest.update(inner);
            digest.digest(tag, 0, 32);
        }
        catch (final java.security.DigestException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
