package io.pagestream.sending;

import io.pagestream.api.policy.RoundFigures;

/**
 * Bookkeeping of rounds on the source: what each round sent and how long it took, the smoothed bandwidth, the dirty
 * rate, and the downtime prediction handed to the policy. Implements {@link RoundFigures} as the view the policy
 * reads.
 * <p>
 * The prediction ({@link #predictedDowntimeMs()}) is the sum of what a stop-and-copy started now would cost with the
 * guest paused, each term measured or learnt:
 * <ul>
 * <li>the dirty pages at the measured bytes per page over the smoothed bandwidth, plus one handshake round trip for
 * the target's answer ({@link #predictDowntimeMs});</li>
 * <li>the last dirty-log fetch, as measured: the stop-and-copy makes one more ({@link #fetchCostNs(long)});</li>
 * <li>the device state's transfer: its expected size ({@code DeviceState.sizeHintBytes()}) over the bandwidth
 * ({@link #deviceStateBytes(long)});</li>
 * <li>the device state's save: that size at a rate in ns per byte learnt in this JVM, from an earlier save of the
 * same device (a stop-and-copy the downtime guard abandoned, retried) or else the lowest rate of a completed
 * migration ({@link #deviceSaveNsPerByte(double)}); 0 where none was measured, and where the size is unknown.</li>
 * </ul>
 * Left out: the target's restore of the device state (measured there and reported as
 * {@code MigrationReport.deviceRestoreUs()}, but not known here before the pause) and anything the guest's own pause
 * costs the hypervisor.
 * <p>
 * Threading: single writer (the source agent); the per-page methods only add to fields.
 */
public final class RoundTracker implements RoundFigures, RoundCounts
{
    /** A round must send at least this much to update the bandwidth estimate. */
    static final long MIN_BYTES_FOR_BANDWIDTH = 1024 * 1024;
    private static final double SMOOTHING = 0.5;

    private long startNs;
    private final double defaultWireBytesPerPage;
    private int round;
    private long roundStartNs;
    private long lastFetchNs;
    private long roundPageFrames;
    private long roundPages;
    private long roundBytes;
    private long totalDataPages;
    private long totalDataBytes;
    private double bandwidthBytesPerSec;
    private long dirtyPages;
    private double dirtyRatePagesPerSec;
    private long roundDurationNs;
    private long lastRoundPages;
    private long lastRoundBytes;
    private long fetchCostNs;
    private long deviceStateBytes;
    private double deviceSaveNsPerByte;
    private long roundTripNs;
    private long nowNs;

    /**
     * @param startNs                 when the migration started.
     * @param defaultWireBytesPerPage bytes per page to assume before any page was measured.
     */
    public RoundTracker(final long startNs, final double defaultWireBytesPerPage)
    {
        this.startNs = startNs;
        this.defaultWireBytesPerPage = defaultWireBytesPerPage;
        this.roundStartNs = startNs;
        this.lastFetchNs = startNs;
        this.nowNs = startNs;
    }

    /**
     * Start the migration clock again, e.g. once launching is done: elapsed time counts from here.
     *
     * @param nowNs current time.
     */
    public void start(final long nowNs)
    {
        startNs = nowNs;
        roundStartNs = nowNs;
        lastFetchNs = nowNs;
        this.nowNs = nowNs;
    }

    /**
     * Begin a round.
     *
     * @param roundNumber the round, 0 for the bulk pass.
     * @param nowNs       current time.
     */
    public void beginRound(final int roundNumber, final long nowNs)
    {
        round = roundNumber;
        roundStartNs = nowNs;
        roundPageFrames = 0;
        roundPages = 0;
        roundBytes = 0;
        if (roundNumber == 0)
        {
            lastFetchNs = nowNs;
        }
    }

