package io.pagestream.sending;

import io.aeron.logbuffer.BufferClaim;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.PageEncoding;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.Checksums;
import io.pagestream.codec.DeltaCodec;
import io.pagestream.codec.Lz4PageCodec;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.security.FrameMac;
import io.pagestream.transport.BandwidthLimiter;
import io.pagestream.transport.FrameSink;
import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.NanoClock;

/**
 * Sends one page at a time as PAGE frames.
 * <p>
 * Raw pages go straight from guest memory into the publication's term buffer with {@code tryClaim}: one copy, then a
 * CRC32C of the copy (never of guest memory, which the guest may be writing). Encoded pages (delta against the cached
 * version last sent, or LZ4) are first copied to a snapshot so the checksum, the encoding and the cached version all
 * describe the same bytes; the encoding is kept if back-pressure stops the send, and reused when it is retried.
 * An encoding is used only if it is smaller than the page by at least an eighth.
 * <p>
 * The cache invariant: a cached version is what the target holds, so every send updates the page's entry (or offers
 * it to the cache's policy after the bulk pass; during it, fills free slots if the chooser says bytes are dear) and
 * every zero run invalidates it.
 * Pages larger than a frame go raw as self-contained chunks and are never cached.
 * <p>
 * Each lane has its sender: data lanes wait for the bandwidth cap ({@link Pacing#WAIT_FOR_CAP}); the urgent lane's
 * frames never wait but are charged to it ({@link Pacing#CHARGE_ONLY}).
 * <p>
 * Threading: single writer. No allocation.
 */
public final class PageSender
{
    /**
     * How a sender meets the bandwidth cap.
     */
    public enum Pacing
    {
        /** Hold a frame back until the cap allows it (data lanes). */
        WAIT_FOR_CAP,
        /** Never hold a frame back, but charge it to the cap (the urgent lane: a faulting vCPU waits for it). */
        CHARGE_ONLY
    }

    private FrameSink frames;
    private final GuestMemory memory;
    private final BandwidthLimiter limiter;
    private final Pacing pacing;
    private final NanoClock clock;
    private long rateLimitedWaits;
    private PageCache cache;
    private final EncodingChooser chooser;
    private final Lz4PageCodec lz4;
    private final BufferClaim claim = new BufferClaim();
    private final PageFlyweight pageFlyweight = new PageFlyweight();
    private final long sessionId;
    private final int pageSize;
    private final int chunkLength;
    private final int maxEncodedLength;
    /** Held so the scratch memory stays allocated: a direct buffer is freed once unreachable. */
    private final java.nio.ByteBuffer snapshot;
    private final java.nio.ByteBuffer delta;
    private final long snapshotAddress;
    private final long deltaAddress;

    private long pageIndex = -1;
    private PageEncoding encoding;
    private long payloadAddress;
    private int payloadLength;
    private int checksum;
    private boolean fromSnapshot;
    private int chunkOffset;
    private int pageFrames;
    private int pageBytes;

