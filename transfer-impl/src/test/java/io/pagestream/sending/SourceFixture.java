package io.pagestream.sending;

import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.pages.LanePartition;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.RoundEndFlyweight;
import io.pagestream.protocol.ZeroRunFlyweight;
import io.pagestream.security.FrameGuard;
import io.pagestream.security.HandshakeAuthenticator;
import io.pagestream.testing.FakeHypervisor;
import io.pagestream.transport.BandwidthLimiter;
import io.pagestream.transport.InstantLinks;
import io.pagestream.transport.RecordingSink;
import io.pagestream.protocol.Capabilities;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The parts of a source, wired as the conductor wires them, over recording lanes, instant links, a fake hypervisor
 * and a clock the test moves: what every source session test stands on.
 */
final class SourceFixture
{
    static final int PAGE = 4096;
    static final byte[] KEY = "0123456789abcdef-key".getBytes();

    final CachedNanoClock clock = new CachedNanoClock();
    final FakeHypervisor hypervisor = new FakeHypervisor(20_000);
    final InstantLinks links = new InstantLinks();
    final GuestMemory memory;
    final RecordingSink[] sinks;
    final MigrationSource.Context ctx;
    final BandwidthLimiter limiter;
    final RoundTracker tracker;
    final DataLanes lanes;
    final UrgentLane urgent;
    final TargetProxy proxy;
    final FrameGuard guard;
    final LaneStats controlStats = new LaneStats();
    final List<MigrationPhase> phases = new ArrayList<>();

    SourceFixture(final int pages, final int laneCount, final Consumer<MigrationSource.Context> settings)
    {
        clock.update(1_000_000_000L);
        memory = GuestMemory.allocate((long)pages * PAGE, PAGE);
        for (long p = 0; p < pages; p += 3)
        {
            UnsafeApi.putLong(memory.pageAddress(p) + 8 * (p % 500), p + 1); // every third page holds data
        }
        sinks = new RecordingSink[laneCount];
        for (int i = 0; i < laneCount; i++)
        {
            sinks[i] = new RecordingSink(10 + i, 8192 - 32 - 24);
        }
        final MigrationSource.Context context = new MigrationSource.Context()
            .guestMemory(memory)
            .dirtyPageLog(hypervisor)
            .vcpuControl(hypervisor)
            .deviceState(hypervisor)
            .targetEndpoint("127.0.0.1:40400")
            .controlEndpoint("127.0.0.1:40401")
            .secretKey(KEY)
            .dataLanes(laneCount)
            .compression(io.pagestream.api.Compression.NONE)
            .nanoClock(clock)
            .migrationId(0x5eedL);
        settings.accept(context);
        ctx = context.conclude();
        limiter = new BandwidthLimiter(ctx.maxBandwidthBytesPerSec(), PageFlyweight.PAYLOAD_OFFSET + PAGE,
            clock.nanoTime());
        tracker = new RoundTracker(clock.nanoTime(), PageFlyweight.PAYLOAD_OFFSET + PAGE);
        lanes = DataLanes.create(ctx, sinks, links, limiter, tracker,
            new EncodingChooser(ctx.compression(), PAGE, ctx.maxBandwidthBytesPerSec(), clock.nanoTime()), null, null);
        urgent = UrgentLane.create(ctx, links, limiter, sinks[0], clock.nanoTime());
        proxy = new TargetProxy(ctx.migrationId());
        proxy.controlSink(lanes.controlSink());
        guard = new FrameGuard("control stream", FrameGuard.FailurePolicy.DROP_AND_COUNT, null);
    }

    SourceFixture(final int pages, final int laneCount)
    {
        this(pages, laneCount, c -> { });
    }

    GuestControl guestControl()
    {
        return new GuestControl(hypervisor, hypervisor, hypervisor, Throwable::printStackTrace, clock);
    }

    void advanceMs(final long ms)
    {
        clock.advance(ms * 1_000_000L);
    }

