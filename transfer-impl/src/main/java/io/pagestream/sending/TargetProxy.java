package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.protocol.AuthFlyweight;
import io.pagestream.protocol.CommitFlyweight;
import io.pagestream.protocol.DeviceStateFlyweight;
import io.pagestream.protocol.ErrorFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.kernel.GuestPageScan;
import io.pagestream.protocol.PageMapFlyweight;
import io.pagestream.protocol.PageMapWriter;
import io.pagestream.protocol.RoundEndFlyweight;
import io.pagestream.protocol.StatusFlyweight;
import io.pagestream.protocol.SwitchoverFlyweight;
import io.pagestream.protocol.ZeroRunFlyweight;
import io.pagestream.transport.FrameSink;
import org.agrona.DirectBuffer;

import java.util.UUID;

/**
 * Everything the source puts on the wire but page payloads: one method per frame type, each building its frame in
 * the sink's scratch buffer and offering it once. Control frames (HELLO, AUTH, STATUS, PENDING_MAP, DEVICE_STATE,
 * SWITCHOVER, COMMIT, ERROR) go on data lane 0; ZERO_RUN and ROUND_END go on the lane they describe. PAGE frames are
 * written in place in the term buffer by {@link PageSender}, the one other writer of the wire.
 * <p>
 * Every method returns the sink's outcome ({@link FrameSink#SENT}, {@link FrameSink#RETRY},
 * {@link FrameSink#CLOSED}); retrying is the caller's business, across duty cycles. Threading: the conductor's
 * thread. No allocation but {@link #error}'s message encoding.
 */
final class TargetProxy implements io.pagestream.status.PeerNotice.Sender
{
    private final long migrationId;
    private final HelloFlyweight hello = new HelloFlyweight();
    private final AuthFlyweight auth = new AuthFlyweight();
    private final StatusFlyweight status = new StatusFlyweight();
    private final DeviceStateFlyweight deviceState = new DeviceStateFlyweight();
    private final SwitchoverFlyweight switchover = new SwitchoverFlyweight();
    private final CommitFlyweight commit = new CommitFlyweight();
    private final io.pagestream.protocol.PromoteFlyweight promote = new io.pagestream.protocol.PromoteFlyweight();
    private final ErrorFlyweight error = new ErrorFlyweight();
    private final ZeroRunFlyweight zeroRun = new ZeroRunFlyweight();
    private final RoundEndFlyweight roundEnd = new RoundEndFlyweight();
    private FrameSink control;
    private long lastStatusNs = Long.MIN_VALUE / 2;

    TargetProxy(final long migrationId)
    {
        this.migrationId = migrationId;
    }

    /**
     * @param sink data lane 0, where control frames go from now on (a new one after a recovery).
     */
    void controlSink(final FrameSink sink)
    {
        control = sink;
    }

    FrameSink controlSink()
    {
        return control;
    }

    /**
     * HELLO: the guest's layout, what this source offers, its nonce, and the sessions of the data lanes.
     *
     * @param memory          the guest memory.
     * @param capabilities    capability bits.
     * @param nowNs           sent as the timestamp the target echoes.
     * @param controlStreamId where the target sends control frames.
     * @param controlEndpoint {@code host:port} of this source's control subscription.
     * @param nonce           this handshake's nonce.
     * @param vmId            the VM's UUID, or null.
     * @param laneSessionIds  Aeron session of each data lane.
     * @param dataBytes       bytes of guest memory this source expects to send, or -1 to leave them out.
     * @return the outcome.
     */
    int hello(
        final GuestMemory memory,
        final long capabilities,
        final long nowNs,
        final int controlStreamId,
        final String controlEndpoint,
        final byte[] nonce,
        final UUID vmId,
        final int[] laneSessionIds,
        final long dataBytes)
    {
        final int regions = memory.regionCount();
        final int lanes = laneSessionIds.length;
        final int length = HelloFlyweight.frameLength(regions, controlEndpoint.length(), lanes, dataBytes >= 0);
        hello.wrap(control.scratch(), 0);
        hello.writeHeader(FrameType.HELLO, length, migrationId);
        hello.pageSize(memory.pageSize())
            .regionCount(regions)
            .pageCount(memory.pageCount())
            .capabilities(capabilities | (dataBytes >= 0 ? Capabilities.DATA_BYTES : 0))
            .timestampNs(nowNs)
            .controlStreamId(controlStreamId);
        hello.nonce(nonce);
        hello.vmId(vmId);
        for (int i = 0; i < regions; i++)
        {
            hello.regionLength(i, memory.regionLengthBytes(i));
        }
        hello.controlEndpoint(controlEndpoint);
        if (lanes > 1)
        {
            hello.lanes(lanes, laneSessionIds);
        }
        if (dataBytes >= 0)
        {
            hello.dataBytes(lanes, dataBytes);
        }
        return control.offer(length);
    }

