package io.pagestream.sending;

import io.pagestream.api.Compression;
import io.pagestream.api.PageEncoding;

/**
 * Picks an encoding per page from what it measures while running.
 * <p>
 * Delta is used whenever the page's last sent version is cached and deltas have recently fitted the size margin:
 * encoding one is a vectorised compare over two pages, cheaper than sending the page on any link measured here.
 * <p>
 * Between raw and LZ4 for the other pages, when a bandwidth cap says how fast the link is, the cost model is exact:
 * raw moves {@code cap / (P + H)} pages per second and LZ4 the lesser of its measured encode rate and
 * {@code cap / (r * P + H)}, with its ratio {@code r} and encode rate kept current by compressing one page in
 * {@link #SAMPLE_EVERY} even while raw is chosen.
 * <p>
 * Without a cap the link's speed is unknown and the chooser does not predict, it measures: an analytic model (encode
 * time against wire time) assumed that compressing overlaps with sending, which on a host whose cores also run the
 * media driver and the guest it does not (measured: such a model chose LZ4 on an unlimited loopback and finished
 * 20-30% later than raw). So it runs two arms, raw-first and LZ4-first, in epochs of at least {@link #EPOCH_NS} and
 * {@link #EPOCH_PAGES} data pages, scored by data pages completed per second. A measurement is four epochs in the
 * order raw, LZ4, LZ4, raw (mirrored the next time), which cancels a steady drift such as the JIT warming up; the
 * winner (LZ4 only if it moves {@link #LZ4_ADVANTAGE} times as many pages, since raw costs no CPU) then runs for
 * {@link #EXPLOIT_EPOCHS} epochs, doubling after each clear win, before the next measurement notices a changed link
 * or load; the first measurement waits {@link #WARMUP_EPOCHS} raw epochs for the JIT. On a link slower than the codec LZ4 wins because it moves more pages per second; on one faster than the
 * codec raw wins. Epochs cut by a round boundary are discarded: policy work and dirty-log fetches are not the
 * encodings' doing. A measurement is skipped, and raw kept, while the host's CPU load is at or above
 * {@link #CPU_SATURATED}: then the CPU, not the link, sets the pace, and compressing can only slow the migration
 * (and, on a hypervisor host, the guests).
 * <p>
 * Threading: single writer, the source agent. No allocation.
 */
public final class EncodingChooser
{
    /** Shortest scoring epoch. */
    public static final long EPOCH_NS = 20_000_000;
    /** Fewest data pages in a scoring epoch. */
    public static final int EPOCH_PAGES = 64;
    /** With a known cap, one page in this many also tries LZ4 to keep its ratio and speed current. */
    public static final int SAMPLE_EVERY = 64;
    /** Epochs the winner runs before the next measurement; doubled after each clear win (by half again or more). */
    public static final int EXPLOIT_EPOCHS = 16;
    /** Raw epochs before the first measurement, so it is not taken while the JIT is still cold. */
    public static final int WARMUP_EPOCHS = 25;
    private static final int MAX_EXPLOIT_EPOCHS = 512;
    /** At or above this host CPU load compression cannot pay: the CPU, not the link, is the bottleneck. */
    public static final double CPU_SATURATED = 0.85;
    /** LZ4 must move this much more than raw to be preferred: raw costs no CPU and measurements are noisy. */
    public static final double LZ4_ADVANTAGE = 1.25;
    private static final double SMOOTHING = 0.5;
    private static final int RAW_ARM = 0;
    private static final int LZ4_ARM = 1;

    private final Compression mode;
    private final int pageSize;
    /** Volatile: a manager changes it on the agent thread while a lane on its own thread reads it. */
    private volatile long capBytesPerSec;
    private final java.util.function.DoubleSupplier cpuLoad;
    private double lastCpuLoad = Double.NaN;
    private double lz4PagesPerSec = 1e5;
    private long dataPages;
    private long deltaProbes;
    private boolean compressionPaid;
    private final double[] armPagesPerSec = { -1, -1 };
    private final double[] measuredSum = new double[2];
    private final int[] measuredCount = new int[2];
    private int measureStep;
    private int exploitLeft = WARMUP_EPOCHS;
    private int exploitLength = EXPLOIT_EPOCHS;
    private long cycles;
    private double deltaRatio = 0.1;
    private double lz4Ratio = 0.5;
    private int arm = RAW_ARM;
    private long epochStartNs;
    private long epochPages;

    /**
     * @param mode           compression setting.
     * @param pageSize       page size in bytes.
     * @param capBytesPerSec the configured bandwidth cap, 0 for none.
     * @param nowNs          current time.
     */
    public EncodingChooser(final Compression mode, final int pageSize, final long capBytesPerSec, final long nowNs)
    {
        this(mode, pageSize, capBytesPerSec, nowNs, io.pagestream.status.CpuLoad::system);
    }

