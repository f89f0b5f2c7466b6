package io.pagestream.receiving;

import io.aeron.Image;
import io.aeron.Subscription;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.Header;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.protocol.AuthFlyweight;
import io.pagestream.protocol.CommitFlyweight;
import io.pagestream.protocol.ErrorFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.StatusFlyweight;
import io.pagestream.protocol.SwitchoverFlyweight;
import io.pagestream.security.FrameGuard;
import io.pagestream.transport.Links;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * Reads one data lane on the target. Until the lane is pinned (lane 0: before a hello is accepted, and while
 * waiting for a resumed source), only a HELLO on lane 0 is of interest: everything else is dropped and counted, and a
 * malformed frame from a stranger costs nothing. Once pinned to the Aeron session the hello named, frames of any other
 * session are dropped and counted; from the pinned session every frame passes the lane's {@link FrameGuard}, has its
 * header validated and its migration id checked, then becomes a typed call on the {@link DataListener}, and any
 * malformation fails the migration (inside the callback, so the rest of the batch is not applied).
 * <p>
 * Lanes other than 0 carry pages, zero runs and their round ends only. Threading: the target conductor's thread.
 */
final class DataLaneAdapter implements ControlledFragmentHandler
{
    private static final long NO_REGISTRATION = -1;

    private final int lane;
    private final DataListener listener;
    private final FrameGuard guard;
    private final AtomicCounter foreignCounter;
    private final AtomicCounter badFramesCounter;
    private final AtomicCounter bytesCounter;
    private final FrameFlyweight header = new FrameFlyweight();
    private final AuthFlyweight auth = new AuthFlyweight();
    private final StatusFlyweight status = new StatusFlyweight();
    private final SwitchoverFlyweight switchover = new SwitchoverFlyweight();
    private final CommitFlyweight commit = new CommitFlyweight();
    private final ErrorFlyweight error = new ErrorFlyweight();
    private final io.pagestream.protocol.PromoteFlyweight promote = new io.pagestream.protocol.PromoteFlyweight();
    private final Links links;
    private Subscription subscription;
    private long registration = NO_REGISTRATION;
    private long migrationId;
    private boolean pinned;
    private boolean roundEnded;
    private int pinnedSessionId;
    private int refusedVersion;
    private long refusedHellos;
    private AtomicCounter rejectedImagesCounter;
    private Object lastRejectedImage;

    DataLaneAdapter(
        final int lane,
        final Subscription subscription,
        final Links links,
        final DataListener listener,
        final FrameGuard guard,
        final AtomicCounter foreignCounter,
        final AtomicCounter badFramesCounter,
        final AtomicCounter bytesCounter)
    {
        this.lane = lane;
        this.subscription = subscription;
        this.links = links;
        this.listener = listener;
        this.guard = guard;
        this.foreignCounter = foreignCounter;
        this.badFramesCounter = badFramesCounter;
        this.bytesCounter = bytesCounter;
    }

    /**
     * Once pinned, reject at the driver the image of any other publisher that sends on this lane, as well as dropping
     * its frames: the driver then tells that publisher, and stops taking its data.
     *
     * @param rejectedCounter counts the images rejected.
     */
    void rejectForeignImages(final AtomicCounter rejectedCounter)
    {
        rejectedImagesCounter = rejectedCounter;
    }

    /**
     * Start subscribing to this lane's stream without blocking; {@link #poll} finishes it.
     *
     * @param channel  the target's data channel.
     * @param streamId this lane's stream id.
     */
    void subscribe(final String channel, final int streamId)
    {
        registration = links.addSubscription(channel, streamId);
    }

    int lane()
    {
        return lane;
    }

    FrameGuard guard()
    {
        return guard;
    }

    /**
     * Accept frames from this Aeron session only, for this migration.
     *
     * @param sessionId   the Aeron session the hello named for this lane.
     * @param id          the migration id.
     */
    void pin(final int sessionId, final long id)
    {
        pinned = true;
        pinnedSessionId = sessionId;
        migrationId = id;
    }

    /** Accept no session: wait for a (resume) hello. */
    void unpin()
    {
        pinned = false;
        guard.verifier(null);
    }

