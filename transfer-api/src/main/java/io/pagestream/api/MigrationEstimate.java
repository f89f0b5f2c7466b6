package io.pagestream.api;

import java.util.Locale;

/**
 * What a migration of this guest over this link is expected to do, before it starts: from the guest's populated
 * pages, its dirty rate sampled over a short window, the link's rate and the policy the migration would use.
 * Immutable.
 */
public final class MigrationEstimate
{
    private final long predictedTotalTimeMs;
    private final long predictedDowntimeMs;
    private final MigrationMode predictedMode;
    private final boolean converges;
    private final int predictedSwitchRound;
    private final double neededThrottle;
    private final long predictedBytesOnWire;
    private final long dataPages;
    private final long pageCount;
    private final double dirtyPagesPerSec;
    private final long dirtyPagesInOneSecond;
    private final long linkBytesPerSec;
    private final long sampleMs;
    private final String reason;

    /**
     * @param predictedTotalTimeMs  from the start to the end of the migration.
     * @param predictedDowntimeMs   the guest paused.
     * @param predictedMode         pre-copy, post-copy or hybrid.
     * @param converges             true if pre-copy alone reaches the downtime target (with no throttle).
     * @param predictedSwitchRound  the last pre-copy round before the switch, -1 if it never switches.
     * @param neededThrottle        the largest throttle auto-converge would apply, 0 for none.
     * @param predictedBytesOnWire  bytes sent.
     * @param dataPages             pages that may hold data (populated), sent in the bulk pass.
     * @param pageCount             pages in the guest.
     * @param dirtyPagesPerSec      pages the guest wrote a second (distinct over the first sample).
     * @param dirtyPagesInOneSecond distinct pages written over the sampling window, scaled to one second.
     * @param linkBytesPerSec       the link rate used.
     * @param sampleMs              the sampling window.
     * @param reason                the policy's deciding words.
     */
    public MigrationEstimate(
        final long predictedTotalTimeMs,
        final long predictedDowntimeMs,
        final MigrationMode predictedMode,
        final boolean converges,
        final int predictedSwitchRound,
        final double neededThrottle,
        final long predictedBytesOnWire,
        final long dataPages,
        final long pageCount,
        final double dirtyPagesPerSec,
        final long dirtyPagesInOneSecond,
        final long linkBytesPerSec,
        final long sampleMs,
        final String reason)
    {
        this.predictedTotalTimeMs = predictedTotalTimeMs;
        this.predictedDowntimeMs = predictedDowntimeMs;
        this.predictedMode = predictedMode;
        this.converges = converges;
        this.predictedSwitchRound = predictedSwitchRound;
        this.neededThrottle = neededThrottle;
        this.predictedBytesOnWire = predictedBytesOnWire;
        this.dataPages = dataPages;
        this.pageCount = pageCount;
        this.dirtyPagesPerSec = dirtyPagesPerSec;
        this.dirtyPagesInOneSecond = dirtyPagesInOneSecond;
        this.linkBytesPerSec = linkBytesPerSec;
        this.sampleMs = sampleMs;
        this.reason = null == reason ? "" : reason;
    }

    /** @return predicted time from start to end, ms. */
    public long predictedTotalTimeMs()
    {
        return predictedTotalTimeMs;
    }

    /** @return predicted downtime, ms. */
    public long predictedDowntimeMs()
    {
        return predictedDowntimeMs;
    }

    /** @return predicted mode. */
    public MigrationMode predictedMode()
    {
        return predictedMode;
    }

    /** @return true if pre-copy alone converges within the downtime target, without throttling. */
    public boolean converges()
    {
        return converges;
    }

    /** @return the last pre-copy round before the switch, -1 if the policy would give up instead. */
    public int predictedSwitchRound()
    {
        return predictedSwitchRound;
    }

    /** @return the largest vCPU throttle auto-converge would need, 0 for none. */
    public double neededThrottle()
    {
        return neededThrottle;
    }

    /** @return predicted bytes on the wire. */
    public long predictedBytesOnWire()
    {
        return predictedBytesOnWire;
    }

    /** @return pages that may hold data (the bulk pass's pages). */
    public long dataPages()
    {
        return dataPages;
    }

    /** @return the guest's pages. */
    public long pageCount()
    {
        return pageCount;
    }

    /** @return distinct pages written a second over the shortest sample. */
    public double dirtyPagesPerSec()
    {
        return dirtyPagesPerSec;
    }

    /** @return distinct pages written in one second of the sample (the working set a round of a second meets). */
    public long dirtyPagesInOneSecond()
    {
        return dirtyPagesInOneSecond;
    }

    /** @return the link rate the estimate used, bytes a second. */
    public long linkBytesPerSec()
    {
        return linkBytesPerSec;
    }

    /** @return how long the dirty rate was sampled, ms. */
    public long sampleMs()
    {
        return sampleMs;
    }

    /** @return the policy's words at the predicted switch (or give-up). */
    public String reason()
    {
        return reason;
    }

    /** @return the estimate as one JSON object. */
    public String toJson()
    {
        final StringBuilder b = new StringBuilder(512).append("{\n");
        b.append("  \"predictedTotalTimeMs\": ").append(predictedTotalTimeMs).append(",\n");
        b.append("  \"predictedDowntimeMs\": ").append(predictedDowntimeMs).append(",\n");
        b.append("  \"predictedMode\": \"").append(predictedMode.name()).append("\",\n");
        b.append("  \"converges\": ").append(converges).append(",\n");
        b.append("  \"predictedSwitchRound\": ").append(predictedSwitchRound).append(",\n");
        b.append("  \"neededThrottle\": ").append(String.format(Locale.ROOT, "%.2f", neededThrottle)).append(",\n");
        b.append("  \"predictedBytesOnWire\": ").append(predictedBytesOnWire).append(",\n");
        b.append("  \"dataPages\": ").append(dataPages).append(",\n");
        b.append("  \"pageCount\": ").append(pageCount).append(",\n");
        b.append("  \"dirtyPagesPerSec\": ").append(Math.round(dirtyPagesPerSec)).append(",\n");
        b.append("  \"dirtyPagesInOneSecond\": ").append(dirtyPagesInOneSecond).append(",\n");
        b.append("  \"linkBytesPerSec\": ").append(linkBytesPerSec).append(",\n");
        b.append("  \"sampleMs\": ").append(sampleMs).append(",\n");
        b.append("  \"reason\": ");
        MigrationReport.quote(b, reason);
        return b.append("\n}\n").toString();
    }

    /** {@inheritDoc} */
    public String toString()
    {
        return String.format(Locale.ROOT, "MigrationEstimate{%s, total %d ms, downtime %d ms, %s, switch after " +
            "round %d, throttle %.0f%%, %,d bytes, %,d of %,d pages with data, %,.0f dirty pages/s, %,d distinct in " +
            "1 s, link %,d B/s, sampled %d ms: %s}", predictedMode, predictedTotalTimeMs, predictedDowntimeMs,
            converges ? "converges" : "does not converge by pre-copy alone", predictedSwitchRound,
            neededThrottle * 100, predictedBytesOnWire, dataPages, pageCount, dirtyPagesPerSec, dirtyPagesInOneSecond,
            linkBytesPerSec, sampleMs, reason);
    }
}
