package io.pagestream.api;

import java.util.Locale;

/**
 * The settings of a running migration a manager may change through {@link MigrationControl}, as they are now on the
 * source's agent thread: launched from the {@link MigrationSource.Context}, changed since by {@link #adjustments()}
 * calls. Immutable.
 */
public final class MigrationSettings
{
    private final long maxBandwidthBytesPerSec;
    private final long postcopyBandwidthBytesPerSec;
    private final long downtimeTargetMs;
    private final boolean postcopyAllowed;
    private final boolean postcopyRequested;
    private final boolean switchoverHeld;
    private final int adjustments;

    /**
     * @param maxBandwidthBytesPerSec      the send cap, 0 for none.
     * @param postcopyBandwidthBytesPerSec the post-copy push cap, 0 for the same as the send cap.
     * @param downtimeTargetMs             the downtime target the built-in policies judge against.
     * @param postcopyAllowed              whether the policy may switch to post-copy.
     * @param postcopyRequested            a manager asked for post-copy at the end of the current round.
     * @param switchoverHeld               held at the end of the current round (left open) until released.
     * @param adjustments                  changes applied since launch.
     */
    public MigrationSettings(
        final long maxBandwidthBytesPerSec,
        final long postcopyBandwidthBytesPerSec,
        final long downtimeTargetMs,
        final boolean postcopyAllowed,
        final boolean postcopyRequested,
        final boolean switchoverHeld,
        final int adjustments)
    {
        this.maxBandwidthBytesPerSec = maxBandwidthBytesPerSec;
        this.postcopyBandwidthBytesPerSec = postcopyBandwidthBytesPerSec;
        this.downtimeTargetMs = downtimeTargetMs;
        this.postcopyAllowed = postcopyAllowed;
        this.postcopyRequested = postcopyRequested;
        this.switchoverHeld = switchoverHeld;
        this.adjustments = adjustments;
    }

    /** @return the send cap in bytes per second, 0 for none. */
    public long maxBandwidthBytesPerSec()
    {
        return maxBandwidthBytesPerSec;
    }

    /** @return the post-copy push cap in bytes per second, 0 for the same as {@link #maxBandwidthBytesPerSec()}. */
    public long postcopyBandwidthBytesPerSec()
    {
        return postcopyBandwidthBytesPerSec;
    }

    /** @return the downtime target in milliseconds. */
    public long downtimeTargetMs()
    {
        return downtimeTargetMs;
    }

    /** @return whether the policy may switch to post-copy (if the target offered it). */
    public boolean postcopyAllowed()
    {
        return postcopyAllowed;
    }

    /** @return true while a request for post-copy waits for the end of the current round. */
    public boolean postcopyRequested()
    {
        return postcopyRequested;
    }

    /** @return true while the switchover is held by a manager. */
    public boolean switchoverHeld()
    {
        return switchoverHeld;
    }

    /** @return changes applied since launch. */
    public int adjustments()
    {
        return adjustments;
    }

    /** {@inheritDoc} */
    public String toString()
    {
        return String.format(Locale.ROOT, "cap %s, post-copy cap %s, downtime target %d ms, post-copy %s%s%s, " +
            "%d adjustments",
            maxBandwidthBytesPerSec == 0 ? "none" : String.format(Locale.ROOT, "%.1f MB/s", maxBandwidthBytesPerSec / 1e6),
            postcopyBandwidthBytesPerSec == 0 ? "same" :
                String.format(Locale.ROOT, "%.1f MB/s", postcopyBandwidthBytesPerSec / 1e6),
            downtimeTargetMs, postcopyAllowed ? "allowed" : "forbidden", postcopyRequested ? " (requested)" : "",
            switchoverHeld ? ", switchover HELD" : "", adjustments);
    }
}
