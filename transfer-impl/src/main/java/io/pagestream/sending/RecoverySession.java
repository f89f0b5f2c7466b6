package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.pages.PageBitmap;
import io.pagestream.pages.PageMapAssembler;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.security.FrameGuard;
import io.pagestream.status.LocalFailure;
import org.agrona.DirectBuffer;

import java.util.concurrent.TimeUnit;

/**
 * Recovery from a link lost in post-copy, when this source holds the only other copy of the pages the running
 * guest still lacks: close the lanes and open new ones (new Aeron sessions), say a resume hello (the key proven
 * again over fresh nonces), and take the target's MISSING_MAP as the pages still to push. Deltas are off from here:
 * frames in flight on the old session may have been lost, so cached versions may not match. If the target is not
 * back within {@code recoveryTimeoutMs} of the loss, the guest is lost ({@link ErrorCode#GUEST_LOST}); a resume
 * that stalls half-way starts over without resetting that clock.
 * <p>
 * Threading: the source conductor's thread.
 */
final class RecoverySession
{
    enum State
    {
        REOPEN, HANDSHAKE, AWAIT_MISSING_MAP, DONE
    }

    private final DataLanes lanes;
    private final UrgentLane urgent;
    private final TargetProxy proxy;
    private final FrameGuard controlGuard;
    private final HandshakeSession handshake;
    private final PageMapAssembler assembler = new PageMapAssembler();
    private final long timeoutNs;
    private final boolean frameAuthentication;
    private State state = State.DONE;
    private long startNs;
    private boolean recovering;
    private int recoveries;
    private PageBitmap missing;

    RecoverySession(
        final DataLanes lanes,
        final UrgentLane urgent,
        final TargetProxy proxy,
        final FrameGuard controlGuard,
        final HandshakeSession handshake,
        final long recoveryTimeoutMs,
        final boolean frameAuthentication)
    {
        this.lanes = lanes;
        this.urgent = urgent;
        this.proxy = proxy;
        this.controlGuard = controlGuard;
        this.handshake = handshake;
        this.timeoutNs = TimeUnit.MILLISECONDS.toNanos(recoveryTimeoutMs);
        this.frameAuthentication = frameAuthentication;
    }

    /**
     * Begin (or begin again) recovering.
     *
     * @param why     what was lost, for the error if recovery is not allowed.
     * @param pending receives the target's missing map.
     * @param nowNs   current time.
     */
    void start(final String why, final PageBitmap pending, final long nowNs)
    {
        if (timeoutNs == 0)
        {
            throw new LocalFailure(ErrorCode.GUEST_LOST, why + ", and recoveryTimeoutMs=0");
        }
        if (!recovering)
        {
            startNs = nowNs;
            recovering = true;
        }
        missing = pending;
        lanes.disableCache();
        lanes.streams().reopen();
        urgent.reopen();
        if (frameAuthentication)
        {
            controlGuard.rekey(HelloAckFlyweight.LENGTH);
        }
        state = State.REOPEN;
    }

    State state()
    {
        return state;
    }

    boolean isDone()
    {
        return state == State.DONE;
    }

    /** @return true once the target answered the resume hello: a silence from here restarts the recovery. */
    boolean isResumeAcknowledged()
    {
        return state == State.AWAIT_MISSING_MAP || (state == State.HANDSHAKE && handshake.acknowledged());
    }

    /** @return recoveries completed. */
    int recoveries()
    {
        return recoveries;
    }

    int doWork(final long nowNs)
    {
        if (state != State.DONE && nowNs - startNs > timeoutNs)
        {
            throw new LocalFailure(ErrorCode.GUEST_LOST, "the target did not come back within recoveryTimeoutMs=" +
                TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " of losing it in post-copy");
        }
        switch (state)
        {
            case REOPEN:
                if (lanes.streams().pollReopened())
                {
                    proxy.controlSink(lanes.controlSink());
                    handshake.start(true, nowNs);
                    state = State.HANDSHAKE;
                    return 1;
                }
                return 0;

            case HANDSHAKE:
                final int work = handshake.doWork(nowNs);
                if (handshake.isDone())
                {
                    state = State.AWAIT_MISSING_MAP;
                    return work + 1 + finishIfComplete();
                }
                return work;

            case AWAIT_MISSING_MAP:
                return finishIfComplete();

            default:
                return 0;
        }
    }

    private int finishIfComplete()
    {
        if (assembler.isComplete())
        {
            recoveries++;
            recovering = false;
            state = State.DONE;
            return 1;
        }
        return 0;
    }

    /**
     * @param ack   the target's answer to the resume hello.
     * @param nowNs current time.
     */
    void onHelloAck(final HelloAckFlyweight ack, final long nowNs)
    {
        if (state == State.HANDSHAKE)
        {
            final boolean before = handshake.acknowledged();
            handshake.onHelloAck(ack, nowNs);
            if (!before && handshake.acknowledged())
            {
                assembler.start(missing); // the target's MISSING_MAP follows and becomes the pages to push
            }
        }
    }

    /**
     * @param buffer holding a MISSING_MAP chunk.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onMissingMapChunk(final DirectBuffer buffer, final int offset, final int length)
    {
        if (!isResumeAcknowledged() || !assembler.isAssembling())
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "MISSING_MAP from the target in recovery state " + state + ", outside a resumed session's map");
        }
        assembler.onChunk(buffer, offset, length);
    }
}