    /**
     * AUTH: this source's answer to the target's nonce, unsigned, ahead of every page.
     *
     * @param tag HMAC over the target's nonce.
     * @return the outcome.
     */
    int auth(final byte[] tag)
    {
        auth.wrap(control.scratch(), 0);
        auth.writeHeader(FrameType.AUTH, AuthFlyweight.LENGTH, migrationId);
        auth.tag(tag);
        return control.offer(AuthFlyweight.LENGTH);
    }

    /**
     * STATUS if one is due ({@value #HEARTBEAT_MS} ms since the last went out); a refused offer is tried again on the
     * next call.
     *
     * @param nowNs current time.
     */
    void heartbeat(final long nowNs)
    {
        if (nowNs - lastStatusNs > java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(HEARTBEAT_MS) &&
            status(nowNs) == FrameSink.SENT)
        {
            lastStatusNs = nowNs;
        }
    }

    /** Time between heartbeats. */
    static final long HEARTBEAT_MS = 100;

    /**
     * STATUS: the heartbeat that tells a quiet source from a lost one.
     *
     * @param nowNs current time.
     * @return the outcome.
     */
    int status(final long nowNs)
    {
        status.wrap(control.scratch(), 0);
        status.writeHeader(FrameType.STATUS, StatusFlyweight.LENGTH, migrationId);
        status.flags(0);
        status.pagesApplied(0).timestampNs(nowNs);
        return control.offer(StatusFlyweight.LENGTH);
    }

    /**
     * PENDING_MAP: the next chunk of the pages still to come after a post-copy switchover.
     *
     * @param writer positioned at the next chunk.
     * @return the frame length if sent (call {@link PageMapWriter#onSent()}), else the outcome (0 or -1).
     */
    int pendingMapChunk(final PageMapWriter writer)
    {
        final int length = writer.prepare(control.scratch(), FrameType.PENDING_MAP, migrationId,
            control.maxFrameLength());
        final int outcome = control.offer(length);
        return outcome == FrameSink.SENT ? length : outcome;
    }

    /**
     * @param writer positioned at the next chunk.
     * @return the length the next PENDING_MAP chunk will have, for the bandwidth cap.
     */
    int pendingMapChunkLength(final PageMapWriter writer)
    {
        return writer.prepare(control.scratch(), FrameType.PENDING_MAP, migrationId, control.maxFrameLength());
    }

    /**
     * DEVICE_STATE: one chunk of the saved device state, gathered without copying the body.
     *
     * @param totalLength of the device state.
     * @param chunkOffset where this chunk starts.
     * @param state       the saved state.
     * @param chunkLength bytes in this chunk.
     * @return the outcome.
     */
    int deviceStateChunk(final int totalLength, final int chunkOffset, final DirectBuffer state, final int chunkLength)
    {
        final int frameLength = DeviceStateFlyweight.DATA_OFFSET + chunkLength;
        deviceState.wrap(control.scratch(), 0);
        deviceState.writeHeader(FrameType.DEVICE_STATE, frameLength, migrationId);
        deviceState.totalLength(totalLength).chunkOffset(chunkOffset).chunkLength(chunkLength);
        return control.offer(DeviceStateFlyweight.DATA_OFFSET, state, chunkOffset, chunkLength);
    }

    /** @return the most device state bytes one chunk carries. */
    int deviceStateChunkRoom()
    {
        return control.maxFrameLength() - DeviceStateFlyweight.DATA_OFFSET;
    }

    /**
     * SWITCHOVER: the hand-over, after the last round and the device state.
     *
     * @param finalRound        the last round sent.
     * @param deviceStateLength bytes of device state sent.
     * @param deviceStateCrc    its CRC32C.
     * @param postcopy          true for a post-copy switchover.
     * @param totalPageFrames   page frames sent in all, every lane.
     * @param pendingPages      pages still to come (post-copy), else 0.
     * @return the outcome.
     */
    int switchover(
        final int finalRound,
        final int deviceStateLength,
        final int deviceStateCrc,
        final boolean postcopy,
        final long totalPageFrames,
        final long pendingPages)
    {
        switchover.wrap(control.scratch(), 0);
        switchover.writeHeader(FrameType.SWITCHOVER, SwitchoverFlyweight.LENGTH, migrationId);
        switchover.finalRound(finalRound)
            .deviceStateLength(deviceStateLength)
            .deviceStateChecksum(deviceStateCrc)
            .mode(postcopy ? SwitchoverFlyweight.MODE_POSTCOPY : SwitchoverFlyweight.MODE_STOP_AND_COPY)
            .totalPageFrames(totalPageFrames)
            .pendingPages(pendingPages);
        return control.offer(SwitchoverFlyweight.LENGTH);
    }

