package io.pagestream.receiving;

import io.pagestream.api.MigrationTarget;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.Checksums;
import io.pagestream.protocol.AuthFlyweight;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.CommitFlyweight;
import io.pagestream.protocol.DeviceStateFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.PageMapWriter;
import io.pagestream.protocol.RoundEndFlyweight;
import io.pagestream.protocol.SwitchoverFlyweight;
import io.pagestream.protocol.ZeroRunFlyweight;
import io.pagestream.security.HandshakeAuthenticator;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.testing.FakeHypervisor;
import io.pagestream.testing.TestCounters;
import io.pagestream.transport.InstantLinks;
import io.pagestream.transport.RecordingSink;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * A target's context over a small guest, instant links, counters in memory and a clock the test moves, with a writer
 * for every frame a source sends: what every receiving-side test stands on.
 */
final class TargetFixture
{
    static final int PAGE = 4096;
    static final long MIGRATION_ID = 0x7a97L;
    static final byte[] KEY = "0123456789abcdef-key".getBytes();

    final CachedNanoClock clock = new CachedNanoClock();
    final FakeHypervisor hypervisor = new FakeHypervisor(0);
    final InstantLinks links = new InstantLinks();
    final MigrationCounters counters = TestCounters.of(CounterType.target());
    final GuestMemory memory;
    final MigrationTarget.Context ctx;
    final UnsafeBuffer frame = new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024));
    final byte[] sourceNonce = HandshakeAuthenticator.newNonce();

    TargetFixture(final int pages, final Consumer<MigrationTarget.Context> settings)
    {
        this(GuestMemory.allocate((long)pages * PAGE, PAGE), settings);
    }

    /** Over guest memory the test made itself (with guard bytes around it, say). */
    TargetFixture(final GuestMemory memory, final Consumer<MigrationTarget.Context> settings)
    {
        clock.update(5_000_000_000L);
        this.memory = memory;
        final MigrationTarget.Context context = new MigrationTarget.Context()
            .guestMemory(memory)
            .deviceState(hypervisor)
            .listenEndpoint("127.0.0.1:40400")
            .urgentEndpoint("127.0.0.1:40402")
            .secretKey(KEY)
            .postcopyEnabled(true)
            .nanoClock(clock);
        settings.accept(context);
        ctx = context.conclude();
    }

    TargetFixture(final int pages)
    {
        this(pages, c -> { });
    }

    void advanceMs(final long ms)
    {
        clock.advance(ms * 1_000_000L);
    }

    /** @return the length of a HELLO written into {@link #frame}. */
    int hello(final long capabilities, final int laneCount)
    {
        final String endpoint = "127.0.0.1:40401";
        final int length = HelloFlyweight.frameLength(1, endpoint.length(), laneCount);
        final HelloFlyweight hello = new HelloFlyweight();
        hello.wrap(frame, 0);
        hello.writeHeader(FrameType.HELLO, length, MIGRATION_ID);
        hello.pageSize(PAGE).regionCount(1).pageCount(memory.pageCount()).capabilities(capabilities)
            .timestampNs(clock.nanoTime()).controlStreamId(1002);
        hello.nonce(sourceNonce);
        hello.vmId(null);
        hello.regionLength(0, memory.sizeBytes());
        hello.controlEndpoint(endpoint);
        if (laneCount > 1)
        {
            final int[] sessions = new int[laneCount];
            for (int i = 1; i < laneCount; i++)
            {
                sessions[i] = 500 + i;
            }
            hello.lanes(laneCount, sessions);
        }
        return length;
    }

    static long authenticated()
    {
        return Capabilities.AUTHENTICATED | Capabilities.POSTCOPY;
    }

    /** @return the length of an AUTH answering the HELLO_ACK last sent on {@code control}, under {@code key}. */
    int auth(final RecordingSink control, final byte[] key)
    {
        final HelloAckFlyweight ack = new HelloAckFlyweight();
        ack.wrapForRead(control.buffer(), control.offset(control.last(FrameType.HELLO_ACK)));
        final byte[] targetNonce = new byte[HelloFlyweight.NONCE_LENGTH];
        ack.getNonce(targetNonce);
        final AuthFlyweight auth = new AuthFlyweight();
        auth.wrap(frame, 0);
        auth.writeHeader(FrameType.AUTH, AuthFlyweight.LENGTH, MIGRATION_ID);
        auth.tag(new HandshakeAuthenticator(key).sourceTag(MIGRATION_ID, sourceNonce, targetNonce));
        auth.wrapForRead(frame, 0);
        return AuthFlyweight.LENGTH;
    }

    /** @return the length of a raw PAGE of {@code pageIndex} filled with {@code seed}, written into {@link #frame}. */
    int page(final long pageIndex, final int round, final long seed)
    {
        final PageFlyweight page = new PageFlyweight();
        final int length = PageFlyweight.PAYLOAD_OFFSET + PAGE;
        page.wrap(frame, 0);
        page.writeHeader(FrameType.PAGE, length, MIGRATION_ID);
        for (int i = 0; i < PAGE; i += 8)
        {
            frame.putLong(PageFlyweight.PAYLOAD_OFFSET + i, seed * 31 + i);
        }
        page.pageIndex(pageIndex).round(round).encoding(1).chunkOffset(0).decodedLength(PAGE)
            .checksum(Checksums.crc32c(frame, PageFlyweight.PAYLOAD_OFFSET, PAGE)).payloadLength(PAGE);
        return length;
    }

    /** @return the length of a ZERO_RUN written into {@link #frame}. */
    int zeroRun(final long first, final long count, final int round)
    {
        final ZeroRunFlyweight zeroRun = new ZeroRunFlyweight();
        zeroRun.wrap(frame, 0);
        zeroRun.writeHeader(FrameType.ZERO_RUN, ZeroRunFlyweight.LENGTH, MIGRATION_ID);
        zeroRun.firstPageIndex(first).pageCount(count).round(round);
        return ZeroRunFlyweight.LENGTH;
    }

    /** @return the length of a ROUND_END written into {@link #frame}. */
    int roundEnd(final int round, final long pageFrames, final long pages)
    {
        final RoundEndFlyweight end = new RoundEndFlyweight();
        end.wrap(frame, 0);
        end.writeHeader(FrameType.ROUND_END, RoundEndFlyweight.LENGTH, MIGRATION_ID);
        end.round(round).pageFrames(pageFrames).pages(pages);
        return RoundEndFlyweight.LENGTH;
    }

    /** @return the length of a DEVICE_STATE chunk of {@code state}, written into {@link #frame}. */
    int deviceState(final byte[] state, final int chunkOffset, final int chunkLength)
    {
        final DeviceStateFlyweight flyweight = new DeviceStateFlyweight();
        final int length = DeviceStateFlyweight.DATA_OFFSET + chunkLength;
        flyweight.wrap(frame, 0);
        flyweight.writeHeader(FrameType.DEVICE_STATE, length, MIGRATION_ID);
        flyweight.totalLength(state.length).chunkOffset(chunkOffset).chunkLength(chunkLength);
        frame.putBytes(DeviceStateFlyweight.DATA_OFFSET, state, chunkOffset, chunkLength);
        return length;
    }

    /** @return a SWITCHOVER written into {@link #frame} and wrapped for reading. */
    SwitchoverFlyweight switchover(final int finalRound, final byte[] state, final boolean postcopy,
        final long pageFrames, final long pendingPages)
    {
        final SwitchoverFlyweight switchover = new SwitchoverFlyweight();
        switchover.wrap(frame, 0);
        switchover.writeHeader(FrameType.SWITCHOVER, SwitchoverFlyweight.LENGTH, MIGRATION_ID);
        switchover.finalRound(finalRound).deviceStateLength(state.length)
            .deviceStateChecksum(state.length == 0 ? 0 : Checksums.crc32c(new UnsafeBuffer(state), 0, state.length))
            .mode(postcopy ? SwitchoverFlyweight.MODE_POSTCOPY : SwitchoverFlyweight.MODE_STOP_AND_COPY)
            .totalPageFrames(pageFrames).pendingPages(pendingPages);
        switchover.wrapForRead(frame, 0);
        return switchover;
    }

    /** @return the length of a COMMIT written into {@link #frame}. */
    int commit()
    {
        final CommitFlyweight commit = new CommitFlyweight();
        commit.wrap(frame, 0);
        commit.writeHeader(FrameType.COMMIT, CommitFlyweight.LENGTH, MIGRATION_ID);
        commit.downtimeNs(1);
        return CommitFlyweight.LENGTH;
    }

    /**
     * Write a page map as chunks of {@code type} into separate buffers and hand each to {@code chunk}.
     */
    static void pageMap(final long[] words, final int type, final ChunkConsumer chunk)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(8192));
        final PageMapWriter writer = new PageMapWriter();
        writer.start(words);
        boolean last = false;
        while (!last)
        {
            final int length = writer.prepare(buffer, type, MIGRATION_ID, 2048);
            chunk.accept(buffer, length);
            last = writer.onSent();
        }
    }

    /**
     * A consumer of one chunk.
     */
    interface ChunkConsumer
    {
        /**
         * @param buffer holding the chunk at offset 0.
         * @param length of the chunk.
         */
        void accept(UnsafeBuffer buffer, int length);
    }

    /** @return the long at the start of a page of guest memory. */
    long firstWord(final long pageIndex)
    {
        return UnsafeApi.getLong(memory.pageAddress(pageIndex));
    }
}
