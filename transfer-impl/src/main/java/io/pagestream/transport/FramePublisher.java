package io.pagestream.transport;

import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.logbuffer.BufferClaim;
import io.pagestream.security.FrameMac;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * The {@link FrameSink} over an {@link ExclusivePublication}: frames built in a preallocated scratch buffer are
 * offered, pages are claimed in the term buffer. Aeron's return codes: {@code ADMIN_ACTION} is retried at once,
 * back-pressure is counted and reported to the caller to try again later, {@code CLOSED} and
 * {@code MAX_POSITION_EXCEEDED} end the stream. Threading: single writer.
 */
public final class FramePublisher implements FrameSink
{
    private static final int ADMIN_RETRIES = 3;

    private final ExclusivePublication publication;
    private final UnsafeBuffer scratch;
    private final AtomicCounter backPressure;
    private final AtomicCounter adminActions;
    private long bytesSent;
    private FrameMac signer;

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

    /** {@inheritDoc} */
    public UnsafeBuffer scratch()
    {
        return scratch;
    }

    /** {@inheritDoc} */
    public int maxFrameLength()
    {
        return publication.maxPayloadLength() - FrameMac.TAG_LENGTH;
    }

    /** {@inheritDoc} */
    public void signer(final FrameMac frameMac)
    {
        signer = frameMac;
    }

    /** {@inheritDoc} */
    public FrameMac signer()
    {
        return signer;
    }

    /** {@inheritDoc} */
    public boolean isConnected()
    {
        return publication.isConnected();
    }

    /** {@inheritDoc} */
    public int sessionId()
    {
        return publication.sessionId();
    }

    /** {@inheritDoc} */
    public void close()
    {
        org.agrona.CloseHelper.quietClose(publication);
    }

    /**
     * @return the publication.
     */
    public ExclusivePublication publication()
    {
        return publication;
    }

    /** {@inheritDoc} */
    public long bytesSent()
    {
        return bytesSent;
    }

    /**
     * {@inheritDoc} With a signer, the frame is signed (or sealed in place) under a fresh sequence first, so after a
     * refused offer the caller rebuilds the frame before offering it again, as every caller does.
     */
    public int offer(final int length)
    {
        final FrameMac mac = signer;
        final int wireLength = null == mac ? length : length + FrameMac.TAG_LENGTH;
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

    /** {@inheritDoc} Without a signer the body is not copied. */
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

    /** {@inheritDoc} */
    public int tryClaim(final int length, final BufferClaim claim)
    {
        final int wireLength = null == signer ? length : length + FrameMac.TAG_LENGTH;
        for (int i = 0; i <= ADMIN_RETRIES; i++)
        {
            final int outcome = outcome(publication.tryClaim(wireLength, claim), wireLength);
            if (outcome != Integer.MIN_VALUE)
            {
                return outcome;
            }
        }
        return RETRY;
    }

    /*
     * Map a publication result to an outcome and do the counting.
     *
     * @param result from offer or tryClaim.
     * @param length of the frame.
     * @return an outcome, or {@code Integer.MIN_VALUE} to retry at once (admin action).
     */
    private int outcome(final long result, final int length)
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