    /**
     * @param frames    the lane's stream; pages are claimed in its term buffer.
     * @param memory    guest memory.
     * @param sessionId migration id written in every frame.
     * @param limiter   bandwidth cap.
     * @param pacing    how frames meet the cap.
     * @param cache     cache of sent versions, or null for no delta encoding.
     * @param chooser   picks the encoding per page.
     * @param clock     times the LZ4 encoder for the chooser.
     */
    public PageSender(
        final FrameSink frames,
        final GuestMemory memory,
        final long sessionId,
        final BandwidthLimiter limiter,
        final Pacing pacing,
        final PageCache cache,
        final EncodingChooser chooser,
        final NanoClock clock)
    {
        this.frames = frames;
        this.memory = memory;
        this.sessionId = sessionId;
        this.limiter = limiter;
        this.pacing = pacing;
        this.clock = clock;
        this.pageSize = memory.pageSize();
        this.chunkLength = chunkLength(pageSize, frames.maxFrameLength());
        this.chooser = chooser;
        final boolean encodable = chunkLength == pageSize;
        this.cache = encodable ? cache : null;
        this.lz4 = encodable ? new Lz4PageCodec(pageSize) : null;
        this.maxEncodedLength = pageSize - pageSize / 8;
        this.snapshot = encodable ? BufferUtil.allocateDirectAligned(pageSize, 64) : null;
        this.delta = encodable ? BufferUtil.allocateDirectAligned(pageSize, 64) : null;
        this.snapshotAddress = encodable ? BufferUtil.address(snapshot) : 0;
        this.deltaAddress = encodable ? BufferUtil.address(delta) : 0;
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

    /**
     * Send on another stream from now on (a new session after a reconnection); any page part-way is dropped.
     *
     * @param newFrames the new stream, same MTU.
     */
    public void retarget(final FrameSink newFrames)
    {
        frames = newFrames;
        pageIndex = -1;
    }

    /** @return times the bandwidth cap held a frame back. */
    public long rateLimitedWaits()
    {
        return rateLimitedWaits;
    }

    /**
     * Stop delta encoding for good: after frames were lost with a broken session, cached versions may no longer be
     * what the target holds.
     */
    public void disableCache()
    {
        cache = null;
    }

    /** @return bytes of page data per frame. */
    public int chunkLength()
    {
        return chunkLength;
    }

    /**
     * A page was sent in a zero run: its cached version, if any, no longer matches the target.
     *
     * @param pageIndex the page.
     */
    public void onZeroPage(final long pageIndex)
    {
        if (null != cache)
        {
            cache.invalidate(pageIndex);
        }
    }

    /**
     * Send a non-zero page in whatever encoding pays, or finish sending it if an earlier call stopped part-way.
     *
     * @param pageIndex of the page; must be the same until this returns true.
     * @param round     written in the frames; rounds after the bulk pass may insert into the cache.
     * @param nowNs     current time.
     * @return true when the whole page is sent; false if back-pressure or the cap stopped it (call again later).
     * @throws MigrationException PEER_LOST if the stream is closed.
     */
    public boolean send(final long pageIndex, final int round, final long nowNs)
    {
        if (pageIndex != this.pageIndex)
        {
            prepare(pageIndex, round);
        }
        final boolean sent = encoding == PageEncoding.RAW && !fromSnapshot ?
            sendRawChunks(round, nowNs) : sendPrepared(round, nowNs);
        if (sent)
        {
            this.pageIndex = -1;
            chooser.onPageSent(nowNs);
        }
        return sent;
    }

    private void prepare(final long pageIndex, final int round)
    {
        this.pageIndex = pageIndex;
        chunkOffset = 0;
        pageFrames = 0;
        pageBytes = 0;
        fromSnapshot = false;
        encoding = PageEncoding.RAW;
        if (null == lz4)
        {
            return;
        }

        final long cached = null != cache && round > 0 && chooser.isCacheWorthwhile() ? cache.lookup(pageIndex) : 0;
        PageEncoding choice = chooser.choose(cached != 0);
        if (choice == PageEncoding.RAW)
        {
            return;
        }

        final long pageAddress = memory.pageAddress(pageIndex);
        UnsafeApi.copyMemory(pageAddress, snapshotAddress, pageSize);
        fromSnapshot = true;
        checksum = Checksums.crc32c(snapshotAddress, pageSize);

        if (choice == PageEncoding.DELTA)
        {
            final int length = DeltaCodec.encode(cached, snapshotAddress, pageSize, deltaAddress, maxEncodedLength);
            chooser.onEncoded(PageEncoding.DELTA, length, 0);
            if (length >= 0)
            {
                encoding = PageEncoding.DELTA;
                payloadAddress = deltaAddress;
                payloadLength = length;
                return;
            }
            choice = chooser.fallback();
        }
        if (choice == PageEncoding.LZ4)
        {
            final long start = clock.nanoTime();
            final int length = lz4.compress(snapshotAddress, maxEncodedLength);
            chooser.onEncoded(PageEncoding.LZ4, length, clock.nanoTime() - start);
            if (length >= 0)
            {
                encoding = PageEncoding.LZ4;
                payloadAddress = lz4.outputAddress();
                payloadLength = length;
                return;
            }
        }
        encoding = PageEncoding.RAW;
        payloadAddress = snapshotAddress;
        payloadLength = pageSize;
    }

    private boolean claim(final int frameLength, final long nowNs)
    {
        if (pacing == Pacing.CHARGE_ONLY)
        {
            limiter.acquireUrgent(frameLength, nowNs);
        }
        else if (!limiter.tryAcquire(frameLength, nowNs))
        {
            rateLimitedWaits++;
            return false;
        }
        final int outcome = frames.tryClaim(frameLength, claim);
        if (outcome != FrameSink.SENT)
        {
            limiter.refund(frameLength);
            if (outcome == FrameSink.CLOSED)
            {
                throw new MigrationException(ErrorCode.PEER_LOST, "data stream closed or at its maximum position");
            }
            return false;
        }
        return true;
    }

    private long writeHeader(final int round, final int frameLength, final PageEncoding frameEncoding,
        final int offsetInPage, final int decodedLength, final int length)
    {
        final MutableDirectBuffer buffer = claim.buffer();
        final int offset = claim.offset();
        pageFlyweight.wrap(buffer, offset);
        pageFlyweight.writeHeader(FrameType.PAGE, frameLength, sessionId);
        pageFlyweight
            .pageIndex(pageIndex)
            .round(round)
            .encoding(frameEncoding.code())
            .chunkOffset(offsetInPage)
            .decodedLength(decodedLength)
            .payloadLength(length);
        return buffer.addressOffset() + offset + PageFlyweight.PAYLOAD_OFFSET;
    }

    private boolean sendPrepared(final int round, final long nowNs)
    {
        final int frameLength = PageFlyweight.PAYLOAD_OFFSET + payloadLength;
        if (!claim(frameLength, nowNs))
        {
            return false;
        }
        final long payload = writeHeader(round, frameLength, encoding, 0, pageSize, payloadLength);
        UnsafeApi.copyMemory(payloadAddress, payload, payloadLength);
        pageFlyweight.checksum(checksum);
        commit(frameLength);
        pageFrames = 1;
        pageBytes = frameLength;
        remember(round, snapshotAddress);
        return true;
    }

    private boolean sendRawChunks(final int round, final long nowNs)
    {
        final long pageAddress = memory.pageAddress(pageIndex);
        while (chunkOffset < pageSize)
        {
            final int length = Math.min(chunkLength, pageSize - chunkOffset);
            final int frameLength = PageFlyweight.PAYLOAD_OFFSET + length;
            if (!claim(frameLength, nowNs))
            {
                return false;
            }
            final long payload = writeHeader(round, frameLength, PageEncoding.RAW, chunkOffset, length, length);
            UnsafeApi.copyMemory(pageAddress + chunkOffset, payload, length);
            // Checksum the copy, not guest memory: the guest may be writing the page right now.
            pageFlyweight.checksum(Checksums.crc32c(payload, length));
            if (length == pageSize)
            {
                remember(round, payload);
            }
            commit(frameLength);
            chunkOffset += length;
            pageFrames++;
            pageBytes += frameLength;
        }
        return true;
    }

    private void commit(final int frameLength)
    {
        final FrameMac mac = frames.signer();
        if (null != mac)
        {
            mac.sign(claim.buffer(), claim.offset(), frameLength);
        }
        claim.commit();
    }

    private void remember(final int round, final long sentBytes)
    {
        // A cached version must always follow what was sent, whether or not the cache is in use right now.
        if (null != cache && !cache.update(pageIndex, sentBytes) && chooser.isCacheWorthwhile())
        {
            if (round > 0)
            {
                cache.offer(pageIndex, sentBytes);
            }
            else if (chooser.fillCacheDuringBulk())
            {
                cache.insertIfFree(pageIndex, sentBytes);
            }
        }
    }

    /** @return encoding of the last completed page. */
    public PageEncoding lastPageEncoding()
    {
        return encoding;
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

    /** @return the cache, or null if delta encoding is off. */
    public PageCache cache()
    {
        return cache;
    }

    /** @return the encoding chooser. */
    public EncodingChooser chooser()
    {
        return chooser;
    }
}
