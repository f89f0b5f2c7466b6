package io.pagestream.receiving;

import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.Header;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.security.FrameGuard;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * Reads the urgent lane on the target: pages the source sends in answer to faults, and one-page zero runs. The lane
 * is not pinned to a session (a resumed source opens a new one), so its {@link FrameGuard} drops and counts what
 * does not verify, and frames of another migration id are dropped and counted; a malformed frame of this migration
 * fails it. Threading: the target conductor's thread.
 */
final class UrgentLaneAdapter implements FragmentHandler
{
    /** Frames read per poll. */
    static final int FRAGMENTS_PER_POLL = 64;

    private final Subscription subscription;
    private final DataListener listener;
    private final FrameGuard guard;
    private final AtomicCounter foreignCounter;
    private final AtomicCounter badFramesCounter;
    private final AtomicCounter bytesCounter;
    private final FrameFlyweight header = new FrameFlyweight();
    private long migrationId;

    UrgentLaneAdapter(
        final Subscription subscription,
        final DataListener listener,
        final FrameGuard guard,
        final AtomicCounter foreignCounter,
        final AtomicCounter badFramesCounter,
        final AtomicCounter bytesCounter)
    {
        this.subscription = subscription;
        this.listener = listener;
        this.guard = guard;
        this.foreignCounter = foreignCounter;
        this.badFramesCounter = badFramesCounter;
        this.bytesCounter = bytesCounter;
    }

    FrameGuard guard()
    {
        return guard;
    }

    /** @param id the migration whose frames are accepted. */
    void migrationId(final long id)
    {
        migrationId = id;
    }

    /** @return fragments read. */
    int poll()
    {
        return null == subscription ? 0 : subscription.poll(this, FRAGMENTS_PER_POLL);
    }

    /** {@inheritDoc} */
    public void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header aeronHeader)
    {
        try
        {
            if ((aeronHeader.flags() & FrameDescriptor.UNFRAGMENTED) != FrameDescriptor.UNFRAGMENTED)
            {
                throw new MigrationException(ErrorCode.MALFORMED_FRAME,
                    "fragmented message of " + length + " bytes on the urgent lane");
            }
            onFrame(buffer, offset, length);
        }
        catch (final MigrationException ex)
        {
            badFramesCounter.incrementOrdered();
            listener.onFrameFailure(ex);
        }
        catch (final RuntimeException ex)
        {
            listener.onFrameFailure(new MigrationException(ErrorCode.INTERNAL,
                "unexpected " + ex + " while handling an urgent frame", ex));
        }
    }

    private void onFrame(final DirectBuffer termBuffer, final int termOffset, final int taggedLength)
    {
        if (!guard.admit(termBuffer, termOffset, taggedLength))
        {
            return; // not from our source: the urgent lane is not pinned
        }
        final DirectBuffer buffer = guard.buffer();
        final int offset = guard.offset();
        final int length = guard.length();
        header.wrapForRead(buffer, offset);
        header.validateHeader(length);
        if (header.sessionId() != migrationId)
        {
            foreignCounter.incrementOrdered();
            return;
        }
        bytesCounter.getAndAddOrdered(length);
        listener.onSourceFrame();
        final int type = header.type();
        if (type == FrameType.PAGE)
        {
            listener.onPage(-1, buffer, offset, length);
        }
        else if (type == FrameType.ZERO_RUN)
        {
            listener.onZeroRun(-1, buffer, offset, length);
        }
        else
        {
            throw new MigrationException(ErrorCode.UNKNOWN_FRAME_TYPE,
                "type=" + type + " (" + FrameType.name(type) + ") on the urgent lane, which carries pages only");
        }
    }
}
