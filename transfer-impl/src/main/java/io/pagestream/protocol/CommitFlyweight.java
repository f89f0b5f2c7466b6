package io.pagestream.protocol;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * COMMIT, source to target on the data stream: the second phase of a stop-and-copy switchover. The target answered
 * SWITCHOVER with COMPLETE ("ready") and waits; the source, on hearing it, commits (its copy of the guest stays paused
 * for good) and sends this. Only a target that has it resumes the guest; one that hears an ERROR instead, or nothing,
 * never does. So a lost COMPLETE can no longer leave the guest running on both hosts.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                 Downtime so far, ns (64)                    ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class CommitFlyweight extends FrameFlyweight
{
    /** Offset of the downtime the source measured up to the commit. */
    public static final int DOWNTIME_OFFSET = HEADER_LENGTH;
    /** Frame length. */
    public static final int LENGTH = DOWNTIME_OFFSET + 8;

    /**
     * @param v nanoseconds from pausing the guest to the commit, at the source.
     * @return this.
     */
    public CommitFlyweight downtimeNs(final long v)
    {
        buffer.putLong(offset + DOWNTIME_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return nanoseconds from pausing the guest to the commit, at the source. */
    public long downtimeNs()
    {
        return buffer.getLong(offset + DOWNTIME_OFFSET, LITTLE_ENDIAN);
    }

    /** @param receivedLength bytes that arrived. */
    public void validate(final int receivedLength)
    {
        requireLength(receivedLength, LENGTH, true);
    }
}
