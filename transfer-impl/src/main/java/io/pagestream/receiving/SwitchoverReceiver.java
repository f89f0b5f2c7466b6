package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.DeviceState;
import io.pagestream.codec.Checksums;
import io.pagestream.pages.PageBitmap;
import io.pagestream.pages.PageMapAssembler;
import io.pagestream.protocol.DeviceStateFlyweight;
import io.pagestream.protocol.SwitchoverFlyweight;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The target's side of the hand-over: the PENDING_MAP of a post-copy switchover, the device state in chunks, and the
 * SWITCHOVER frame, which is checked against everything that arrived (the last round, the device state's length and
 * CRC32C, the total page frames, and every page received, or received or pending for post-copy) before the device
 * state is restored. Then COMPLETE is sent; a stop-and-copy guest resumes here only on the source's COMMIT. The
 * restore, and at a post-copy switchover the discard of the stale pages, are timed for the report: both are
 * downtime.
 * <p>
 * Threading: the target conductor's thread.
 */
final class SwitchoverReceiver
{
    enum State
    {
        RECEIVING, SEND_COMPLETE, AWAIT_COMMIT, DONE
    }

    private final DeviceState deviceState;
    private final NanoClock clock;
    private final int maxDeviceStateBytes;
    private final boolean postcopyEnabled;
    private final PageMapAssembler pendingAssembler = new PageMapAssembler();
    private final DeviceStateFlyweight deviceStateFlyweight = new DeviceStateFlyweight();
    private final long pageCount;
    private PageBitmap pending;
    private UnsafeBuffer deviceStateBuffer;
    private int deviceStateReceived;
    private State state = State.RECEIVING;
    private boolean postcopy;
    private int switchRound = -1;
    private boolean follower;
    private long deviceRestoreNs;
    private long staleDiscardNs;

    /**
     * @param deviceState         the target's device state, restored at the switchover.
     * @param maxDeviceStateBytes the largest device state accepted.
     * @param postcopyEnabled     whether a post-copy switchover is accepted.
     * @param pageCount           guest pages.
     * @param clock               times the restore and the discard of stale pages.
     */
    SwitchoverReceiver(final DeviceState deviceState, final int maxDeviceStateBytes, final boolean postcopyEnabled,
        final long pageCount, final NanoClock clock)
    {
        this.deviceState = deviceState;
        this.clock = clock;
        this.maxDeviceStateBytes = maxDeviceStateBytes;
        this.postcopyEnabled = postcopyEnabled;
        this.pageCount = pageCount;
    }

    State state()
    {
        return state;
    }

    boolean isPostcopy()
    {
        return postcopy;
    }

    /** @return the last pre-copy round before the switch, -1 before a SWITCHOVER was accepted. */
    int switchRound()
    {
        return switchRound;
    }

    int deviceStateBytes()
    {
        return deviceStateReceived;
    }

    /** @return how long restoring the device state took; 0 before it was restored. */
    long deviceRestoreNs()
    {
        return deviceRestoreNs;
    }

    /** @return how long a post-copy switchover took to make the pending pages absent (stale pages discarded). */
    long staleDiscardNs()
    {
        return staleDiscardNs;
    }

    /** @return the pending set of a post-copy switchover, or null. */
    PageBitmap pending()
    {
        return pending;
    }