    /**
     * A page went out as data frames (not a zero run).
     *
     * @param frames number of frames (chunks) it took.
     * @param bytes  frame bytes, headers included.
     */
    public void onDataPage(final int frames, final int bytes)
    {
        roundPageFrames += frames;
        roundPages++;
        roundBytes += bytes;
        totalDataPages++;
        totalDataBytes += bytes;
    }

    /**
     * A zero-page run went out.
     *
     * @param pages in the run.
     * @param bytes of the frame.
     */
    public void onZeroRun(final long pages, final int bytes)
    {
        roundPages += pages;
        roundBytes += bytes;
    }

    /**
     * What a lane on a thread of its own sent since its counts were last folded in ({@link LaneTally}).
     *
     * @param dataPages      data pages.
     * @param frames         their frames.
     * @param dataBytes      their frame bytes.
     * @param zeroPages      pages sent in zero runs.
     * @param zeroRunBytes   the zero runs' frame bytes.
     */
    void onLaneCounts(
        final long dataPages, final long frames, final long dataBytes, final long zeroPages, final long zeroRunBytes)
    {
        roundPageFrames += frames;
        roundPages += dataPages + zeroPages;
        roundBytes += dataBytes + zeroRunBytes;
        totalDataPages += dataPages;
        totalDataBytes += dataBytes;
    }

    /**
     * End the round once its pages are sent and the dirty log was fetched.
     *
     * @param nowNs         current time.
     * @param newlyDirty    pages the fetch reported newly dirty.
     * @param dirtyNow      pages dirty now, to be sent next.
     */
    public void endRound(final long nowNs, final long newlyDirty, final long dirtyNow)
    {
        this.nowNs = nowNs;
        roundDurationNs = Math.max(1, nowNs - roundStartNs);
        final long sinceFetchNs = Math.max(1, nowNs - lastFetchNs);
        lastFetchNs = nowNs;
        dirtyPages = dirtyNow;
        dirtyRatePagesPerSec = newlyDirty * 1e9 / sinceFetchNs;
        lastRoundPages = roundPages;
        lastRoundBytes = roundBytes;

        final double rate = roundBytes * 1e9 / roundDurationNs;
        if (bandwidthBytesPerSec == 0)
        {
            bandwidthBytesPerSec = rate;
        }
        else if (roundBytes >= MIN_BYTES_FOR_BANDWIDTH)
        {
            bandwidthBytesPerSec = SMOOTHING * rate + (1 - SMOOTHING) * bandwidthBytesPerSec;
        }
    }

    private boolean postcopyAvailable;
    private long managedDowntimeTargetMs;
    private double throttleFraction;

    /**
     * @param rttNs measured handshake round trip.
     */
    public void roundTripNs(final long rttNs)
    {
        roundTripNs = rttNs;
    }

    /** @return page frames sent in the current round so far. */
    public long roundPageFrames()
    {
        return roundPageFrames;
    }

    /** @return pages covered in the current round so far. */
    public long roundPages()
    {
        return roundPages;
    }

    /** {@inheritDoc} */
    public int round()
    {
        return round;
    }

    /** {@inheritDoc} */
    public long dirtyPages()
    {
        return dirtyPages;
    }

    /** {@inheritDoc} */
    public double dirtyRatePagesPerSec()
    {
        return dirtyRatePagesPerSec;
    }

    /** {@inheritDoc} */
    public double bandwidthBytesPerSec()
    {
        return bandwidthBytesPerSec;
    }

    /** {@inheritDoc} */
    public double wireBytesPerPage()
    {
        return totalDataPages == 0 ? defaultWireBytesPerPage : (double)totalDataBytes / totalDataPages;
    }

    /**
     * {@inheritDoc}
     * <p>
     * Here: the data term ({@link #predictDowntimeMs}), plus the last dirty-log fetch, plus the device state's
     * transfer and its save (see the class comment).
     */
    public double predictedDowntimeMs()
    {
        final double deviceStateMs = deviceStateBytes <= 0 || bandwidthBytesPerSec <= 0 ? 0 :
            deviceStateBytes * 1000.0 / bandwidthBytesPerSec;
        return predictDowntimeMs(dirtyPages, wireBytesPerPage(), bandwidthBytesPerSec, roundTripNs) +
            fetchCostNs / 1e6 + deviceStateMs + deviceSaveMs();
    }

