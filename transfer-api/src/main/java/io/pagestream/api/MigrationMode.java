package io.pagestream.api;

/**
 * How the guest's memory finally got across.
 */
public enum MigrationMode
{
    /** Pre-copy rounds then stop-and-copy. */
    PRECOPY,
    /** Switchover right after the bulk pass; the rest moved after the target resumed. */
    POSTCOPY,
    /** Pre-copy rounds, then a switch to post-copy because rounds stopped converging. */
    HYBRID
}