    /**
     * @param mode           compression setting.
     * @param pageSize       page size in bytes.
     * @param capBytesPerSec the configured bandwidth cap, 0 for none.
     * @param nowNs          current time.
     * @param cpuLoad        the host's CPU load, 0 to 1 (NaN if unknown), read once per measurement decision.
     */
    public EncodingChooser(
        final Compression mode,
        final int pageSize,
        final long capBytesPerSec,
        final long nowNs,
        final java.util.function.DoubleSupplier cpuLoad)
    {
        this.cpuLoad = cpuLoad;
        this.mode = mode;
        if (mode == Compression.AUTO && capBytesPerSec == 0)
        {
            // Prime the reading at launch: the first one initialises JMX (tens of ms) and sets the baseline.
            cpuLoad.getAsDouble();
        }
        this.pageSize = pageSize;
        this.capBytesPerSec = capBytesPerSec;
        this.epochStartNs = nowNs;
    }

    /**
     * A manager changed the send cap: the cost model follows it. Going from a cap to none starts the CPU-load
     * reading the uncapped arm needs (its first read initialises JMX: tens of milliseconds, once).
     *
     * @param bytesPerSec the new cap, 0 for none.
     */
    public void cap(final long bytesPerSec)
    {
        capBytesPerSec = bytesPerSec;
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
        switch (mode)
        {
            case NONE:
                return PageEncoding.RAW;
            case DELTA:
                return cached ? PageEncoding.DELTA : PageEncoding.RAW;
            case LZ4:
                return PageEncoding.LZ4;
            default:
                // While deltas fit the margin use them; when they stop, still probe one cached page in SAMPLE_EVERY.
                if (cached && (deltaRatio < 0.875 || ++deltaProbes % SAMPLE_EVERY == 0))
                {
                    return PageEncoding.DELTA;
                }
                return fallback();
        }
    }

    /**
     * @return the encoding to use when the chosen one did not fit the margin, or for pages delta cannot serve.
     */
    public PageEncoding fallback()
    {
        if (mode != Compression.AUTO)
        {
            return PageEncoding.RAW;
        }
        if (capBytesPerSec > 0)
        {
            return lz4PaysUnderCap() || ++dataPages % SAMPLE_EVERY == 0 ? PageEncoding.LZ4 : PageEncoding.RAW;
        }
        return arm == LZ4_ARM ? PageEncoding.LZ4 : PageEncoding.RAW;
    }

    /**
     * With the link's rate known (the cap), the model is exact: raw moves {@code cap / (P + H)} pages per second;
     * LZ4 moves the lesser of its encode rate and {@code cap / (r * P + H)}. LZ4 is used if that is more by
     * {@link #LZ4_ADVANTAGE}.
     */
    private boolean lz4PaysUnderCap()
    {
        final double header = io.pagestream.protocol.PageFlyweight.PAYLOAD_OFFSET;
        final double raw = capBytesPerSec / (pageSize + header);
        final double lz4 = Math.min(lz4PagesPerSec, capBytesPerSec / (lz4Ratio * pageSize + header));
        return lz4 > raw * LZ4_ADVANTAGE;
    }

    /**
     * Record one encode attempt.
     *
     * @param encoding     DELTA or LZ4.
     * @param encodedBytes result length, or -1 if it did not fit the margin (counted as a full page).
     * @param nanos        time the encode took.
     */
    public void onEncoded(final PageEncoding encoding, final int encodedBytes, final long nanos)
    {
        final double r = encodedBytes < 0 ? 1.0 : (double)encodedBytes / pageSize;
        if (encoding == PageEncoding.DELTA)
        {
            deltaRatio += SMOOTHING * (r - deltaRatio);
        }
        else
        {
            lz4Ratio += SMOOTHING * (r - lz4Ratio);
            lz4PagesPerSec += SMOOTHING * (1e9 / Math.max(1, nanos) - lz4PagesPerSec);
        }
    }

    /**
     * A data page went out completely.
     *
     * @param nowNs current time.
     */
    public void onPageSent(final long nowNs)
    {
        epochPages++;
        final long elapsed = nowNs - epochStartNs;
        if (capBytesPerSec == 0 && elapsed >= EPOCH_NS && epochPages >= EPOCH_PAGES)
        {
            endEpoch(epochPages * 1e9 / elapsed);
            epochStartNs = nowNs;
            epochPages = 0;
        }
    }