    /**
     * @return the device-state save in the prediction: the expected size at the learnt rate, 0 if either is unknown.
     */
    public double deviceSaveMs()
    {
        return deviceStateBytes <= 0 ? 0 : deviceStateBytes * deviceSaveNsPerByte / 1e6;
    }

    /**
     * @param nsPerByte what saving the device state costs per byte, learnt from earlier saves in this JVM; 0 if
     *                  none was measured.
     */
    public void deviceSaveNsPerByte(final double nsPerByte)
    {
        deviceSaveNsPerByte = Math.max(0, nsPerByte);
    }

    /**
     * @param costNs what the last dirty-log fetch took: stop-and-copy makes one more with the guest paused.
     */
    public void fetchCostNs(final long costNs)
    {
        fetchCostNs = costNs;
    }

    /**
     * @param bytes the device state's expected size ({@code DeviceState.sizeHintBytes()}): stop-and-copy sends it
     *              with the guest paused; 0 or less if unknown.
     */
    public void deviceStateBytes(final long bytes)
    {
        deviceStateBytes = bytes;
    }

    /**
     * The data part of the downtime model: bytes still to send after a pause over the bandwidth, plus one round trip
     * for the acknowledgement. {@link #predictedDowntimeMs()} adds the last dirty-log fetch and the device state's
     * transfer and save.
     *
     * @param dirtyPages           pages to send after the pause.
     * @param wireBytesPerPage     bytes each takes on the wire.
     * @param bandwidthBytesPerSec achieved bandwidth; 0 or less means unknown, predicting forever.
     * @param roundTripNs          one round trip.
     * @return predicted milliseconds.
     */
    public static double predictDowntimeMs(
        final long dirtyPages, final double wireBytesPerPage, final double bandwidthBytesPerSec, final long roundTripNs)
    {
        if (bandwidthBytesPerSec <= 0)
        {
            return dirtyPages == 0 ? roundTripNs / 1e6 : Double.POSITIVE_INFINITY;
        }
        return dirtyPages * wireBytesPerPage * 1000.0 / bandwidthBytesPerSec + roundTripNs / 1e6;
    }

    /** {@inheritDoc} */
    public long pagesSentInRound()
    {
        return lastRoundPages;
    }

    /** {@inheritDoc} */
    public long bytesSentInRound()
    {
        return lastRoundBytes;
    }

    /** {@inheritDoc} */
    public long roundDurationMs()
    {
        return roundDurationNs / 1_000_000;
    }

    /** {@inheritDoc} */
    public long elapsedMs()
    {
        return (nowNs - startNs) / 1_000_000;
    }

    /** {@inheritDoc} */
    public long roundTripUs()
    {
        return roundTripNs / 1000;
    }

    /** @param ms the downtime target a manager set, 0 for none. */
    public void managedDowntimeTargetMs(final long ms)
    {
        managedDowntimeTargetMs = ms;
    }

    /** {@inheritDoc} */
    public long managedDowntimeTargetMs()
    {
        return managedDowntimeTargetMs;
    }

    /** @param available whether the source may switch to post-copy. */
    public void postcopyAvailable(final boolean available)
    {
        postcopyAvailable = available;
    }

    /** @param fraction of vCPU time auto-converge holds back now. */
    public void throttleFraction(final double fraction)
    {
        throttleFraction = fraction;
    }

    /** {@inheritDoc} */
    public boolean postcopyAvailable()
    {
        return postcopyAvailable;
    }

    /** {@inheritDoc} */
    public double throttleFraction()
    {
        return throttleFraction;
    }
}
