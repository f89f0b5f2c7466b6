package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationPhase;
import io.pagestream.protocol.AuthFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.SwitchoverFlyweight;
import io.pagestream.status.MigrationLifecycle;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * What the source says, routed to the piece of the target that owns it: hellos and AUTH to the
 * {@link HelloAcceptor}, pages and round ends to the {@link GuestImage}, the hand-over to the
 * {@link SwitchoverReceiver}; which frames a state accepts is decided here, and every change of state goes back to
 * the {@link TargetConductor}. Threading: the target conductor's thread.
 */
final class SourceFrames implements DataListener
{
    private final TargetConductor conductor;
    private final MigrationLifecycle lifecycle;
    private final HelloAcceptor acceptor;
    private final GuestImage image;
    private final SwitchoverReceiver switchover;
    private final RecoveryResponder recovery;
    private final FanOutRole fanOut;
    private final AtomicCounter foreignCounter;

    SourceFrames(
        final TargetConductor conductor,
        final MigrationLifecycle lifecycle,
        final HelloAcceptor acceptor,
        final GuestImage image,
        final SwitchoverReceiver switchover,
        final RecoveryResponder recovery,
        final FanOutRole fanOut,
        final AtomicCounter foreignCounter)
    {
        this.conductor = conductor;
        this.lifecycle = lifecycle;
        this.acceptor = acceptor;
        this.image = image;
        this.switchover = switchover;
        this.recovery = recovery;
        this.fanOut = fanOut;
        this.foreignCounter = foreignCounter;
    }

    /** {@inheritDoc} */
    public void onHello(final DirectBuffer buffer, final int offset, final int length, final int aeronSessionId)
    {
        final TargetState state = conductor.state();
        if (state == TargetState.AWAIT_HELLO)
        {
            acceptor.onHello(buffer, offset, length, aeronSessionId, conductor.nowNs());
            conductor.onHelloAccepted(true);
        }
        else if (state == TargetState.RECOVERY && recovery.state() == RecoveryResponder.State.AWAIT_HELLO)
        {
            if (acceptor.onResumeHello(buffer, offset, length, aeronSessionId, conductor.nowNs()))
            {
                conductor.onHelloAccepted(false);
            }
            else
            {
                foreignCounter.incrementOrdered(); // not the source we lost
            }
        }
    }

    /** {@inheritDoc} */
    public boolean mayRead(final int lane)
    {
        if (fanOut.isFollower() && conductor.state() == TargetState.HANDSHAKE)
        {
            return false; // the source is already sending: leave what follows the hello until the handshake is done
        }
        return image.mayPoll(lane);
    }

    /** {@inheritDoc} */
    public void onSourceFrame()
    {
        conductor.onSourceAlive();
    }

    /** {@inheritDoc} */
    public void checkAllowed(final int type)
    {
        final TargetState state = conductor.state();
        final boolean awaitingAuth = state == TargetState.RECOVERY ||
            (state == TargetState.HANDSHAKE && acceptor.state() == HelloAcceptor.State.AWAIT_AUTH);
        if (awaitingAuth && type != FrameType.AUTH && type != FrameType.HELLO && type != FrameType.ERROR)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "type=" + type + " (" + FrameType.name(type) + ") frame before the source authenticated");
        }
        if (state == TargetState.COMPLETING && type != FrameType.COMMIT && type != FrameType.ERROR &&
            type != FrameType.STATUS && type != FrameType.HELLO)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "type=" + type + " (" + FrameType.name(type) + ") frame after the switchover");
        }
    }

    /** {@inheritDoc} */
    public void onPage(final int lane, final DirectBuffer buffer, final int offset, final int length)
    {
        image.onPage(lane, buffer, offset, length);
    }

    /** {@inheritDoc} */
    public void onZeroRun(final int lane, final DirectBuffer buffer, final int offset, final int length)
    {
        image.onZeroRun(lane, buffer, offset, length);
    }

    /** {@inheritDoc} */
    public void onDataMap(final int lane, final DirectBuffer buffer, final int offset, final int length)
    {
        image.onDataMap(buffer, offset, length);
    }

    /** {@inheritDoc} */
    public void onRoundEnd(final int lane, final DirectBuffer buffer, final int offset, final int length)
    {
        if (image.onRoundEnd(lane, buffer, offset, length))
        {
            lifecycle.phase(MigrationPhase.ITERATE);
        }
    }

    /** {@inheritDoc} */
    public void onAuth(final AuthFlyweight auth)
    {
        if (fanOut.isFollower())
        {
            return; // the source's answer to the target's challenge, seen by a follower of a fan-out
        }
        if (conductor.state() == TargetState.RECOVERY)
        {
            if (!acceptor.onAuth(auth))
            {
                // Not our source: keep waiting for it on a fresh session rather than give the guest up.
                foreignCounter.incrementOrdered();
                conductor.enterRecovery("a resuming source failed authentication");
            }
            return;
        }
        acceptor.onAuth(auth);
        if (conductor.state() == TargetState.HANDSHAKE && acceptor.isDone())
        {
            conductor.startReceiving();
        }
    }

    /** {@inheritDoc} */
    public void onRepeatedHello()
    {
        acceptor.sendHelloAck();
    }

    /** {@inheritDoc} */
    public void onPendingMapChunk(final DirectBuffer buffer, final int offset, final int length)
    {
        switchover.onPendingMapChunk(buffer, offset, length);
    }

    /** {@inheritDoc} */
    public void onDeviceStateChunk(final DirectBuffer buffer, final int offset, final int length)
    {
        if (switchover.onDeviceStateChunk(buffer, offset, length) && !switchover.isPostcopy())
        {
            lifecycle.phase(MigrationPhase.STOP_AND_COPY);
        }
    }

    /** {@inheritDoc} */
    public void onSwitchover(final SwitchoverFlyweight frame)
    {
        conductor.onSwitchedOver(switchover.onSwitchover(frame, image));
    }

    /** {@inheritDoc} */
    public void onCommit()
    {
        switchover.onCommit();
        conductor.onCommitted("completed");
    }

    /** {@inheritDoc} */
    public void onSourceError(final ErrorCode code, final String message)
    {
        conductor.onSourceFailed(switchover.isPostcopy() ? ErrorCode.GUEST_LOST : code, "source reported: " + message);
    }

    /** {@inheritDoc} */
    public void onFrameFailure(final MigrationException ex)
    {
        conductor.onFailure(ex);
    }

    /** {@inheritDoc} */
    public void onPromote(final String endpoint)
    {
        if (!fanOut.isFollower())
        {
            // The source lost this target (a partition, a stall) and gave the guest to a follower: this copy is
            // released, never resumed, so that exactly one target completes; nothing is sent back (an ERROR would
            // read as the new target's).
            conductor.fail(ErrorCode.CANCELLED, "released: the source lost this target before the switchover " +
                "and promoted the follower at " + endpoint + "; the guest was not resumed here", false);
            return;
        }
        if (fanOut.isListeningAt(endpoint))
        {
            fanOut.promote(endpoint);
        }
    }
}