    /**
     * A round ended: the current epoch's timing includes work that is not sending, so it is discarded.
     *
     * @param nowNs current time.
     */
    public void onRoundBoundary(final long nowNs)
    {
        epochStartNs = nowNs;
        epochPages = 0;
    }

    private void endEpoch(final double pagesPerSec)
    {
        if (exploitLeft > 0)
        {
            if (--exploitLeft == 0 && cpuSaturated())
            {
                exploitLeft = exploitLength; // no CPU to spare for LZ4: raw without measuring
                arm = RAW_ARM;
            }
            else if (exploitLeft == 0)
            {
                measureStep = 0;
                measuredSum[RAW_ARM] = 0;
                measuredSum[LZ4_ARM] = 0;
                measuredCount[RAW_ARM] = 0;
                measuredCount[LZ4_ARM] = 0;
                arm = measuredArm(0);
            }
            return;
        }

        measuredSum[arm] += pagesPerSec;
        measuredCount[arm]++;
        if (++measureStep < 4)
        {
            arm = measuredArm(measureStep);
            return;
        }

        armPagesPerSec[RAW_ARM] = measuredSum[RAW_ARM] / measuredCount[RAW_ARM];
        armPagesPerSec[LZ4_ARM] = measuredSum[LZ4_ARM] / measuredCount[LZ4_ARM];
        final double advantage = armPagesPerSec[LZ4_ARM] / armPagesPerSec[RAW_ARM];
        arm = advantage > LZ4_ADVANTAGE ? LZ4_ARM : RAW_ARM;
        compressionPaid |= arm == LZ4_ARM;
        final boolean clearWin = advantage > 1.5 || advantage < 1 / 1.5;
        exploitLength = clearWin ? Math.min(MAX_EXPLOIT_EPOCHS, exploitLength * 2) : EXPLOIT_EPOCHS;
        exploitLeft = exploitLength;
        cycles++;
    }

    private boolean cpuSaturated()
    {
        final double load = cpuLoad.getAsDouble();
        lastCpuLoad = load;
        return load >= CPU_SATURATED;
    }

    /** @return the host CPU load read before the latest measurement decision, NaN if none. */
    public double lastCpuLoad()
    {
        return lastCpuLoad;
    }

    /**
     * The measurement order: raw, LZ4, LZ4, raw, then mirrored next time, so a steady drift (the JIT warming up,
     * a neighbour's load fading) weighs on both arms alike.
     */
    private int measuredArm(final int step)
    {
        final int first = (cycles & 1) == 0 ? RAW_ARM : LZ4_ARM;
        return step == 0 || step == 3 ? first : 1 - first;
    }

    /**
     * Whether the bulk pass should fill the page cache's free slots. Worth it when bytes are dear: in DELTA mode, and
     * in AUTO when a cap says the link is slow. Uncapped, AUTO leaves the cache to fill by admission in later rounds:
     * measured on the uncapped loopback, filling it made every hot page a delta in the (short) final round and cost
     * 15-20% of the migration time for bytes that were cheap to send raw.
     *
     * @return true to fill free cache slots during the bulk pass.
     */
    public boolean fillCacheDuringBulk()
    {
        return mode == Compression.DELTA || (mode == Compression.AUTO && capBytesPerSec > 0);
    }

    /**
     * Whether the page cache is worth its work (a lookup, a copy and an admission check per page). Always in DELTA
     * mode and in AUTO under a cap; uncapped, AUTO turns it on for good once a measurement has found LZ4 faster than
     * raw: a link slow enough for compression to pay is slow enough for deltas, which are cheaper still, and on a link
     * faster than the codecs the cache's copies only lengthen the stop-and-copy round (measured: downtime 174 ms with
     * the cache against 82 ms without, for no bytes saved).
     *
     * @return true to look pages up in the cache and offer sent pages to it.
     */
    public boolean isCacheWorthwhile()
    {
        return mode == Compression.DELTA || (mode == Compression.AUTO && (capBytesPerSec > 0 || compressionPaid));
    }

    /** @return true while the LZ4-first arm is in use. */
    public boolean isLz4Preferred()
    {
        return arm == LZ4_ARM;
    }

    /**
     * @param lz4 true for the LZ4-first arm.
     * @return that arm's smoothed data pages per second, -1 before it was measured.
     */
    public double armPagesPerSec(final boolean lz4)
    {
        return armPagesPerSec[lz4 ? LZ4_ARM : RAW_ARM];
    }

    /**
     * @param encoding DELTA or LZ4.
     * @return the codec's recent ratio of encoded to page bytes.
     */
    public double ratio(final PageEncoding encoding)
    {
        return encoding == PageEncoding.DELTA ? deltaRatio : lz4Ratio;
    }
}
