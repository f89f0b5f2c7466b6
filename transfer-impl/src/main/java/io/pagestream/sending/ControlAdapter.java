package io.pagestream.sending;

import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.Header;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.protocol.CompleteFlyweight;
import io.pagestream.protocol.ErrorFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.PageRequestFlyweight;
import io.pagestream.protocol.StatusFlyweight;
import io.pagestream.security.FrameGuard;
import org.agrona.DirectBuffer;

/**
 * Reads the control stream from the target: each frame is passed through the {@link FrameGuard} (frames failing
 * their tag are dropped and counted: the subscription takes any publisher), its header and fields are validated, and
 * it becomes one typed call on the {@link Listener}. Frames of another migration id are ignored (a stale target of an
 * earlier migration). A malformed frame from this migration fails it through {@link Listener#onFrameFailure}, inside
 * the callback, so the rest of the batch is not acted on.
 * <p>
 * Threading: the source conductor's thread. No allocation but an ERROR frame's message.
 */
final class ControlAdapter implements FragmentHandler
{
    /**
     * What the target says, one call per frame type.
     */
    interface Listener
    {
        /** Any valid frame of this migration arrived: the target is alive. */
        void onTargetFrame();

        /**
         * @param ack the HELLO_ACK, valid until the call returns.
         */
        void onHelloAck(HelloAckFlyweight ack);

        /**
         * @param guestRunning true if the target runs the guest (post-copy).
         */
        void onTargetStatus(boolean guestRunning);

        /**
         * @param pageIndex a page the target's guest faulted on, in range.
         */
        void onPageRequest(long pageIndex);

        /**
         * @param buffer holding a MISSING_MAP frame.
         * @param offset of the frame.
         * @param length of the frame.
         */
        void onMissingMapChunk(DirectBuffer buffer, int offset, int length);

        /**
         * @param complete the COMPLETE frame, valid until the call returns.
         */
        void onComplete(CompleteFlyweight complete);

        /**
         * @param code    the target's error code.
         * @param message its reason.
         */
        void onTargetError(ErrorCode code, String message);

        /**
         * @param ex a frame of this migration that could not be accepted.
         */
        void onFrameFailure(MigrationException ex);
    }

    private static final int FRAGMENTS_PER_POLL = 16;

    private final Subscription subscription;
    private final FrameGuard guard;
    private final Listener listener;
    private final long migrationId;
    private final long pageCount;
    private final FrameFlyweight header = new FrameFlyweight();
    private final HelloAckFlyweight helloAck = new HelloAckFlyweight();
    private final StatusFlyweight status = new StatusFlyweight();
    private final PageRequestFlyweight pageRequest = new PageRequestFlyweight();
    private final CompleteFlyweight complete = new CompleteFlyweight();
    private final ErrorFlyweight error = new ErrorFlyweight();
    private boolean enabled = true;

    ControlAdapter(
        final Subscription subscription,
        final FrameGuard guard,
        final Listener listener,
        final long migrationId,
        final long pageCount)
    {
        this.subscription = subscription;
        this.guard = guard;
        this.listener = listener;
        this.migrationId = migrationId;
        this.pageCount = pageCount;
    }

    FrameGuard guard()
    {
        return guard;
    }

    /**
     * @param accept false to ignore every frame from now on (the migration ended).
     */
    void enabled(final boolean accept)
    {
        enabled = accept;
    }

    /** @return false once the migration ended and frames are ignored. */
    boolean isEnabled()
    {
        return enabled;
    }

    /** @return fragments read. */
    int poll()
    {
        return null == subscription ? 0 : subscription.poll(this, FRAGMENTS_PER_POLL);
    }

    /** {@inheritDoc} */
    public void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header aeronHeader)
    {
        if (!enabled)
        {
            return;
        }
        if ((aeronHeader.flags() & FrameDescriptor.UNFRAGMENTED) != FrameDescriptor.UNFRAGMENTED)
        {
            listener.onFrameFailure(new MigrationException(ErrorCode.MALFORMED_FRAME,
                "fragmented control frame from the target"));
            return;
        }
        accept(buffer, offset, length);
    }

    /**
     * Check and dispatch one whole frame; a frame of this migration that cannot be accepted fails it here, inside the
     * callback (Aeron would hand a thrown exception to its error handler instead).
     *
     * @param buffer holding the frame.
     * @param offset of the frame.
     * @param length bytes that arrived.
     */
    void accept(final DirectBuffer buffer, final int offset, final int length)
    {
        try
        {
            onFrame(buffer, offset, length);
        }
        catch (final MigrationException ex)
        {
            listener.onFrameFailure(ex);
        }
        catch (final RuntimeException ex)
        {
            listener.onFrameFailure(new MigrationException(ErrorCode.INTERNAL,
                "unexpected " + ex + " while handling a control frame", ex));
        }
    }

    /**
     * Check and dispatch one frame, as it arrived (tag included when frames are protected).
     *
     * @param termBuffer   holding the frame.
     * @param termOffset   of the frame.
     * @param taggedLength bytes that arrived.
     */
    private void onFrame(final DirectBuffer termBuffer, final int termOffset, final int taggedLength)
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
        if (header.sessionId() != migrationId)
        {
            return; // a stale target from an earlier migration: not ours to act on
        }
        listener.onTargetFrame();
        final int type = header.type();
        switch (type)
        {
            case FrameType.HELLO_ACK:
                helloAck.wrapForRead(buffer, offset);
                helloAck.validate(length);
                listener.onHelloAck(helloAck);
                break;

            case FrameType.STATUS:
                status.wrapForRead(buffer, offset);
                status.validate(length);
                listener.onTargetStatus((status.flags() & FrameFlyweight.FLAG_GUEST_RUNNING) != 0);
                break;

            case FrameType.PAGE_REQUEST:
                pageRequest.wrapForRead(buffer, offset);
                pageRequest.validate(length, pageCount);
                listener.onPageRequest(pageRequest.pageIndex());
                break;

            case FrameType.MISSING_MAP:
                listener.onMissingMapChunk(buffer, offset, length);
                break;

            case FrameType.COMPLETE:
                complete.wrapForRead(buffer, offset);
                complete.validate(length);
                listener.onComplete(complete);
                break;

            case FrameType.ERROR:
                error.wrapForRead(buffer, offset);
                error.validate(length);
                listener.onTargetError(ErrorCode.get(error.errorCode()), error.describe());
                break;

            default:
                throw new MigrationException(ErrorCode.UNKNOWN_FRAME_TYPE,
                    "type=" + type + " (" + FrameType.name(type) + ") is not a control frame");
        }
    }
}
