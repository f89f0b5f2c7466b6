package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.ZeroPages;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.ZeroRunFlyweight;
import io.pagestream.security.FrameMac;
import io.pagestream.transport.BandwidthLimiter;
import io.pagestream.transport.FrameSink;
import io.pagestream.transport.Links;
import org.agrona.CloseHelper;
import org.agrona.collections.LongArrayQueue;

/**
 * The urgent lane: pages a post-copy target faulted on, on a stream and UDP socket of their own so a faulted page
 * never waits behind bulk traffic in a term buffer or a socket buffer. Pages go raw (or as a one-page zero run),
 * never held by the bandwidth cap but charged to it. Requests queue here; each queued page is taken out of the
 * pages still to push, so the push does not send it again.
 * <p>
 * The lane opens without blocking a duty cycle once the handshake names the target's urgent port, and reopens on a
 * new session after a link loss. Threading: the source conductor's thread. No allocation.
 */
final class UrgentLane implements AutoCloseable
{
    private static final int QUEUE_CAPACITY = 8192;
    private static final long NO_REGISTRATION = -1;

    private final long migrationId;
    private final GuestMemory memory;
    private final int pageSize;
    private final int streamId;
    private final Links links;
    private final BandwidthLimiter limiter;
    private final PageSender sender;
    private final LongArrayQueue queue = new LongArrayQueue(QUEUE_CAPACITY, -1);
    private final ZeroRunFlyweight zeroRunFlyweight = new ZeroRunFlyweight();
    private final LaneStats stats = new LaneStats();
    private String channel;
    private long registration = NO_REGISTRATION;
    private FrameSink sink;
    private byte[] frameKey;
    private boolean encrypt;
    private long retiredBytes;
    private long requests;

    UrgentLane(
        final long migrationId,
        final GuestMemory memory,
        final int streamId,
        final Links links,
        final BandwidthLimiter limiter,
        final PageSender sender)
    {
        this.migrationId = migrationId;
        this.memory = memory;
        this.pageSize = memory.pageSize();
        this.streamId = streamId;
        this.links = links;
        this.limiter = limiter;
        this.sender = sender;
    }

    /**
     * @param ctx       the source's context.
     * @param links     to open the lane's stream.
     * @param limiter   the bandwidth cap the lane's frames are charged to.
     * @param sizing    a stream of the data lanes' MTU, for the sender's sizing until the lane opens.
     * @param nowNs     current time.
     * @return the lane, not yet open.
     */
    static UrgentLane create(
        final io.pagestream.api.MigrationSource.Context ctx,
        final Links links,
        final BandwidthLimiter limiter,
        final FrameSink sizing,
        final long nowNs)
    {
        final GuestMemory memory = ctx.guestMemory();
        final PageSender sender = new PageSender(sizing, memory, ctx.migrationId(), limiter,
            PageSender.Pacing.CHARGE_ONLY, null, new EncodingChooser(io.pagestream.api.Compression.NONE,
            memory.pageSize(), ctx.maxBandwidthBytesPerSec(), nowNs), ctx.nanoClock());
        return new UrgentLane(ctx.migrationId(), memory, ctx.urgentStreamId(), links, limiter, sender);
    }

    /**
     * Start opening the lane; {@link #doWork} completes it.
     *
     * @param urgentChannel the target's urgent endpoint as a channel.
     */
    void open(final String urgentChannel)
    {
        channel = urgentChannel;
        registration = links.addExclusivePublication(channel, streamId);
    }

    /** Close the stream and open a new one (a new session), e.g. after a link loss. */
    void reopen()
    {
        if (null != sink)
        {
            retiredBytes += sink.bytesSent();
            sink.close();
            sink = null;
        }
        frameKey = null;
        if (null != channel)
        {
            registration = links.addExclusivePublication(channel, streamId);
        }
    }

    boolean isOpen()
    {
        return null != sink;
    }

    /**
     * Sign (or seal) urgent frames under the session's key, now or as soon as the lane is open.
     *
     * @param key      the session's frame key.
     * @param sealing  true to seal.
     */
    void sign(final byte[] key, final boolean sealing)
    {
        frameKey = key;
        encrypt = sealing;
        if (null != sink)
        {
            sink.signer(new FrameMac(key, FrameMac.LANE_URGENT, sealing));
        }
    }

    /**
     * A page the target faulted on.
     *
     * @param pageIndex the page, in range.
     */
    void request(final long pageIndex)
    {
        requests++;
        if (queue.size() < QUEUE_CAPACITY)
        {
            queue.addLong(pageIndex);
        }
    }

    /** @return pages queued and not yet sent. */
    int queued()
    {
        return queue.size();
    }

    /** @return page requests received. */
    long requests()
    {
        return requests;
    }

    LaneStats stats()
    {
        return stats;
    }

    /** @return bytes this lane put on the wire, closed streams included. */
    long bytesOnWire()
    {
        return retiredBytes + (null == sink ? 0 : sink.bytesSent());
    }

    /**
     * Finish opening; send queued pages, taking each out of {@code toPush}.
     *
     * @param nowNs    current time.
     * @param toPush   pages the push has still to send.
     * @param round    written in the frames.
     * @param maxPages bound on the pages sent by this call.
     * @return work done.
     */
    int doWork(final long nowNs, final PageBitmap toPush, final int round, final int maxPages)
    {
        if (null == sink)
        {
            if (registration == NO_REGISTRATION)
            {
                return 0;
            }
            sink = links.exclusivePublication(registration, null, null);
            if (null == sink)
            {
                return 0;
            }
            registration = NO_REGISTRATION;
            sender.retarget(sink);
            if (null != frameKey)
            {
                sink.signer(new FrameMac(frameKey, FrameMac.LANE_URGENT, encrypt));
            }
        }
        int work = 0;
        while (!queue.isEmpty() && work < maxPages)
        {
            final long pageIndex = queue.peekLong();
            if (ZeroPages.isZero(memory.pageAddress(pageIndex), pageSize))
            {
                final int length = ZeroRunFlyweight.LENGTH;
                limiter.acquireUrgent(length, nowNs);
                final int outcome = TargetProxy.zeroRun(sink, migrationId, pageIndex, 1, round, zeroRunFlyweight);
                if (outcome != FrameSink.SENT)
                {
                    limiter.refund(length);
                    if (outcome == FrameSink.CLOSED)
                    {
                        throw new MigrationException(ErrorCode.PEER_LOST, "urgent lane closed");
                    }
                    break;
                }
                stats.zeroPages++;
                stats.bytes += length;
            }
            else
            {
                if (!sender.send(pageIndex, round, nowNs))
                {
                    break;
                }
                stats.rawPages++;
                stats.pageFrames += sender.lastPageFrames();
                stats.bytes += sender.lastPageBytes();
            }
            queue.pollLong();
            toPush.clear(pageIndex);
            stats.pages++;
            stats.urgentPages++;
            stats.postcopyPages++;
            work++;
        }
        return work;
    }

    /** Close the stream. */
    public void close()
    {
        CloseHelper.quietClose(sink);
    }
}
