package io.pagestream.api;

/**
 * Stable error codes. The integer {@link #value()} crosses the wire in error frames and never changes meaning;
 * new codes are only ever appended.
 */
public enum ErrorCode
{
    /** Anything not covered by a more specific code. */
    GENERIC(1),
    /** The peer speaks a protocol version this build does not support. */
    UNSUPPORTED_VERSION(2),
    /** A frame is too short, too long or has an inconsistent length field. */
    MALFORMED_FRAME(3),
    /** A frame named a migration session other than the agreed one. */
    WRONG_SESSION(4),
    /** A page index lies outside the guest's memory. */
    PAGE_INDEX_OUT_OF_RANGE(5),
    /** A length or offset field lies outside what the page or buffer allows. */
    BAD_LENGTH(6),
    /** A page frame names an encoding this build does not know. */
    UNKNOWN_ENCODING(7),
    /** The checksum of a decoded page does not match the one the sender computed. */
    CHECKSUM_MISMATCH(8),
    /** Source and target disagree on page size or guest memory layout. */
    LAYOUT_MISMATCH(9),
    /** The device state could not be transferred, verified or restored. */
    DEVICE_STATE_FAILED(10),
    /** A bounded wait ran out. */
    TIMEOUT(11),
    /** The peer stopped answering or its stream went away. */
    PEER_LOST(12),
    /** The migration was cancelled by the application on either side. */
    CANCELLED(13),
    /** The policy gave up: the rounds did not converge within their bounds. */
    NOT_CONVERGED(14),
    /** No target answered the handshake within the connect timeout. */
    TARGET_UNREACHABLE(15),
    /** A bug or an unexpected fault inside PageStream. */
    INTERNAL(16),
    /** A frame type this build does not know. */
    UNKNOWN_FRAME_TYPE(17),
    /** A frame arrived in a phase where it is not allowed, or round bookkeeping disagrees. */
    PROTOCOL_VIOLATION(18),
    /** The hypervisor's callbacks (dirty log, vCPU control, device state) failed. */
    HYPERVISOR_CALLBACK_FAILED(19),
    /** A configuration value was invalid. */
    INVALID_CONFIGURATION(20),
    /** The peer lacks a capability the migration needs (for example post-copy on the target). */
    MISSING_CAPABILITY(21),
    /**
     * Post-copy could not finish: the target ran the guest, pages it still lacks exist only on the source, and the
     * source is gone. The guest is lost; it is never resumed over pages that did not arrive.
     */
    GUEST_LOST(22),
    /** The peer failed the handshake's challenge: it does not hold the migration's secret key. */
    AUTHENTICATION_FAILED(23),
    /** The source offered a different virtual machine than the one this target was set up to receive. */
    WRONG_VM(24),
    /**
     * The transport could not be set up at launch: an endpoint that cannot be bound (a port in use, an address not
     * on this host), a media driver that does not answer, a directory that cannot be used. The cause says which.
     */
    TRANSPORT_FAILED(25),
    /** The target cannot hold the guest: it would need more memory than this process may have. */
    INSUFFICIENT_MEMORY(26),
    /**
     * The source abandoned a stop-and-copy that kept the guest paused past the downtime target by more than the
     * downtime guard's margin before the target confirmed; the guest runs on the source.
     */
    DOWNTIME_GUARD(27),
    /**
     * Stop-and-copy, target side: COMPLETE went out and neither COMMIT nor ERROR came back in time, so whether the
     * source committed is unknown. The target holds the complete guest and never resumed it; ask the source (its
     * report is COMPLETED if it committed) and resolve with {@code MigrationTarget.resolveCommit} while it waits.
     */
    COMMIT_UNKNOWN(28),
    /**
     * A snapshot file cannot be used: not a snapshot, incomplete (no completion footer), metadata that fails its
     * checksum, or a chain whose parent is missing or is not the file the child was taken after. The message names
     * the file and what is wrong; nothing was restored.
     */
    SNAPSHOT_INVALID(29);

    private static final ErrorCode[] BY_VALUE;

    static
    {
        int max = 0;
        for (final ErrorCode code : values())
        {
            max = Math.max(max, code.value);
        }
        BY_VALUE = new ErrorCode[max + 1];
        for (final ErrorCode code : values())
        {
            BY_VALUE[code.value] = code;
        }
    }

    private final int value;

    ErrorCode(final int value)
    {
        this.value = value;
    }

    /**
     * The stable integer sent on the wire.
     *
     * @return the wire value.
     */
    public int value()
    {
        return value;
    }

    /**
     * Look up a code by its wire value.
     *
     * @param value as received.
     * @return the code, or {@link #GENERIC} for a value this build does not know.
     */
    public static ErrorCode get(final int value)
    {
        if (value > 0 && value < BY_VALUE.length && null != BY_VALUE[value])
        {
            return BY_VALUE[value];
        }
        return GENERIC;
    }
}
