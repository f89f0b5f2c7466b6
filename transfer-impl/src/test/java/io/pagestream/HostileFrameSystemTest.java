package io.pagestream;

import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationTarget;
import io.pagestream.codec.Checksums;
import io.pagestream.codec.ZeroPages;
import io.pagestream.protocol.DeviceStateFlyweight;
import io.pagestream.protocol.ErrorFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.RoundEndFlyweight;
import io.pagestream.protocol.ZeroRunFlyweight;
import io.pagestream.status.CounterType;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import io.pagestream.transport.AeronTransport;
import io.pagestream.transport.Channels;
import org.agrona.CloseHelper;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntBiFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hand-rolled source completes a real handshake with a target over UDP, then sends one malformed frame. The target
 * must fail with the right error code and a message naming the field, tell the source, and write nothing.
 */
class HostileFrameSystemTest
{
    private static final long MIGRATION_ID = 0x5EED5EED5EEDL;
    private static final int PAGE_COUNT = 4096;

    /** Each case writes one frame into the buffer and returns the number of bytes to send. */
    enum Case
    {
        PAGE_INDEX_BEYOND_GUEST(ErrorCode.PAGE_INDEX_OUT_OF_RANGE, "pageIndex=4096",
            (b, round) -> page(b, PAGE_COUNT, 0, 4096, 1, true)),
        NEGATIVE_PAGE_INDEX(ErrorCode.PAGE_INDEX_OUT_OF_RANGE, "pageIndex=-1",
            (b, round) -> page(b, -1, 0, 4096, 1, true)),
        CHUNK_RUNS_PAST_PAGE(ErrorCode.BAD_LENGTH, "decodedLength=4096",
            (b, round) -> page(b, 7, 4000, 4096, 1, true)),
        UNKNOWN_ENCODING(ErrorCode.UNKNOWN_ENCODING, "encoding=77",
            (b, round) -> page(b, 7, 0, 4096, 77, true)),
        CHECKSUM_MISMATCH(ErrorCode.CHECKSUM_MISMATCH, "pageIndex=7",
            (b, round) -> page(b, 7, 0, 4096, 1, false)),
        TRUNCATED_FRAME(ErrorCode.MALFORMED_FRAME, "frameLength=4144",
            (b, round) ->
            {
                page(b, 7, 0, 4096, 1, true);
                return 100;
            }),
        WRONG_VERSION(ErrorCode.UNSUPPORTED_VERSION, "version=9",
            (b, round) ->
            {
                final int length = page(b, 7, 0, 4096, 1, true);
                b.putByte(FrameFlyweight.VERSION_OFFSET, (byte)9);
                return length;
            }),
        WRONG_MIGRATION_ID(ErrorCode.WRONG_SESSION, "sessionId=",
            (b, round) ->
            {
                final int length = page(b, 7, 0, 4096, 1, true);
                b.putLong(FrameFlyweight.SESSION_ID_OFFSET, MIGRATION_ID + 1, java.nio.ByteOrder.LITTLE_ENDIAN);
                return length;
            }),
        UNKNOWN_FRAME_TYPE(ErrorCode.UNKNOWN_FRAME_TYPE, "type=99",
            (b, round) ->
            {
                new FrameFlyweight().wrap(b, 0).writeHeader(99, 24, MIGRATION_ID);
                return 24;
            }),
        ZERO_RUN_PAST_GUEST(ErrorCode.PAGE_INDEX_OUT_OF_RANGE, "pageCount=100",
            (b, round) ->
            {
                final ZeroRunFlyweight z = new ZeroRunFlyweight();
                z.wrap(b, 0);
                z.writeHeader(FrameType.ZERO_RUN, ZeroRunFlyweight.LENGTH, MIGRATION_ID);
                z.firstPageIndex(PAGE_COUNT - 10).pageCount(100).round(0);
                return ZeroRunFlyweight.LENGTH;
            }),
        DEVICE_STATE_BOMB(ErrorCode.DEVICE_STATE_FAILED, "totalLength=2147483647",
            (b, round) ->
            {
                final DeviceStateFlyweight d = new DeviceStateFlyweight();
                d.wrap(b, 0);
                d.writeHeader(FrameType.DEVICE_STATE, DeviceStateFlyweight.DATA_OFFSET + 16, MIGRATION_ID);
                d.totalLength(Integer.MAX_VALUE).chunkOffset(0).chunkLength(16);
                return DeviceStateFlyweight.DATA_OFFSET + 16;
            }),
        DELTA_FOR_PAGE_NEVER_RECEIVED(ErrorCode.PROTOCOL_VIOLATION, "has not arrived before",
            (b, round) -> encoded(b, 7, 2, new byte[]{ 0, 1, 42 })),
        LZ4_GARBAGE(ErrorCode.BAD_LENGTH, "LZ4 payload for pageIndex=7",
            (b, round) -> encoded(b, 7, 3, new byte[]{ (byte)0xFF, (byte)0xFF, (byte)0xFF, 1, 2, 3, 4, 5 })),
        LZ4_PARTIAL_PAGE(ErrorCode.BAD_LENGTH, "must cover the whole page",
            (b, round) ->
            {
                final int length = encoded(b, 7, 3, new byte[]{ 0x10, 1 });
                new PageFlyweight().wrap(b, 0);
                b.putInt(PageFlyweight.DECODED_LENGTH_OFFSET, 1024, java.nio.ByteOrder.LITTLE_ENDIAN);
                return length;
            }),
        ROUND_END_WITH_WRONG_COUNT(ErrorCode.PROTOCOL_VIOLATION, "pageFrames=5",
            (b, round) ->
            {
                final RoundEndFlyweight r = new RoundEndFlyweight();
                r.wrap(b, 0);
                r.writeHeader(FrameType.ROUND_END, RoundEndFlyweight.LENGTH, MIGRATION_ID);
                r.round(0).pageFrames(5).pages(5);
                return RoundEndFlyweight.LENGTH;
            });

