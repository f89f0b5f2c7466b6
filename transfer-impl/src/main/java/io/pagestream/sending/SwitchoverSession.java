package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.codec.Checksums;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.DeviceStateFlyweight;
import io.pagestream.protocol.PageMapWriter;
import io.pagestream.protocol.SwitchoverFlyweight;
import io.pagestream.status.LocalFailure;
import io.pagestream.transport.BandwidthLimiter;
import io.pagestream.transport.FrameSink;
import org.agrona.DirectBuffer;

import java.util.concurrent.TimeUnit;

/**
 * The hand-over, with the guest paused here.
 * <ul>
 * <li>Stop-and-copy (after the last round was sent): device state, SWITCHOVER, then the target's COMPLETE, then
 * COMMIT: two phases, so the guest resumes on the target only once this source has let go. If COMMIT cannot be put
 * on the wire within {@value #COMMIT_SEND_MS} ms the switchover is abandoned and the guest stays here (the target,
 * never told, does not resume it either).</li>
 * <li>Post-copy: the dirty set as PENDING_MAP chunks, device state, then SWITCHOVER; from that frame the guest
 * belongs to the target ({@link #isCommitted()}) and is never resumed here.</li>
 * </ul>
 * Every wait spans duty cycles with a deadline; nothing here spins. Threading: the source conductor's thread.
 */
final class SwitchoverSession
{
    enum State
    {
        SEND_PENDING_MAP, SEND_DEVICE_STATE, SEND_SWITCHOVER, AWAIT_COMPLETE, SEND_COMMIT, DONE
    }

    static final long COMMIT_SEND_MS = 1000;

    private final TargetProxy proxy;
    private final GuestControl guest;
    private final BandwidthLimiter limiter;
    private final LaneStats controlStats;
    private final PageMapWriter pageMapWriter = new PageMapWriter();
    private State state = State.SEND_DEVICE_STATE;
    private boolean postcopy;
    private boolean committed;
    private int finalRound;
    private long totalPageFrames;
    private long pendingPages;
    private DirectBuffer deviceState;
    private int deviceStateLength;
    private int deviceStateChecksum;
    private int deviceStateSent;
    private long commitDeadlineNs;
    private long commitDowntimeNs;
    private int recommits;
    private long rateLimitedWaits;

    SwitchoverSession(
        final TargetProxy proxy,
        final GuestControl guest,
        final BandwidthLimiter limiter,
        final LaneStats controlStats)
    {
        this.proxy = proxy;
        this.guest = guest;
        this.limiter = limiter;
        this.controlStats = controlStats;
    }

    /**
     * Stop-and-copy: the last round is sent with the guest paused; save and send the device state.
     *
     * @param lastRound       the stop-and-copy round.
     * @param pageFramesTotal page frames sent in all, every lane.
     */
    void startStopAndCopy(final int lastRound, final long pageFramesTotal)
    {
        postcopy = false;
        finalRound = lastRound;
        totalPageFrames = pageFramesTotal;
        saveDeviceState();
    }

    /**
     * Post-copy: pause the guest for good, take the last dirty set as the pages still to come, and send it.
     *
     * @param lastRound       the last pre-copy round sent.
     * @param pageFramesTotal page frames sent in all, every lane.
     * @param dirty           receives the dirty set; it becomes the push's pending set.
     * @param nowNs           current time: the pause begins.
     */
    void startPostcopy(final int lastRound, final long pageFramesTotal, final PageBitmap dirty, final long nowNs)
    {
        postcopy = true;
        finalRound = lastRound;
        totalPageFrames = pageFramesTotal;
        guest.pause();
        guest.fetchDirty(dirty);
        // Tracking stays on until the migration ends: the paused guest writes nothing, and ending it (for the
        // kernel's log, unregistering every protected page) would lengthen the downtime for nothing.
        pendingPages = dirty.cardinality();
        pageMapWriter.start(dirty.words());
        state = State.SEND_PENDING_MAP;
    }

    State state()
    {
        return state;
    }

    boolean isDone()
    {
        return state == State.DONE;
    }

    boolean isPostcopy()
    {
        return postcopy;
    }

    /** @return true once the guest belongs to the target: SWITCHOVER sent (post-copy) or COMMIT sent. */
    boolean isCommitted()
    {
        return committed;
    }

    /** @return true while cancelling may still keep the guest here (before the target was asked to complete). */
    boolean isCancellable()
    {
        return state == State.SEND_PENDING_MAP || state == State.SEND_DEVICE_STATE || state == State.SEND_SWITCHOVER;
    }

    int finalRound()
    {
        return finalRound;
    }

    long pendingPages()
    {
        return pendingPages;
    }

    int deviceStateBytes()
    {
        return deviceStateSent;
    }