    /**
     * @param buffer holding a PENDING_MAP frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onPendingMapChunk(final DirectBuffer buffer, final int offset, final int length)
    {
        if (pendingAssembler.isComplete())
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "PENDING_MAP after the map's last chunk");
        }
        if (null == pending)
        {
            pending = new PageBitmap(pageCount);
            pendingAssembler.start(pending);
        }
        pendingAssembler.onChunk(buffer, offset, length);
    }

    /**
     * @param buffer holding a DEVICE_STATE frame.
     * @param offset of the frame.
     * @param length of the frame.
     * @return true if this was the first chunk (the guest is paused on the source: stop-and-copy).
     */
    boolean onDeviceStateChunk(final DirectBuffer buffer, final int offset, final int length)
    {
        deviceStateFlyweight.wrapForRead(buffer, offset);
        deviceStateFlyweight.validate(length, maxDeviceStateBytes, deviceStateReceived);
        final int total = deviceStateFlyweight.totalLength();
        boolean first = false;
        if (null == deviceStateBuffer)
        {
            // Allocated once, bounded by maxDeviceStateBytes which validate() enforced.
            deviceStateBuffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(Math.max(total, 64), 64), 0, total);
            first = true;
        }
        else if (total != deviceStateBuffer.capacity())
        {
            throw new MigrationException(ErrorCode.DEVICE_STATE_FAILED,
                "totalLength=" + total + " changed from " + deviceStateBuffer.capacity() + " mid-transfer");
        }
        final int chunkLength = deviceStateFlyweight.chunkLength();
        deviceStateBuffer.putBytes(deviceStateReceived, buffer, offset + DeviceStateFlyweight.DATA_OFFSET, chunkLength);
        deviceStateReceived += chunkLength;
        return first;
    }

    /**
     * Check the SWITCHOVER against what arrived, restore the device state, and (post-copy) make the received pages
     * present.
     *
     * @param switchover the validated frame.
     * @param image      the guest image.
     * @return true for a post-copy switchover (the guest may run now), false for stop-and-copy.
     */
    boolean onSwitchover(final SwitchoverFlyweight switchover, final GuestImage image)
    {
        if (state != State.RECEIVING)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "SWITCHOVER in state " + state);
        }
        final int round = image.round();
        if (switchover.finalRound() != round - 1)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "finalRound=" + switchover.finalRound() +
                " in SWITCHOVER frame, last round ended was " + (round - 1));
        }
        final int stateLength = switchover.deviceStateLength();
        if (stateLength != deviceStateReceived)
        {
            throw new MigrationException(ErrorCode.DEVICE_STATE_FAILED,
                "deviceStateLength=" + stateLength + " in SWITCHOVER frame, " + deviceStateReceived + " bytes arrived");
        }
        final int stateChecksum = stateLength == 0 ? 0 : Checksums.crc32c(deviceStateBuffer, 0, stateLength);
        if (stateChecksum != switchover.deviceStateChecksum())
        {
            throw new MigrationException(ErrorCode.CHECKSUM_MISMATCH, "device state CRC32C 0x" +
                Integer.toHexString(stateChecksum) + ", SWITCHOVER frame says 0x" +
                Integer.toHexString(switchover.deviceStateChecksum()));
        }
        if (switchover.totalPageFrames() != image.totalPageFrames())
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "totalPageFrames=" +
                switchover.totalPageFrames() + " in SWITCHOVER frame, " + image.totalPageFrames() + " arrived");
        }
        final boolean toPostcopy = switchover.mode() == SwitchoverFlyweight.MODE_POSTCOPY;
        if (toPostcopy && follower)
        {
            throw new MigrationException(ErrorCode.CANCELLED, "follower released: the hand-over went to the " +
                "target in post-copy, whose pages a follower does not receive; the guest was not resumed here");
        }
        if (toPostcopy)
        {
            checkPostcopy(switchover, image);
        }
        else if (image.pagesMissing() != 0)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "SWITCHOVER with " + image.pagesMissing() + " pages never received");
        }
        final long restoreStartNs = clock.nanoTime();
        try
        {
            deviceState.restore(null == deviceStateBuffer ? new UnsafeBuffer(new byte[0]) : deviceStateBuffer, 0,
                stateLength);
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.DEVICE_STATE_FAILED, "deviceState.restore: " + ex, ex);
        }
        final long restoredNs = clock.nanoTime();
        deviceRestoreNs = restoredNs - restoreStartNs;
        switchRound = round - 1;
        postcopy = toPostcopy;
        if (toPostcopy)
        {
            image.startPostcopy(pending);
            staleDiscardNs = clock.nanoTime() - restoredNs;
        }
        else
        {
            state = follower ? State.AWAIT_COMMIT : State.SEND_COMPLETE;
        }
        return toPostcopy;
    }

    /**
     * A follower of a fan-out: it sends no COMPLETE (a stop-and-copy waits for COMMIT at once), and a post-copy
     * hand-over releases it.
     */
    void asFollower()
    {
        follower = true;
    }

    /** A follower promoted to target before the switchover: it will send COMPLETE and may take post-copy. */
    void promote()
    {
        follower = false;
    }

    private void checkPostcopy(final SwitchoverFlyweight switchover, final GuestImage image)
    {
        if (!postcopyEnabled)
        {
            throw new MigrationException(ErrorCode.MISSING_CAPABILITY,
                "SWITCHOVER to post-copy, but this target did not enable post-copy");
        }
        if (null == pending || !pendingAssembler.isComplete())
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "SWITCHOVER to post-copy without a complete PENDING_MAP before it");
        }
        final long pendingPages = pending.cardinality();
        if (pendingPages != switchover.pendingPages())
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "pendingPages=" + switchover.pendingPages() +
                " in SWITCHOVER frame, PENDING_MAP named " + pendingPages);
        }
        final long neither = image.pagesNeitherReceivedNorPending(pending);
        if (neither != 0)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "SWITCHOVER to post-copy with " + neither + " pages neither received nor pending");
        }
    }

    /** Every pending page arrived in post-copy: COMPLETE is due. */
    void onPostcopyComplete()
    {
        state = State.SEND_COMPLETE;
    }

    /**
     * Offer COMPLETE once; when it goes out, a stop-and-copy guest waits for COMMIT and a post-copy one is done.
     *
     * @param proxy   to the source.
     * @param image   the guest image, for its counts.
     * @param figures the fault figures, captured here once.
     * @param faults  the fault path.
     * @return the outcome: {@code RETRY} while back-pressured or reconnecting.
     */
    int sendComplete(final SourceProxy proxy, final GuestImage image, final TargetFigures figures,
        final FaultService faults)
    {
        figures.captureFaults(faults);
        final int outcome = proxy.complete(image.pagesReceived(), image.totalPageFrames(), figures.faultCount(),
            figures.faultP50Us(), figures.faultP99Us(), figures.faultMaxUs());
        if (outcome == io.pagestream.transport.FrameSink.SENT)
        {
            state = postcopy ? State.DONE : State.AWAIT_COMMIT;
        }
        return outcome;
    }

    /**
     * COMPLETE again while COMMIT has not come: a source that committed answers with COMMIT again, so a link that
     * died between the two and came back closes the window by itself.
     *
     * @param proxy to the source.
     * @param image the guest image, for its counts.
     * @param figures the fault figures.
     * @return the outcome.
     */
    int resendComplete(final SourceProxy proxy, final GuestImage image, final TargetFigures figures)
    {
        return proxy.complete(image.pagesReceived(), image.totalPageFrames(), figures.faultCount(),
            figures.faultP50Us(), figures.faultP99Us(), figures.faultMaxUs());
    }

    /** The source let go of the guest. */
    void onCommit()
    {
        if (state != State.AWAIT_COMMIT)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "COMMIT in state " + state +
                ", before this target reported COMPLETE");
        }
        state = State.DONE;
    }
}