        final ErrorCode expected;
        final String mentions;
        final ToIntBiFunction<UnsafeBuffer, Integer> writer;

        Case(final ErrorCode expected, final String mentions, final ToIntBiFunction<UnsafeBuffer, Integer> writer)
        {
            this.expected = expected;
            this.mentions = mentions;
            this.writer = writer;
        }
    }

    static int page(
        final UnsafeBuffer b, final long pageIndex, final int chunkOffset, final int length, final int encoding,
        final boolean goodChecksum)
    {
        final PageFlyweight p = new PageFlyweight();
        p.wrap(b, 0);
        final int frameLength = PageFlyweight.PAYLOAD_OFFSET + length;
        p.writeHeader(FrameType.PAGE, frameLength, MIGRATION_ID);
        for (int i = 0; i < length; i++)
        {
            b.putByte(PageFlyweight.PAYLOAD_OFFSET + i, (byte)(i * 7 + 1));
        }
        final int crc = Checksums.crc32c(b, PageFlyweight.PAYLOAD_OFFSET, length);
        p.pageIndex(pageIndex).round(0).encoding(encoding).chunkOffset(chunkOffset).decodedLength(length)
            .payloadLength(length).checksum(goodChecksum ? crc : ~crc);
        return frameLength;
    }

    static int encoded(final UnsafeBuffer b, final long pageIndex, final int encoding, final byte[] payload)
    {
        final PageFlyweight p = new PageFlyweight();
        p.wrap(b, 0);
        final int frameLength = PageFlyweight.PAYLOAD_OFFSET + payload.length;
        p.writeHeader(FrameType.PAGE, frameLength, MIGRATION_ID);
        b.putBytes(PageFlyweight.PAYLOAD_OFFSET, payload);
        p.pageIndex(pageIndex).round(0).encoding(encoding).chunkOffset(0).decodedLength(4096)
            .payloadLength(payload.length).checksum(0);
        return frameLength;
    }