    boolean isPinned()
    {
        return pinned;
    }

    /** @return the protocol version of the last hello refused for its version, 0 if none. */
    int refusedVersion()
    {
        return refusedVersion;
    }

    /** @return hellos refused for their protocol version. */
    long refusedHellos()
    {
        return refusedHellos;
    }

    /**
     * @param limit fragments to read at most.
     * @return fragments read.
     */
    int poll(final int limit)
    {
        if (null == subscription)
        {
            if (registration == NO_REGISTRATION || null == (subscription = links.subscription(registration)))
            {
                return 0;
            }
            registration = NO_REGISTRATION;
        }
        return subscription.controlledPoll(this, limit);
    }

    /** Close a subscription this adapter opened itself (lanes after 0). */
    void close()
    {
        if (lane != 0)
        {
            org.agrona.CloseHelper.quietClose(subscription);
        }
    }

    /**
     * {@inheritDoc} A lane held at the round barrier leaves the frame for later; a lane stops reading after its
     * ROUND_END, so no frame of the next round is read in the same batch.
     */
    public Action onFragment(final DirectBuffer buffer, final int offset, final int length, final Header aeronHeader)
    {
        if (pinned && aeronHeader.sessionId() == pinnedSessionId && !listener.mayRead(lane))
        {
            return Action.ABORT;
        }
        roundEnded = false;
        if (pinned && aeronHeader.sessionId() != pinnedSessionId && null != rejectedImagesCounter)
        {
            rejectImage(aeronHeader.context());
        }
        if ((aeronHeader.flags() & FrameDescriptor.UNFRAGMENTED) != FrameDescriptor.UNFRAGMENTED &&
            (!pinned || aeronHeader.sessionId() == pinnedSessionId))
        {
            reject(new MigrationException(ErrorCode.MALFORMED_FRAME,
                "fragmented message of " + length + " bytes; every frame must fit one Aeron frame"), buffer, offset,
                length);
            return Action.BREAK;
        }
        accept(buffer, offset, length, aeronHeader.sessionId());
        return roundEnded ? Action.BREAK : Action.CONTINUE;
    }

    /**
     * Reject a foreign publisher's image once. The call waits for the driver's answer: it happens once per foreign
     * image, never on the migration's own traffic.
     */
    private void rejectImage(final Object imageContext)
    {
        if (imageContext instanceof Image && imageContext != lastRejectedImage)
        {
            lastRejectedImage = imageContext;
            try
            {
                ((Image)imageContext).reject("not the PageStream session this lane is pinned to");
                rejectedImagesCounter.incrementOrdered();
            }
            catch (final io.aeron.exceptions.AeronException ex)
            {
                // the image went away meanwhile; its frames are still dropped and counted
            }
        }
    }

    /**
     * Check and dispatch one whole frame from an Aeron session; a frame of the pinned session that cannot be
     * accepted fails the migration here, inside the callback, so the rest of the batch is not applied.
     *
     * @param buffer    holding the frame.
     * @param offset    of the frame.
     * @param length    bytes that arrived.
     * @param sessionId the Aeron session that sent it.
     */
    void accept(final DirectBuffer buffer, final int offset, final int length, final int sessionId)
    {
        if (pinned && sessionId != pinnedSessionId)
        {
            foreignCounter.incrementOrdered();
            return;
        }
        try
        {
            if (pinned)
            {
                onPinnedFrame(buffer, offset, length);
            }
            else
            {
                onUnpinnedFrame(buffer, offset, length, sessionId);
            }
        }
        catch (final MigrationException ex)
        {
            reject(ex, buffer, offset, length);
        }
        catch (final RuntimeException ex)
        {
            listener.onFrameFailure(new MigrationException(ErrorCode.INTERNAL,
                "unexpected " + ex + " while handling a frame on data lane " + lane, ex));
        }
    }

