package io.pagestream.transport;

/**
 * A token bucket that caps the send rate. Bytes are granted at {@code bytesPerSec}; unused allowance accumulates up
 * to a short burst (4 ms of rate, at least two frames) so the wire rate over any window of a few milliseconds stays
 * at the cap. Threading: safe from several threads (data lanes on threads of their own share one cap); an uncapped
 * call takes no lock.
 */
public final class BandwidthLimiter
{
    private volatile long bytesPerSec;
    private double bytesPerNs;
    private double burstBytes;
    private double tokens;
    private long lastRefillNs;

    /**
     * @param bytesPerSec    the cap; 0 means unlimited.
     * @param maxFrameLength largest frame that will be requested.
     * @param nowNs          current time.
     */
    public BandwidthLimiter(final long bytesPerSec, final int maxFrameLength, final long nowNs)
    {
        this.bytesPerSec = bytesPerSec;
        this.bytesPerNs = bytesPerSec / 1e9;
        this.burstBytes = Math.max(2.0 * maxFrameLength, bytesPerSec * 0.004);
        this.tokens = maxFrameLength;
        this.lastRefillNs = nowNs;
    }

    /**
     * Change the cap from now on.
     *
     * @param newBytesPerSec the cap; 0 means unlimited.
     * @param maxFrameLength largest frame that will be requested.
     */
    public synchronized void rate(final long newBytesPerSec, final int maxFrameLength)
    {
        bytesPerSec = newBytesPerSec;
        bytesPerNs = newBytesPerSec / 1e9;
        burstBytes = Math.max(2.0 * maxFrameLength, newBytesPerSec * 0.004);
        tokens = Math.min(tokens, burstBytes);
    }

    /**
     * @return true if no cap applies.
     */
    public boolean isUnlimited()
    {
        return 0 == bytesPerSec;
    }

    /**
     * @return the cap in bytes per second, 0 for none.
     */
    public long bytesPerSec()
    {
        return bytesPerSec;
    }

    /**
     * Take {@code lengthBytes} from the bucket if it holds that many.
     *
     * @param lengthBytes to send.
     * @param nowNs       current time.
     * @return true if the frame may be sent now.
     */
    public boolean tryAcquire(final int lengthBytes, final long nowNs)
    {
        return 0 == bytesPerSec || acquireCapped(lengthBytes, nowNs);
    }

    private synchronized boolean acquireCapped(final int lengthBytes, final long nowNs)
    {
        if (0 == bytesPerSec)
        {
            return true;
        }
        if (tokens < lengthBytes)
        {
            refill(nowNs);
            if (tokens < lengthBytes)
            {
                return false;
            }
        }
        tokens -= lengthBytes;
        return true;
    }

    /**
     * Take {@code lengthBytes} even if the bucket holds fewer, going into debt that later frames pay back: for urgent
     * frames, which must not wait behind bulk but still count against the cap.
     *
     * @param lengthBytes to send.
     * @param nowNs       current time.
     */
    public void acquireUrgent(final int lengthBytes, final long nowNs)
    {
        if (0 != bytesPerSec)
        {
            chargeCapped(lengthBytes, nowNs);
        }
    }

    private synchronized void chargeCapped(final int lengthBytes, final long nowNs)
    {
        refill(nowNs);
        tokens -= lengthBytes;
    }

    /** Add the allowance earned since the last refill, up to the burst; a caller's older clock reading adds none. */
    private void refill(final long nowNs)
    {
        final long elapsedNs = nowNs - lastRefillNs;
        if (elapsedNs > 0)
        {
            tokens = Math.min(burstBytes, tokens + elapsedNs * bytesPerNs);
            lastRefillNs = nowNs;
        }
    }

    /**
     * Give back bytes acquired for a frame the transport then refused.
     *
     * @param lengthBytes acquired and not sent.
     */
    public void refund(final int lengthBytes)
    {
        if (0 != bytesPerSec)
        {
            refundCapped(lengthBytes);
        }
    }

    private synchronized void refundCapped(final int lengthBytes)
    {
        tokens = Math.min(burstBytes, tokens + lengthBytes);
    }
}
