package io.pagestream.source;

import io.pagestream.api.Compression;
import io.pagestream.api.PageEncoding;

/**
 * Picks an encoding per page from figures measured while running.
 * <p>
 * The model: the agent encodes while the driver sends, so a page costs the longer of its encode time and its wire
 * time. With page size {@code P}, frame header {@code H}, link throughput {@code L}, a codec's encode throughput
 * {@code E} and ratio {@code r}:
 * <pre>
 *   raw:   (P + H) / L
 *   codec: max(P / E, (r * P + H) / L)
 * </pre>
 * and the cheapest wins; delta is a candidate only when the page's last sent version is cached. {@code L} is measured
 * over 20 ms windows in which sending was held back (back-pressure or the bandwidth cap): then the link, not the
 * sender, set the pace; a window that was not held back only raises the estimate. {@code E} and {@code r} are moving
 * averages of every encode; one data page in {@link #EXPLORE_EVERY} also tries the codec the model did not choose,
 * so its figures stay current. On a link faster than the codecs this sends raw; on a slow one it compresses.
 * <p>
 * Threading: single writer, the source agent. No allocation.
 */
public final class EncodingChooser
{
    /** One data page in this many also measures the codec not chosen. */
    public static final int EXPLORE_EVERY = 64;
    private static final long WINDOW_NS = 20_000_000;
    private static final double SMOOTHING = 0.2;
    private static final int DELTA = 0;
    private static final int LZ4 = 1;

    private final Compression mode;
    private final int pageSize;
    private final int headerLength;
    private final double[] encodeBytesPerSec = { 3e9, 1e9 };
    private final double[] ratio = { 0.1, 0.5 };
    private double linkBytesPerSec;
    private long windowStartNs;
    private long windowBytes;
    private boolean windowLimited;
    private long dataPages;

    /**
     * @param mode                 compression setting.
     * @param pageSize             page size in bytes.
     * @param headerLength         page frame header length.
     * @param capBytesPerSec       bandwidth cap, 0 for none.
     * @param nowNs                current time.
     */
    public EncodingChooser(
        final Compression mode, final int pageSize, final int headerLength, final long capBytesPerSec,
        final long nowNs)
    {
        this.mode = mode;
        this.pageSize = pageSize;
        this.headerLength = headerLength;
        this.linkBytesPerSec = capBytesPerSec > 0 ? capBytesPerSec : Double.POSITIVE_INFINITY;
        this.windowStartNs = nowNs;
    }

    /** @return the compression setting. */
    public Compression mode()
    {
        return mode;
    }

    /**
     * Choose for one data (non-zero) page.
     *
     * @param cached true if the page's last sent version is cached.
     * @return DELTA, LZ4 or RAW.
     */
    public PageEncoding choose(final boolean cached)
    {
        dataPages++;
        switch (mode)
        {
            case NONE:
                return PageEncoding.RAW;
            case DELTA:
                return cached ? PageEncoding.DELTA : PageEncoding.RAW;
            case LZ4:
                return PageEncoding.LZ4;
            default:
                break;
        }

        final double raw = (pageSize + headerLength) / linkBytesPerSec;
        final double delta = cached ? cost(DELTA) : Double.POSITIVE_INFINITY;
        final double lz4 = cost(LZ4);
        final boolean explore = dataPages % EXPLORE_EVERY == 0;
        if (delta <= lz4 && delta < raw)
        {
            return PageEncoding.DELTA;
        }
        if (lz4 < raw || (explore && !cached))
        {
            return PageEncoding.LZ4;
        }
        return explore && cached ? PageEncoding.DELTA : PageEncoding.RAW;
    }

    /**
     * @param cached true if the page's last sent version is cached.
     * @return the encoding to try when the chosen one did not pay (larger than the margin allows).
     */
    public PageEncoding fallback(final boolean cached)
    {
        if (mode == Compression.AUTO && cost(LZ4) < (pageSize + headerLength) / linkBytesPerSec)
        {
            return PageEncoding.LZ4;
        }
        return PageEncoding.RAW;
    }

    private double cost(final int codec)
    {
        return Math.max(pageSize / encodeBytesPerSec[codec],
            (ratio[codec] * pageSize + headerLength) / linkBytesPerSec);
    }

    /**
     * Record one encode attempt.
     *
     * @param encoding     DELTA or LZ4.
     * @param encodedBytes result length, or -1 if it exceeded the margin (counted as a full page).
     * @param nanos        time the encode took.
     */
    public void onEncoded(final PageEncoding encoding, final int encodedBytes, final long nanos)
    {
        final int codec = encoding == PageEncoding.DELTA ? DELTA : LZ4;
        final double r = encodedBytes < 0 ? 1.0 : (double)encodedBytes / pageSize;
        ratio[codec] += SMOOTHING * (r - ratio[codec]);
        final double speed = pageSize * 1e9 / Math.max(1, nanos);
        encodeBytesPerSec[codec] += SMOOTHING * (speed - encodeBytesPerSec[codec]);
    }

    /**
     * Record bytes handed to the transport.
     *
     * @param bytes frame bytes.
     * @param nowNs current time.
     */
    public void onSent(final int bytes, final long nowNs)
    {
        windowBytes += bytes;
        tick(nowNs);
    }

    /**
     * Record that sending was held back by back-pressure or the cap.
     *
     * @param nowNs current time.
     */
    public void onHeldBack(final long nowNs)
    {
        windowLimited = true;
        tick(nowNs);
    }

    private void tick(final long nowNs)
    {
        final long elapsed = nowNs - windowStartNs;
        if (elapsed < WINDOW_NS)
        {
            return;
        }
        final double rate = windowBytes * 1e9 / elapsed;
        if (windowLimited)
        {
            linkBytesPerSec = Double.isInfinite(linkBytesPerSec) ? rate :
                linkBytesPerSec + SMOOTHING * (rate - linkBytesPerSec);
        }
        else if (rate > linkBytesPerSec)
        {
            linkBytesPerSec = rate;
        }
        windowStartNs = nowNs;
        windowBytes = 0;
        windowLimited = false;
    }

    /** @return the link throughput estimate in bytes per second (infinite until first held back). */
    public double linkBytesPerSec()
    {
        return linkBytesPerSec;
    }

    /**
     * @param encoding DELTA or LZ4.
     * @return the codec's measured encode throughput in page bytes per second.
     */
    public double encodeBytesPerSec(final PageEncoding encoding)
    {
        return encodeBytesPerSec[encoding == PageEncoding.DELTA ? DELTA : LZ4];
    }

    /**
     * @param encoding DELTA or LZ4.
     * @return the codec's measured ratio of encoded to page bytes.
     */
    public double ratio(final PageEncoding encoding)
    {
        return ratio[encoding == PageEncoding.DELTA ? DELTA : LZ4];
    }
}
