package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.protocol.CompleteFlyweight;
import io.pagestream.protocol.HelloAckFlyweight;
import org.agrona.DirectBuffer;

/**
 * What the target says, routed to the session of the source that owns it: HELLO_ACK to the handshake (first or
 * resumed), page requests to post-copy, MISSING_MAP to the recovery, COMPLETE to the switchover or the end of
 * post-copy; which frames a state accepts is decided here, and so is the moment the guest is known to run on the
 * target (for the figures); every change of state goes back to the {@link SourceConductor}. Threading: the source
 * conductor's thread.
 */
final class TargetFrames implements ControlAdapter.Listener
{
    private final SourceConductor conductor;
    private final HandshakeSession handshake;
    private final SwitchoverSession switchover;
    private final RecoverySession recovery;
    private final SourceFigures figures;
    private final GuestControl guest;
    private PostcopySession postcopy;

    TargetFrames(
        final SourceConductor conductor,
        final HandshakeSession handshake,
        final SwitchoverSession switchover,
        final RecoverySession recovery,
        final SourceFigures figures,
        final GuestControl guest)
    {
        this.conductor = conductor;
        this.handshake = handshake;
        this.switchover = switchover;
        this.recovery = recovery;
        this.figures = figures;
        this.guest = guest;
    }

    /**
     * @param postcopy the session page requests go to; it reads the control stream itself, so it comes later.
     */
    void postcopy(final PostcopySession postcopy)
    {
        this.postcopy = postcopy;
    }

    /** {@inheritDoc} */
    public void onTargetFrame()
    {
        conductor.onTargetAlive();
    }

    /** {@inheritDoc} */
    public void onHelloAck(final HelloAckFlyweight ack)
    {
        if (conductor.state() == SourceState.HANDSHAKE)
        {
            handshake.onHelloAck(ack, conductor.nowNs());
        }
        else if (conductor.state() == SourceState.RECOVERY)
        {
            recovery.onHelloAck(ack, conductor.nowNs());
        }
    }

    /** {@inheritDoc} */
    public void onTargetStatus(final boolean guestRunning)
    {
        if (guestRunning)
        {
            onTargetRunning();
        }
    }

    /** {@inheritDoc} */
    public void onPageRequest(final long pageIndex)
    {
        if (!conductor.isPostcopyCommitted())
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "PAGE_REQUEST for pageIndex=" + pageIndex + " before post-copy");
        }
        onTargetRunning();
        postcopy.onPageRequest(pageIndex, conductor.nowNs());
    }

    /** {@inheritDoc} */
    public void onMissingMapChunk(final DirectBuffer buffer, final int offset, final int length)
    {
        if (conductor.state() != SourceState.RECOVERY)
        {
            if (conductor.state() == SourceState.POSTCOPY && recovery.recoveries() > 0)
            {
                // A chunk of an earlier resume's map, which the target's former control stream still held and Aeron
                // delivered once the link healed (the control subscription takes every image of the migration).
                // The map of the resume that completed is newer and rules: dropped and counted, not fatal.
                staleMissingMapChunks++;
                return;
            }
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "MISSING_MAP from the target in state " + conductor.state() + ", outside a post-copy recovery");
        }
        recovery.onMissingMapChunk(buffer, offset, length);
    }

    /** @return MISSING_MAP chunks of earlier resumes dropped after a recovery completed. */
    long staleMissingMapChunks()
    {
        return staleMissingMapChunks;
    }

    private long staleMissingMapChunks;

    /** {@inheritDoc} */
    public void onComplete(final CompleteFlyweight complete)
    {
        figures.faults(complete.faultCount(), complete.faultP50Us(), complete.faultP99Us(), complete.faultMaxUs());
        final boolean switchingOver = conductor.state() == SourceState.SWITCHOVER;
        if (switchingOver && switchover.state() == SwitchoverSession.State.AWAIT_COMPLETE)
        {
            switchover.onComplete(conductor.nowNs());
            conductor.afterSwitchoverWork();
        }
        else if (switchingOver && switchover.state() == SwitchoverSession.State.SEND_COMMIT)
        {
            return; // a repeated COMPLETE while COMMIT waits for room
        }
        else if (conductor.state() == SourceState.DONE && switchover.isCommitted() && !conductor.isPostcopyCommitted())
        {
            switchover.recommit(); // COMMIT was lost: the target asks again, and the answer is the same
        }
        else if (conductor.isPostcopyCommitted())
        {
            onTargetRunning();
            conductor.succeed();
        }
        else
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "COMPLETE from the target in state " + conductor.state() + ", before switchover");
        }
    }

    /**
     * The target says the guest runs there (a STATUS, a page request, COMPLETE): after a post-copy switchover, this
     * ends the downtime the figures measure.
     */
    private void onTargetRunning()
    {
        if (conductor.isPostcopyCommitted())
        {
            figures.targetRunning(conductor.nowNs(), guest.pauseNs());
        }
    }

    /** {@inheritDoc} */
    public void onTargetError(final ErrorCode code, final String message)
    {
        conductor.onTargetFailed(code, "target reported: " + message);
    }

    /** {@inheritDoc} */
    public void onFrameFailure(final MigrationException ex)
    {
        conductor.onFailure(ex);
    }
}