    /**
     * COMMIT: the second phase of a stop-and-copy switchover; from here the guest belongs to the target.
     *
     * @param downtimeNs the pause so far.
     * @return the outcome.
     */
    /**
     * PROMOTE: the target was lost before the switchover; the follower at this endpoint takes its place.
     *
     * @param endpoint {@code host:port} of the follower.
     * @return the outcome.
     */
    int promote(final String endpoint)
    {
        promote.wrap(control.scratch(), 0);
        final int length = promote.endpoint(endpoint);
        promote.writeHeader(FrameType.PROMOTE, length, migrationId);
        return control.offer(length);
    }

    int commit(final long downtimeNs)
    {
        commit.wrap(control.scratch(), 0);
        commit.writeHeader(FrameType.COMMIT, CommitFlyweight.LENGTH, migrationId);
        commit.downtimeNs(downtimeNs);
        return control.offer(CommitFlyweight.LENGTH);
    }

    /**
     * ERROR: why this source gives up, with a stable code.
     *
     * @param code    the error code.
     * @param message the reason.
     * @return the outcome; {@link FrameSink#CLOSED} if there is no control sink.
     */
    public int error(final ErrorCode code, final String message)
    {
        if (null == control)
        {
            return FrameSink.CLOSED;
        }
        error.wrap(control.scratch(), 0);
        error.errorCode(code.value());
        final int length = error.message(message);
        error.writeHeader(FrameType.ERROR, length, migrationId);
        return control.offer(length);
    }

    /**
     * ZERO_RUN on a lane: a run of consecutive zero pages.
     *
     * @param lane        the lane's sink.
     * @param migrationId the session.
     * @param firstPage   first page index.
     * @param pageCount   pages in the run.
     * @param round       the round.
     * @param flyweight   the lane's flyweight.
     * @return the outcome.
     */
    static int zeroRun(
        final FrameSink lane,
        final long migrationId,
        final long firstPage,
        final long pageCount,
        final int round,
        final ZeroRunFlyweight flyweight)
    {
        flyweight.wrap(lane.scratch(), 0);
        flyweight.writeHeader(FrameType.ZERO_RUN, ZeroRunFlyweight.LENGTH, migrationId);
        flyweight.firstPageIndex(firstPage).pageCount(pageCount).round(round);
        return lane.offer(ZeroRunFlyweight.LENGTH);
    }

    /**
     * DATA_MAP on a lane: which pages of one scan chunk may hold data, so the target commits memory for those in
     * batches ahead of them and none for the rest. A frame too small for the chunk carries its first part.
     *
     * @param lane        the lane's sink.
     * @param migrationId the session.
     * @param scan        the guest's page scan.
     * @param pageCount   pages of guest memory.
     * @param chunk       the chunk.
     * @param flyweight   the lane's flyweight.
     * @return the frame length if sent, else {@link FrameSink#RETRY} or {@link FrameSink#CLOSED}.
     */
    static int dataMap(
        final FrameSink lane,
        final long migrationId,
        final GuestPageScan scan,
        final long pageCount,
        final long chunk,
        final PageMapFlyweight flyweight)
    {
        final int totalWords = (int)((pageCount + 63) >>> 6);
        final int firstWord = (int)(chunk * GuestPageScan.CHUNK_WORDS);
        final int count = Math.min(Math.min(GuestPageScan.CHUNK_WORDS, totalWords - firstWord),
            PageMapFlyweight.maxWords(lane.maxFrameLength()));
        final int length = PageMapFlyweight.frameLength(count);
        flyweight.wrap(lane.scratch(), 0);
        flyweight.writeHeader(FrameType.DATA_MAP, length, migrationId);
        flyweight.chunk(firstWord, count, totalWords, firstWord + count >= totalWords);
        for (int i = 0; i < count; i++)
        {
            flyweight.word(i, scan.word(firstWord + i));
        }
        final int outcome = lane.offer(length);
        return outcome == FrameSink.SENT ? length : outcome;
    }

    /**
     * ROUND_END on a lane: what this lane sent in the round, which the target checks before it closes the round.
     *
     * @param lane        the lane's sink.
     * @param migrationId the session.
     * @param round       the round.
     * @param pageFrames  page frames the lane sent in it.
     * @param pages       pages (data and zero) the lane sent in it.
     * @param flyweight   the lane's flyweight.
     * @return the outcome.
     */
    static int roundEnd(
        final FrameSink lane,
        final long migrationId,
        final int round,
        final long pageFrames,
        final long pages,
        final RoundEndFlyweight flyweight)
    {
        flyweight.wrap(lane.scratch(), 0);
        flyweight.writeHeader(FrameType.ROUND_END, RoundEndFlyweight.LENGTH, migrationId);
        flyweight.round(round).pageFrames(pageFrames).pages(pages);
        return lane.offer(RoundEndFlyweight.LENGTH);
    }

    /** @return the frame header length, for callers that budget bytes. */
    static int headerLength()
    {
        return FrameFlyweight.HEADER_LENGTH;
    }
}
