package io.pagestream.source;

import io.aeron.ExclusivePublication;
import io.aeron.logbuffer.BufferClaim;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.PageEncoding;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.Checksums;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.transport.BandwidthLimiter;
import io.pagestream.transport.FramePublisher;
import org.agrona.MutableDirectBuffer;
import org.agrona.UnsafeAccess;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * Sends one page at a time as PAGE frames, straight from guest memory into the publication's term buffer with
 * {@code tryClaim}: one copy, then a CRC32C of the copy (never of guest memory, which the guest may be writing).
 * A page larger than a frame goes as self-contained chunks; back-pressure or the bandwidth cap may stop it between
 * chunks, and the next call for the same page resumes where it stopped.
 * <p>
 * Threading: single writer. No allocation.
 */
public final class PageSender
{
    /** The page went out completely. */
    public static final boolean COMPLETE = true;

    private final ExclusivePublication publication;
    private final FramePublisher frames;
    private final GuestMemory memory;
    private final BandwidthLimiter limiter;
    private final AtomicCounter rateLimited;
    private final BufferClaim claim = new BufferClaim();
    private final PageFlyweight pageFlyweight = new PageFlyweight();
    private final long sessionId;
    private final int pageSize;
    private final int chunkLength;

    private long pageIndex = -1;
    private int chunkOffset;
    private int pageFrames;
    private int pageBytes;

    /**
     * @param frames      publisher of the data stream; its publication is claimed from.
     * @param memory      guest memory.
     * @param sessionId   migration id written in every frame.
     * @param limiter     bandwidth cap.
     * @param rateLimited counter of waits on the cap, may be null.
     */
    public PageSender(
        final FramePublisher frames,
        final GuestMemory memory,
        final long sessionId,
        final BandwidthLimiter limiter,
        final AtomicCounter rateLimited)
    {
        this.frames = frames;
        this.publication = frames.publication();
        this.memory = memory;
        this.sessionId = sessionId;
        this.limiter = limiter;
        this.rateLimited = rateLimited;
        this.pageSize = memory.pageSize();
        this.chunkLength = chunkLength(pageSize, frames.maxFrameLength());
    }

    /**
     * The chunk a page frame carries: the whole page if it fits the frame, else the largest power of two that does.
     *
     * @param pageSize       page size in bytes.
     * @param maxFrameLength largest unfragmented frame.
     * @return chunk length in bytes.
     */
    public static int chunkLength(final int pageSize, final int maxFrameLength)
    {
        final int room = maxFrameLength - PageFlyweight.PAYLOAD_OFFSET;
        return room >= pageSize ? pageSize : Integer.highestOneBit(room);
    }

    /** @return bytes of page data per frame. */
    public int chunkLength()
    {
        return chunkLength;
    }

    /**
     * Send a page raw, or the rest of it if an earlier call for the same page stopped part-way.
     *
     * @param pageIndex of the page; must be the same until this returns true.
     * @param round     written in the frames.
     * @param nowNs     current time, for the bandwidth cap.
     * @return true when the whole page is sent; false if back-pressure or the cap stopped it (call again later).
     * @throws MigrationException PEER_LOST if the stream is closed.
     */
    public boolean sendRaw(final long pageIndex, final int round, final long nowNs)
    {
        if (pageIndex != this.pageIndex)
        {
            this.pageIndex = pageIndex;
            chunkOffset = 0;
            pageFrames = 0;
            pageBytes = 0;
        }
        final long pageAddress = memory.pageAddress(pageIndex);
        while (chunkOffset < pageSize)
        {
            final int length = Math.min(chunkLength, pageSize - chunkOffset);
            final int frameLength = PageFlyweight.PAYLOAD_OFFSET + length;
            if (!limiter.tryAcquire(frameLength, nowNs))
            {
                if (null != rateLimited)
                {
                    rateLimited.incrementOrdered();
                }
                return false;
            }

            int outcome;
            do
            {
                outcome = frames.outcome(publication.tryClaim(frameLength, claim), frameLength);
            }
            while (outcome == Integer.MIN_VALUE);

            if (outcome != FramePublisher.SENT)
            {
                limiter.refund(frameLength);
                if (outcome == FramePublisher.CLOSED)
                {
                    throw new MigrationException(ErrorCode.PEER_LOST, "data stream closed or at its maximum position");
                }
                return false;
            }

            final MutableDirectBuffer buffer = claim.buffer();
            final int offset = claim.offset();
            pageFlyweight.wrap(buffer, offset);
            pageFlyweight.writeHeader(FrameType.PAGE, frameLength, sessionId);
            pageFlyweight
                .pageIndex(pageIndex)
                .round(round)
                .encoding(PageEncoding.RAW.code())
                .chunkOffset(chunkOffset)
                .decodedLength(length)
                .payloadLength(length);
            final long payloadAddress = buffer.addressOffset() + offset + PageFlyweight.PAYLOAD_OFFSET;
            UnsafeAccess.UNSAFE.copyMemory(pageAddress + chunkOffset, payloadAddress, length);
            // Checksum the copy, not guest memory: the guest may be writing the page right now.
            pageFlyweight.checksum(Checksums.crc32c(payloadAddress, length));
            claim.commit();

            chunkOffset += length;
            pageFrames++;
            pageBytes += frameLength;
        }
        this.pageIndex = -1;
        return COMPLETE;
    }

    /** @return frames the last completed page took. */
    public int lastPageFrames()
    {
        return pageFrames;
    }

    /** @return bytes the last completed page took, headers included. */
    public int lastPageBytes()
    {
        return pageBytes;
    }
}
