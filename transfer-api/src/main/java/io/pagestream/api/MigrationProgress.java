package io.pagestream.api;

/**
 * An immutable snapshot of a running migration, taken by {@code progress()} from any thread.
 */
public final class MigrationProgress
{
    private final MigrationPhase phase;
    private final int round;
    private final long pagesRemaining;
    private final long pagesTransferred;
    private final long bytesTransferred;
    private final double bytesPerSecond;
    private final double expectedDowntimeMs;
    private final double dirtyRatePagesPerSec;
    private final long elapsedMs;
    private final double throttleFraction;
    private final String lastDecision;
    private final MigrationSettings settings;

    /**
     * @param phase                current phase.
     * @param round                current round (0 is the bulk pass).
     * @param pagesRemaining       pages still to send in this round.
     * @param pagesTransferred     pages sent (source) or applied (target) so far, zero pages included.
     * @param bytesTransferred     bytes on the wire so far.
     * @param bytesPerSecond       recent transfer rate.
     * @param expectedDowntimeMs   downtime predicted at the last round end, 0 before the first.
     * @param dirtyRatePagesPerSec dirty rate measured in the last round.
     * @param elapsedMs            time since the migration started.
     */
    public MigrationProgress(
        final MigrationPhase phase,
        final int round,
        final long pagesRemaining,
        final long pagesTransferred,
        final long bytesTransferred,
        final double bytesPerSecond,
        final double expectedDowntimeMs,
        final double dirtyRatePagesPerSec,
        final long elapsedMs)
    {
        this(phase, round, pagesRemaining, pagesTransferred, bytesTransferred, bytesPerSecond, expectedDowntimeMs,
            dirtyRatePagesPerSec, elapsedMs, 0.0, "");
    }

    /**
     * @param phase                current phase.
     * @param round                current round (0 is the bulk pass).
     * @param pagesRemaining       pages still to send in this round, or in post-copy still missing.
     * @param pagesTransferred     pages sent (source) or applied (target) so far, zero pages included.
     * @param bytesTransferred     bytes on the wire so far.
     * @param bytesPerSecond       recent transfer rate.
     * @param expectedDowntimeMs   downtime predicted at the last round end, 0 before the first.
     * @param dirtyRatePagesPerSec dirty rate measured in the last round.
     * @param elapsedMs            time since the migration started.
     * @param throttleFraction     vCPU time held back by auto-converge now.
     * @param lastDecision         the policy's last decision with the figures behind it, empty before the first.
     */
    public MigrationProgress(
        final MigrationPhase phase,
        final int round,
        final long pagesRemaining,
        final long pagesTransferred,
        final long bytesTransferred,
        final double bytesPerSecond,
        final double expectedDowntimeMs,
        final double dirtyRatePagesPerSec,
        final long elapsedMs,
        final double throttleFraction,
        final String lastDecision)
    {
        this(phase, round, pagesRemaining, pagesTransferred, bytesTransferred, bytesPerSecond, expectedDowntimeMs,
            dirtyRatePagesPerSec, elapsedMs, throttleFraction, lastDecision, null);
    }

    /**
     * @param phase                current phase.
     * @param round                current round.
     * @param pagesRemaining       pages still to send in this round (an estimate in post-copy).
     * @param pagesTransferred     pages sent so far.
     * @param bytesTransferred     bytes on the wire so far.
     * @param bytesPerSecond       recent wire rate.
     * @param expectedDowntimeMs   downtime predicted if the switchover happened now.
     * @param dirtyRatePagesPerSec the guest's recent dirty rate.
     * @param elapsedMs            time since launch.
     * @param throttleFraction     the vCPU throttle in force.
     * @param lastDecision         the policy's last decision, as text.
     * @param settings             the settings in force (the source's), or null where there are none.
     */
    public MigrationProgress(
        final MigrationPhase phase,
        final int round,
        final long pagesRemaining,
        final long pagesTransferred,
        final long bytesTransferred,
        final double bytesPerSecond,
        final double expectedDowntimeMs,
        final double dirtyRatePagesPerSec,
        final long elapsedMs,
        final double throttleFraction,
        final String lastDecision,
        final MigrationSettings settings)
    {
        this.settings = settings;
        this.throttleFraction = throttleFraction;
        this.lastDecision = null == lastDecision ? "" : lastDecision;
        this.phase = phase;
        this.round = round;
        this.pagesRemaining = pagesRemaining;
        this.pagesTransferred = pagesTransferred;
        this.bytesTransferred = bytesTransferred;
        this.bytesPerSecond = bytesPerSecond;
        this.expectedDowntimeMs = expectedDowntimeMs;
        this.dirtyRatePagesPerSec = dirtyRatePagesPerSec;
        this.elapsedMs = elapsedMs;
    }

    /** @return current phase. */
    public MigrationPhase phase()
    {
        return phase;
    }

    /** @return current round; 0 is the bulk pass. */
    public int round()
    {
        return round;
    }

    /** @return pages still to send in the current round. */
    public long pagesRemaining()
    {
        return pagesRemaining;
    }

    /** @return pages sent (source) or applied (target) so far, zero pages included. */
    public long pagesTransferred()
    {
        return pagesTransferred;
    }

    /** @return bytes on the wire so far. */
    public long bytesTransferred()
    {
        return bytesTransferred;
    }

    /** @return recent transfer rate in bytes per second. */
    public double bytesPerSecond()
    {
        return bytesPerSecond;
    }

    /** @return downtime predicted at the last round end in milliseconds, 0 before the first. */
    public double expectedDowntimeMs()
    {
        return expectedDowntimeMs;
    }

    /** @return pages dirtied per second in the last round. */
    public double dirtyRatePagesPerSec()
    {
        return dirtyRatePagesPerSec;
    }

    /** @return milliseconds since the migration started. */
    public long elapsedMs()
    {
        return elapsedMs;
    }

    /** @return vCPU time held back by auto-converge now, 0 when not throttled. */
    public double throttleFraction()
    {
        return throttleFraction;
    }

    /** @return the policy's last decision and the figures behind it; empty before the first round ends. */
    public String lastDecision()
    {
        return lastDecision;
    }

    /** {@inheritDoc} */
    /**
     * @return the settings in force on the source (caps, downtime target, post-copy, a held switchover), or null on
     * the target.
     */
    public MigrationSettings settings()
    {
        return settings;
    }

    /** {@inheritDoc} */
    public String toString()
    {
        return String.format("%-13s round %2d  left %,10d pages  sent %,10d pages  %8.1f MB/s  " +
            "dirty %,9.0f pages/s  expected downtime %7.1f ms",
            phase, round, pagesRemaining, pagesTransferred, bytesPerSecond / 1e6, dirtyRatePagesPerSec,
            expectedDowntimeMs) + (throttleFraction > 0 ? String.format("  throttle %.0f%%", throttleFraction * 100) : "") +
            (null != settings && settings.switchoverHeld() ? "  SWITCHOVER HELD" : "");
    }
}
