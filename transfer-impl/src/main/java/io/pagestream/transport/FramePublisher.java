package io.pagestream.transport;

import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * Offers small frames built in a preallocated scratch buffer to an {@link ExclusivePublication}, applying Aeron's
 * return codes: {@code ADMIN_ACTION} is retried at once, back-pressure is counted and reported to the caller to try
 * again later, {@code CLOSED} and {@code MAX_POSITION_EXCEEDED} end the stream.
 * Threading: single writer.
 */
public final class FramePublisher
{
    /** The frame was accepted. */
    public static final int SENT = 1;
    /** Back-pressured or not connected: try again later. */
    public static final int RETRY = 0;
    /** The stream can take no more frames. */
    public static final int CLOSED = -1;

    private static final int ADMIN_RETRIES = 3;

    private final ExclusivePublication publication;
    private final UnsafeBuffer scratch;
    private final AtomicCounter backPressure;
    private final AtomicCounter adminActions;
    private long bytesSent;
    private io.pagestream.security.FrameMac signer;

    /**
     * @param publication  to offer to.
     * @param backPressure counter of refused frames, may be null.
     * @param adminActions counter of admin-action retries, may be null.
     */
    public FramePublisher(
        final ExclusivePublication publication, final AtomicCounter backPressure, final AtomicCounter adminActions)
    {
        this.publication = publication;
        this.scratch = new UnsafeBuffer(BufferUtil.allocateDirectAligned(publication.maxPayloadLength(), 64));
        this.backPressure = backPressure;
        this.adminActions = adminActions;
    }

    /**
     * @return a buffer to build the next frame in, at offset 0, of {@link #maxFrameLength()} bytes.
     */
    public UnsafeBuffer scratch()
    {
        return scratch;
    }

    /**
     * @return the largest frame that travels unfragmented, leaving room for a frame tag.
     */
    public int maxFrameLength()
    {
        return publication.maxPayloadLength() - io.pagestream.security.FrameMac.TAG_LENGTH;
    }

    /**
     * Sign every frame from now on (frame authentication, after the handshake).
     *
     * @param frameMac for this stream, or null to stop signing.
     */
    public void signer(final io.pagestream.security.FrameMac frameMac)
    {
        signer = frameMac;
    }

    /**
     * @return the signer, or null when frames go unsigned.
     */
    public io.pagestream.security.FrameMac signer()
    {
        return signer;
    }

    /**
     * @return the publication.
     */
    public ExclusivePublication publication()
    {
        return publication;
    }

    /**
     * @return bytes accepted so far by the offers and by claims passed through {@link #outcome(long, int)}.
     */
    public long bytesSent()
    {
        return bytesSent;
    }

    /**
     * Offer the first {@code length} bytes of the scratch buffer. With a signer, the frame is signed (or sealed in
     * place) under a fresh sequence first, so after a refused offer the caller rebuilds the frame before offering it
     * again, as every caller does.
     *
     * @param length of the frame.
     * @return {@link #SENT}, {@link #RETRY} or {@link #CLOSED}.
     */
    public int offer(final int length)
    {
        final io.pagestream.security.FrameMac mac = signer;
        final int wireLength = null == mac ? length : length + io.pagestream.security.FrameMac.TAG_LENGTH;
        if (null != mac)
        {
            mac.sign(scratch, 0, length);
        }
        for (int i = 0; i <= ADMIN_RETRIES; i++)
        {
            final int outcome = outcome(publication.offer(scratch, 0, wireLength), wireLength);
            if (outcome != Integer.MIN_VALUE)
            {
                return outcome;
            }
        }
        return RETRY;
    }

    /**
     * Offer a frame gathered from a header in the scratch buffer and a body elsewhere, without copying the body.
     *
     * @param headerLength bytes of header at the start of the scratch buffer.
     * @param body         buffer holding the body.
     * @param bodyOffset   of the body.
     * @param bodyLength   of the body.
     * @return {@link #SENT}, {@link #RETRY} or {@link #CLOSED}.
     */
    public int offer(final int headerLength, final DirectBuffer body, final int bodyOffset, final int bodyLength)
    {
        if (null != signer)
        {
            // A signed frame is one piece: gather it in the scratch buffer (device state only, once per migration).
            scratch.putBytes(headerLength, body, bodyOffset, bodyLength);
            return offer(headerLength + bodyLength);
        }
        for (int i = 0; i <= ADMIN_RETRIES; i++)
        {
            final long result = publication.offer(scratch, 0, headerLength, body, bodyOffset, bodyLength, null);
            final int outcome = outcome(result, headerLength + bodyLength);
            if (outcome != Integer.MIN_VALUE)
            {
                return outcome;
            }
        }
        return RETRY;
    }

    /**
     * Map a publication result to an outcome and do the counting.
     *
     * @param result from offer or tryClaim.
     * @param length of the frame.
     * @return an outcome, or {@code Integer.MIN_VALUE} to retry at once (admin action).
     */
    public int outcome(final long result, final int length)
    {
        if (result > 0)
        {
            bytesSent += length;
            return SENT;
        }
        if (result == Publication.ADMIN_ACTION)
        {
            if (null != adminActions)
            {
                adminActions.incrementOrdered();
            }
            return Integer.MIN_VALUE;
        }
        if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED)
        {
            return CLOSED;
        }
        if (result == Publication.BACK_PRESSURED && null != backPressure)
        {
            backPressure.incrementOrdered();
        }
        return RETRY;
    }
}
