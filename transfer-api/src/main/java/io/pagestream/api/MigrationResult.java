package io.pagestream.api;

/**
 * How a migration ended.
 */
public enum MigrationResult
{
    /** The target holds the guest and may run it. */
    COMPLETED,
    /** A fault or the policy ended the migration; see the report's reason and error code. */
    FAILED,
    /** The application cancelled the migration. */
    CANCELLED
}
