package io.pagestream.api;

/**
 * Phases of a migration, in the order a successful pre-copy migration passes through them.
 */
public enum MigrationPhase
{
    /** Handshake: versions, guest layout and page size are agreed. */
    SETUP,
    /** First pass over all of guest memory while the guest runs. */
    BULK,
    /** Iterative rounds resending pages dirtied since the previous round. */
    ITERATE,
    /** vCPUs paused; the last dirty pages and the device state are sent. */
    STOP_AND_COPY,
    /** The target runs; remaining pages are pushed or demand-fetched. */
    POSTCOPY,
    /** The target holds the whole guest and may run it. */
    COMPLETE,
    /** The migration failed; before the target resumed, the guest keeps running on the source. */
    FAILED,
    /** The migration was cancelled; the guest keeps running on the source. */
    CANCELLED;

    /**
     * @return true for the three phases a migration never leaves.
     */
    public boolean isTerminal()
    {
        return this == COMPLETE || this == FAILED || this == CANCELLED;
    }
}