    long rateLimitedWaits()
    {
        return rateLimitedWaits;
    }

    int doWork(final long nowNs)
    {
        switch (state)
        {
            case SEND_PENDING_MAP:
                return sendPendingMap(nowNs);
            case SEND_DEVICE_STATE:
                return sendDeviceState(nowNs);
            case SEND_SWITCHOVER:
                return sendSwitchover();
            case SEND_COMMIT:
                return sendCommit(nowNs);
            default:
                return 0;
        }
    }

    /**
     * The target has everything and is ready to run the guest: send COMMIT (now, or over the next cycles).
     *
     * @param nowNs current time.
     */
    void onComplete(final long nowNs)
    {
        if (state == State.AWAIT_COMPLETE)
        {
            commitDeadlineNs = nowNs + TimeUnit.MILLISECONDS.toNanos(COMMIT_SEND_MS);
            state = State.SEND_COMMIT;
            sendCommit(nowNs);
        }
    }

    private int sendPendingMap(final long nowNs)
    {
        int work = 0;
        while (true)
        {
            final int length = proxy.pendingMapChunkLength(pageMapWriter);
            if (!limiter.tryAcquire(length, nowNs))
            {
                rateLimitedWaits++;
                return work;
            }
            final int outcome = proxy.pendingMapChunk(pageMapWriter);
            if (outcome <= 0)
            {
                notSent(outcome, length);
                return work;
            }
            controlStats.bytes += length;
            work++;
            if (pageMapWriter.onSent())
            {
                break;
            }
        }
        saveDeviceState();
        return work + sendDeviceState(nowNs);
    }

    private void saveDeviceState()
    {
        final DirectBuffer saved = guest.saveDeviceState();
        deviceState = saved;
        deviceStateLength = null == saved ? 0 : saved.capacity();
        deviceStateChecksum = deviceStateLength == 0 ? 0 : Checksums.crc32c(saved, 0, deviceStateLength);
        deviceStateSent = 0;
        state = State.SEND_DEVICE_STATE;
    }

    private int sendDeviceState(final long nowNs)
    {
        int work = 0;
        final int room = proxy.deviceStateChunkRoom();
        while (deviceStateSent < deviceStateLength)
        {
            final int length = Math.min(room, deviceStateLength - deviceStateSent);
            final int frameLength = DeviceStateFlyweight.DATA_OFFSET + length;
            if (!limiter.tryAcquire(frameLength, nowNs))
            {
                rateLimitedWaits++;
                return work;
            }
            final int outcome = proxy.deviceStateChunk(deviceStateLength, deviceStateSent, deviceState, length);
            if (outcome != FrameSink.SENT)
            {
                notSent(outcome, frameLength);
                return work;
            }
            controlStats.bytes += frameLength;
            deviceStateSent += length;
            work++;
        }
        state = State.SEND_SWITCHOVER;
        return work + sendSwitchover();
    }

    private int sendSwitchover()
    {
        final int outcome = proxy.switchover(finalRound, deviceStateLength, deviceStateChecksum, postcopy,
            totalPageFrames, postcopy ? pendingPages : 0);
        if (outcome != FrameSink.SENT)
        {
            notSent(outcome, 0);
            return 0;
        }
        controlStats.bytes += SwitchoverFlyweight.LENGTH;
        if (postcopy)
        {
            committed = true; // from here the guest belongs to the target: it may be running there already
            state = State.DONE;
        }
        else
        {
            state = State.AWAIT_COMPLETE;
        }
        return 1;
    }

    /** COMMIT again, to a target that repeated COMPLETE after the first was lost: the answer does not change. */
    void recommit()
    {
        if (committed)
        {
            proxy.commit(commitDowntimeNs);
            recommits++;
        }
    }

    /** @return COMMITs sent again to a target that asked again. */
    int recommits()
    {
        return recommits;
    }

    private int sendCommit(final long nowNs)
    {
        commitDowntimeNs = nowNs - guest.pauseNs();
        final int outcome = proxy.commit(commitDowntimeNs);
        if (outcome == FrameSink.SENT)
        {
            committed = true; // nothing from here can resume the guest on this host
            state = State.DONE;
            return 1;
        }
        if (outcome == FrameSink.CLOSED || nowNs > commitDeadlineNs)
        {
            throw new LocalFailure(ErrorCode.PEER_LOST, "could not send COMMIT to the target; the guest stays here");
        }
        return 0;
    }

    private void notSent(final int outcome, final int frameLength)
    {
        limiter.refund(frameLength);
        if (outcome == FrameSink.CLOSED)
        {
            throw new MigrationException(ErrorCode.PEER_LOST, "data lane 0 closed during the switchover");
        }
    }
}