    /**
     * A HELLO_ACK answering the last HELLO on {@code sink}, proving {@code key} (or a wrong proof).
     */
    UnsafeBuffer helloAck(final RecordingSink sink, final byte[] key, final long capabilities, final int status)
    {
        final int hello = sink.last(FrameType.HELLO);
        final HelloFlyweight helloFlyweight = new HelloFlyweight();
        helloFlyweight.wrapForRead(sink.buffer(), sink.offset(hello));
        final byte[] sourceNonce = new byte[HelloFlyweight.NONCE_LENGTH];
        helloFlyweight.getNonce(sourceNonce);
        final byte[] targetNonce = HandshakeAuthenticator.newNonce();
        final byte[] tag = new HandshakeAuthenticator(key).targetTag(ctx.migrationId(), sourceNonce, targetNonce);
        final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(256));
        final HelloAckFlyweight ack = new HelloAckFlyweight();
        ack.wrap(buffer, 0);
        ack.writeHeader(FrameType.HELLO_ACK, HelloAckFlyweight.LENGTH, ctx.migrationId());
        ack.status(status).targetVersion(1).capabilities(capabilities).echoTimestampNs(helloFlyweight.timestampNs())
            .urgentPort(40402).proof(targetNonce, tag);
        ack.wrapForRead(buffer, 0);
        return buffer;
    }

    HelloAckFlyweight ackFlyweight(final UnsafeBuffer buffer)
    {
        final HelloAckFlyweight ack = new HelloAckFlyweight();
        ack.wrapForRead(buffer, 0);
        return ack;
    }

    static long authenticated()
    {
        return Capabilities.AUTHENTICATED | Capabilities.POSTCOPY;
    }

    /**
     * @return every page the lanes sent (data pages and zero runs), checking each is sent on the lane that owns it.
     */
    PageBitmap pagesSent(final int round)
    {
        final PageBitmap sent = new PageBitmap(memory.pageCount());
        final PageFlyweight page = new PageFlyweight();
        final ZeroRunFlyweight zeroRun = new ZeroRunFlyweight();
        for (int lane = 0; lane < sinks.length; lane++)
        {
            final RecordingSink sink = sinks[lane];
            for (int i = 0; i < sink.count(); i++)
            {
                if (sink.type(i) == FrameType.PAGE)
                {
                    page.wrapForRead(sink.buffer(), sink.offset(i));
                    if (page.round() == round)
                    {
                        check(lane, page.pageIndex());
                        if (!sent.set(page.pageIndex()))
                        {
                            throw new AssertionError("page " + page.pageIndex() + " sent twice in round " + round);
                        }
                    }
                }
                else if (sink.type(i) == FrameType.ZERO_RUN)
                {
                    zeroRun.wrapForRead(sink.buffer(), sink.offset(i));
                    if (zeroRun.round() == round)
                    {
                        for (long p = zeroRun.firstPageIndex(); p < zeroRun.firstPageIndex() + zeroRun.pageCount();
                            p++)
                        {
                            check(lane, p);
                            if (!sent.set(p))
                            {
                                throw new AssertionError("page " + p + " sent twice in round " + round);
                            }
                        }
                    }
                }
            }
        }
        return sent;
    }

    private void check(final int lane, final long pageIndex)
    {
        if (LanePartition.laneOf(pageIndex, sinks.length) != lane)
        {
            throw new AssertionError("page " + pageIndex + " sent on lane " + lane + ", owned by lane " +
                LanePartition.laneOf(pageIndex, sinks.length));
        }
    }

    /** @return the ROUND_END frames of a round on one lane. */
    List<RoundEndFlyweight> roundEnds(final int lane, final int round)
    {
        final List<RoundEndFlyweight> ends = new ArrayList<>();
        final RecordingSink sink = sinks[lane];
        for (int i = 0; i < sink.count(); i++)
        {
            if (sink.type(i) == FrameType.ROUND_END)
            {
                final RoundEndFlyweight end = new RoundEndFlyweight();
                end.wrapForRead(sink.buffer(), sink.offset(i));
                if (end.round() == round)
                {
                    ends.add(end);
                }
            }
        }
        return ends;
    }
}