    /** A source that speaks just enough protocol to get past the handshake. */
    static final class FakeSource implements AutoCloseable
    {
        final AeronTransport transport;
        final ExclusivePublication publication;
        final Subscription control;
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8192]);
        final AtomicInteger lastErrorCode = new AtomicInteger();

        FakeSource(final String targetEndpoint, final String controlEndpoint)
        {
            transport = AeronTransport.launch(null, "fake", new BackoffIdleStrategy(), Throwable::printStackTrace);
            control = transport.aeron().addSubscription(Channels.control(controlEndpoint), 1002);
            publication = transport.aeron().addExclusivePublication(
                Channels.dataPublication(targetEndpoint, 8192, 1 << 20, 1 << 20), 1001);
        }

        void handshake(final String controlEndpoint) throws InterruptedException
        {
            awaitConnected();
            final HelloFlyweight hello = new HelloFlyweight();
            hello.wrap(buffer, 0);
            final int length = HelloFlyweight.frameLength(1, controlEndpoint.length());
            hello.writeHeader(FrameType.HELLO, length, MIGRATION_ID);
            hello.pageSize(4096).regionCount(1).pageCount(PAGE_COUNT).capabilities(0).timestampNs(1)
                .controlStreamId(1002).regionLength(0, 4096L * PAGE_COUNT).controlEndpoint(controlEndpoint);
            send(length);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            final boolean[] acked = new boolean[1];
            while (!acked[0])
            {
                assertTrue(System.nanoTime() < deadline, "no HELLO_ACK");
                control.poll((buf, off, len, hdr) -> acked[0] |= buf.getByte(off + 1) == FrameType.HELLO_ACK, 10);
                Thread.sleep(1);
            }
        }

        void awaitConnected() throws InterruptedException
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!publication.isConnected())
            {
                assertTrue(System.nanoTime() < deadline, "not connected");
                Thread.sleep(1);
            }
        }

        void send(final int length) throws InterruptedException
        {
            while (publication.offer(buffer, 0, length) < 0)
            {
                Thread.sleep(1);
            }
        }

        int awaitErrorCode(final long timeoutMs) throws InterruptedException
        {
            final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            final ErrorFlyweight error = new ErrorFlyweight();
            while (lastErrorCode.get() == 0 && System.nanoTime() < deadline)
            {
                control.poll((buf, off, len, hdr) ->
                {
                    if (buf.getByte(off + 1) == FrameType.ERROR)
                    {
                        error.wrapForRead(buf, off);
                        lastErrorCode.set(error.errorCode());
                    }
                }, 10);
                Thread.sleep(1);
            }
            return lastErrorCode.get();
        }

        public void close()
        {
            CloseHelper.closeAll(publication, control, transport);
        }
    }

    private static SyntheticGuest.Config config()
    {
        return new SyntheticGuest.Config().sizeBytes(4096L * PAGE_COUNT).workload(Workload.IDLE);
    }

    private static void assertUntouched(final SyntheticGuest guest)
    {
        for (long p = 0; p < guest.memory().pageCount(); p++)
        {
            assertTrue(ZeroPages.isZero(guest.memory().pageAddress(p), 4096), "page " + p + " was written");
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    @Timeout(60)
    void shouldRefuseMalformedFrameWithNamedErrorAndWriteNothing(final Case hostile) throws Exception
    {
        try (SyntheticGuest guest = SyntheticGuest.createTarget(config()))
        {
            final String targetEndpoint = "127.0.0.1:" + LoopbackPorts.next();
            final String controlEndpoint = "127.0.0.1:" + LoopbackPorts.next();
            try (MigrationTarget target = PageStream.launchTarget(new MigrationTarget.Context()
                .guestMemory(guest.memory()).deviceState(guest.deviceState()).listenEndpoint(targetEndpoint)
                .allowUnauthenticated(true) // the fake source speaks no authentication; frames are the subject here
                .maxDeviceStateBytes(1 << 20));
                FakeSource source = new FakeSource(targetEndpoint, controlEndpoint))
            {
                source.handshake(controlEndpoint);
                source.send(hostile.writer.applyAsInt(source.buffer, 0));

                final MigrationReport report = target.completion().get(20, TimeUnit.SECONDS);
                assertEquals(MigrationResult.FAILED, report.result());
                assertEquals(hostile.expected, report.errorCode(), report.reason());
                assertTrue(report.reason().contains(hostile.mentions), report.reason());
                assertEquals(hostile.expected.value(), source.awaitErrorCode(5_000), "source told why");
                assertEquals(1, PageStream.counter(target, CounterType.BAD_FRAMES));
                assertUntouched(guest);
            }
        }
    }

    @Test
    @Timeout(60)
    void shouldRejectTheImageOfAnotherPublisherAndDropItsFramesWithoutFailing() throws Exception
    {
        try (SyntheticGuest guest = SyntheticGuest.createTarget(config()))
        {
            final String targetEndpoint = "127.0.0.1:" + LoopbackPorts.next();
            final String controlEndpoint = "127.0.0.1:" + LoopbackPorts.next();
            try (MigrationTarget target = PageStream.launchTarget(new MigrationTarget.Context()
                .guestMemory(guest.memory()).deviceState(guest.deviceState()).listenEndpoint(targetEndpoint)
                .allowUnauthenticated(true));
                FakeSource source = new FakeSource(targetEndpoint, controlEndpoint);
                FakeSource intruder = new FakeSource(targetEndpoint, "127.0.0.1:" + LoopbackPorts.next()))
            {
                source.handshake(controlEndpoint);
                intruder.awaitConnected();
                final int length = page(intruder.buffer, 3, 0, 4096, 1, true);
                intruder.send(length);

                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (PageStream.counter(target, CounterType.FOREIGN_IMAGES_REJECTED) < 1)
                {
                    assertTrue(System.nanoTime() < deadline, "foreign image not rejected");
                    Thread.sleep(1);
                }
                assertTrue(PageStream.counter(target, CounterType.FOREIGN_FRAMES_DROPPED) >= 1, "and its frame dropped");
                while (intruder.publication.isConnected())
                {
                    assertTrue(System.nanoTime() < deadline, "the driver did not cut the intruder off");
                    Thread.sleep(1);
                }
                assertFalse(target.completion().isDone(), "the real session goes on");
                assertFalse(target.isPageReceived(3));
                assertUntouched(guest);
            }
        }
    }
}