    private void reject(final MigrationException ex, final DirectBuffer buffer, final int offset, final int length)
    {
        if (pinned)
        {
            badFramesCounter.incrementOrdered();
            listener.onFrameFailure(ex);
            return;
        }
        // Anyone can reach an unpinned target: a bad frame is dropped, not obeyed; a hello of another protocol
        // version is remembered so that a timeout can name it.
        if (ex.errorCode() == ErrorCode.UNSUPPORTED_VERSION && length > FrameFlyweight.TYPE_OFFSET &&
            buffer.getByte(offset + FrameFlyweight.TYPE_OFFSET) == FrameType.HELLO)
        {
            refusedVersion = buffer.getByte(offset + FrameFlyweight.VERSION_OFFSET) & 0xFF;
            refusedHellos++;
        }
        foreignCounter.incrementOrdered();
    }

    private void onUnpinnedFrame(final DirectBuffer buffer, final int offset, final int length, final int sessionId)
    {
        header.wrapForRead(buffer, offset);
        header.validateHeader(length);
        if (lane == 0 && header.type() == FrameType.HELLO)
        {
            listener.onHello(buffer, offset, length, sessionId);
        }
        else
        {
            foreignCounter.incrementOrdered();
        }
    }

    private void onPinnedFrame(final DirectBuffer termBuffer, final int termOffset, final int taggedLength)
    {
        if (!guard.admit(termBuffer, termOffset, taggedLength))
        {
            return;
        }
        final DirectBuffer buffer = guard.buffer();
        final int offset = guard.offset();
        final int length = guard.length();
        header.wrapForRead(buffer, offset);
        header.validateHeader(length);
        final int type = header.type();
        if (header.sessionId() != migrationId)
        {
            throw new MigrationException(ErrorCode.WRONG_SESSION, "sessionId=" + Long.toHexString(header.sessionId()) +
                " in " + FrameType.name(type) + " frame, agreed session is " + Long.toHexString(migrationId));
        }
        bytesCounter.getAndAddOrdered(length);
        listener.onSourceFrame();
        listener.checkAllowed(type);
        switch (type)
        {
            case FrameType.PAGE:
                listener.onPage(lane, buffer, offset, length);
                return;
            case FrameType.ZERO_RUN:
                listener.onZeroRun(lane, buffer, offset, length);
                return;
            case FrameType.DATA_MAP:
                listener.onDataMap(lane, buffer, offset, length);
                return;
            case FrameType.ROUND_END:
                listener.onRoundEnd(lane, buffer, offset, length);
                roundEnded = true;
                return;
            default:
                if (lane != 0)
                {
                    throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "type=" + type + " (" +
                        FrameType.name(type) + ") on data lane " + lane + ", which carries pages only");
                }
                onControlFrame(type, buffer, offset, length);
        }
    }

    private void onControlFrame(final int type, final DirectBuffer buffer, final int offset, final int length)
    {
        switch (type)
        {
            case FrameType.AUTH:
                auth.wrapForRead(buffer, offset);
                auth.validate(length);
                listener.onAuth(auth);
                break;
            case FrameType.HELLO:
                listener.onRepeatedHello(); // the source resends its hello until it sees our ack
                break;
            case FrameType.PENDING_MAP:
                listener.onPendingMapChunk(buffer, offset, length);
                break;
            case FrameType.DEVICE_STATE:
                listener.onDeviceStateChunk(buffer, offset, length);
                break;
            case FrameType.SWITCHOVER:
                switchover.wrapForRead(buffer, offset);
                switchover.validate(length);
                listener.onSwitchover(switchover);
                break;
            case FrameType.COMMIT:
                commit.wrapForRead(buffer, offset);
                commit.validate(length);
                listener.onCommit();
                break;
            case FrameType.STATUS:
                status.wrapForRead(buffer, offset);
                status.validate(length);
                break;
            case FrameType.ERROR:
                error.wrapForRead(buffer, offset);
                error.validate(length);
                listener.onSourceError(ErrorCode.get(error.errorCode()), error.describe());
                break;
            case FrameType.PROMOTE:
                promote.wrapForRead(buffer, offset);
                promote.validate(length);
                listener.onPromote(promote.endpoint());
                break;
            default:
                throw new MigrationException(ErrorCode.UNKNOWN_FRAME_TYPE,
                    "type=" + type + " is not a frame type the source sends");
        }
    }
}
