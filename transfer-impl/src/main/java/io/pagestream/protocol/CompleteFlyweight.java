package io.pagestream.protocol;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * COMPLETE, target to source: every page and the device state arrived and verified; the target may resume (or, in
 * post-copy, keeps running with every page present). Carries the target's post-copy fault figures for the report.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                   Pages Received (64)                       ...
 *  +---------------------------------------------------------------+
 *  |                Page Frames Received (64)                    ...
 *  +---------------------------------------------------------------+
 *  |                    Faults Served (64)                       ...
 *  +---------------------------------------------------------------+
 *  |                  Fault p50 Microseconds (64)                ...
 *  +---------------------------------------------------------------+
 *  |                  Fault p99 Microseconds (64)                ...
 *  +---------------------------------------------------------------+
 *  |                  Fault Max Microseconds (64)                ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class CompleteFlyweight extends FrameFlyweight
{
    /** Offset of the pages received. */
    public static final int PAGES_RECEIVED_OFFSET = HEADER_LENGTH;
    /** Offset of the page frames received. */
    public static final int PAGE_FRAMES_RECEIVED_OFFSET = PAGES_RECEIVED_OFFSET + 8;
    /** Offset of the faults served. */
    public static final int FAULTS_OFFSET = PAGE_FRAMES_RECEIVED_OFFSET + 8;
    /** Offset of the fault latency median. */
    public static final int FAULT_P50_OFFSET = FAULTS_OFFSET + 8;
    /** Offset of the fault latency 99th percentile. */
    public static final int FAULT_P99_OFFSET = FAULT_P50_OFFSET + 8;
    /** Offset of the fault latency maximum. */
    public static final int FAULT_MAX_OFFSET = FAULT_P99_OFFSET + 8;
    /** Frame length. */
    public static final int LENGTH = FAULT_MAX_OFFSET + 8;

    /**
     * @param count faults served.
     * @param p50Us median fault service time in microseconds.
     * @param p99Us 99th percentile in microseconds.
     * @param maxUs maximum in microseconds.
     * @return this.
     */
    public CompleteFlyweight faults(final long count, final long p50Us, final long p99Us, final long maxUs)
    {
        buffer.putLong(offset + FAULTS_OFFSET, count, LITTLE_ENDIAN);
        buffer.putLong(offset + FAULT_P50_OFFSET, p50Us, LITTLE_ENDIAN);
        buffer.putLong(offset + FAULT_P99_OFFSET, p99Us, LITTLE_ENDIAN);
        buffer.putLong(offset + FAULT_MAX_OFFSET, maxUs, LITTLE_ENDIAN);
        return this;
    }

    /** @return faults served. */
    public long faultCount()
    {
        return buffer.getLong(offset + FAULTS_OFFSET, LITTLE_ENDIAN);
    }

    /** @return median fault service time in microseconds. */
    public long faultP50Us()
    {
        return buffer.getLong(offset + FAULT_P50_OFFSET, LITTLE_ENDIAN);
    }

    /** @return 99th percentile fault service time in microseconds. */
    public long faultP99Us()
    {
        return buffer.getLong(offset + FAULT_P99_OFFSET, LITTLE_ENDIAN);
    }

    /** @return maximum fault service time in microseconds. */
    public long faultMaxUs()
    {
        return buffer.getLong(offset + FAULT_MAX_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v distinct pages received.
     * @return this.
     */
    public CompleteFlyweight pagesReceived(final long v)
    {
        buffer.putLong(offset + PAGES_RECEIVED_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return distinct pages received. */
    public long pagesReceived()
    {
        return buffer.getLong(offset + PAGES_RECEIVED_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * @param v page frames received.
     * @return this.
     */
    public CompleteFlyweight pageFramesReceived(final long v)
    {
        buffer.putLong(offset + PAGE_FRAMES_RECEIVED_OFFSET, v, LITTLE_ENDIAN);
        return this;
    }

    /** @return page frames received. */
    public long pageFramesReceived()
    {
        return buffer.getLong(offset + PAGE_FRAMES_RECEIVED_OFFSET, LITTLE_ENDIAN);
    }

    /** @param receivedLength bytes that arrived. */
    public void validate(final int receivedLength)
    {
        requireLength(receivedLength, LENGTH, true);
    }
}
