package io.pagestream.receiving;

import io.aeron.Aeron;
import io.aeron.Subscription;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.Header;
import io.aeron.protocol.DataHeaderFlyweight;
import io.pagestream.LoopbackPorts;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationTarget;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.Checksums;
import io.pagestream.protocol.DeviceStateFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.PageMapFlyweight;
import io.pagestream.protocol.RoundEndFlyweight;
import io.pagestream.protocol.StatusFlyweight;
import io.pagestream.protocol.SwitchoverFlyweight;
import io.pagestream.protocol.ZeroRunFlyweight;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.testing.Allocations;
import io.pagestream.synthetic.SyntheticDeviceState;
import io.pagestream.transport.AeronLinks;
import io.pagestream.transport.AeronTransport;
import io.pagestream.transport.Channels;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.agrona.CloseHelper;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every frame type the source sends, valid but for one malformation (truncated, oversize, a length field claiming
 * gigabytes, a page beyond guest memory, an unknown type or encoding, a wrong version or session, a corrupted
 * payload), fed to a real {@link TargetConductor}'s data lane right after a real handshake. The target must fail with a fitting
 * {@link ErrorCode}, write nothing into guest memory nor the guard pages around it, allocate nothing to speak of,
 * and tell the source (an ERROR frame on the control stream).
 */
class MalformedFrameProperties
{
    private static final int PAGE = 4096;
    private static final int PAGES = 16;
    private static final byte GUARD = (byte)0xA5;
    private static final long MIGRATION_ID = 0x0BAD_F00DL;
    private static final int AERON_SESSION = 4242;
    private static final int CONTROL_STREAM = 1002;

    private static AeronTransport transport;
    private static Subscription control;
    private static String controlEndpoint;

    enum Mutation
    {
        TRUNCATED, OVERSIZE, HUGE_LENGTH_FIELD, PAGE_BEYOND_GUEST, UNKNOWN_TYPE, UNKNOWN_ENCODING, WRONG_VERSION,
        WRONG_SESSION, CORRUPTED_PAYLOAD
    }

    @BeforeContainer
    static void launch() throws Exception
    {
        transport = AeronTransport.launch(null, "malformed", new BackoffIdleStrategy(), Throwable::printStackTrace);
        controlEndpoint = "127.0.0.1:" + LoopbackPorts.next();
        control = transport.aeron().addSubscription(Channels.control(controlEndpoint), CONTROL_STREAM);
    }

    @AfterContainer
    static void close()
    {
        CloseHelper.closeAll(control, transport);
    }

    @Provide
    Arbitrary<Integer> frameTypes()
    {
        return Arbitraries.of(FrameType.PAGE, FrameType.ZERO_RUN, FrameType.ROUND_END, FrameType.DEVICE_STATE,
            FrameType.SWITCHOVER, FrameType.PENDING_MAP, FrameType.STATUS);
    }

    @Property(tries = 120)
    void malformedFramesFailCleanlyAndWriteNothing(
        @ForAll("frameTypes") final int type,
        @ForAll final Mutation mutation,
        @ForAll final long seed) throws Exception
    {
        final long raw = UnsafeApi.allocateMemory((PAGES + 3L) * PAGE);
        final long guardBefore = (raw + PAGE - 1) & -(long)PAGE;
        final long guestAddress = guardBefore + PAGE;
        UnsafeApi.setMemory(guardBefore, (PAGES + 2L) * PAGE, GUARD);
        UnsafeApi.setMemory(guestAddress, (long)PAGES * PAGE, (byte)0);
        final GuestMemory memory = GuestMemory.wrap(PAGE, new long[]{ guestAddress }, new long[]{ (long)PAGES * PAGE });
        final Aeron aeron = transport.aeron();
        final CompletableFuture<MigrationReport> completion = new CompletableFuture<>();
        final MigrationTarget.Context ctx = new MigrationTarget.Context()
            .guestMemory(memory)
            .deviceState(SyntheticDeviceState.target())
            .listenEndpoint("127.0.0.1:9")
            .postcopyEnabled(true)
            .maxDeviceStateBytes(1 << 20)
            .allowUnauthenticated(true) // the handshake here is hand-made; the frames after it are the subject
            .errorHandler(Throwable::printStackTrace)
            .conclude();
        try (MigrationCounters counters = new MigrationCounters(aeron, 0, CounterType.target());
            Subscription unused = aeron.addSubscription("aeron:ipc", 77))
        {
            final TargetConductor agent = new TargetConductor(ctx, new AeronLinks(aeron), unused, unused, counters,
                completion);
            handshake(agent);

            // Direct, as Aeron's term buffers are: the target reads payloads by address.
            final UnsafeBuffer frame = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(1 << 16));
            final int length = malformed(frame, type, mutation, seed);
            final long allocatedBefore = Allocations.ofThisThread();
            agent.lane(0).onFragment(frame, 0, length, header(AERON_SESSION));
            final long allocated = Allocations.ofThisThread() - allocatedBefore;
            for (int i = 0; i < 100 && !completion.isDone(); i++)
            {
                agent.doWork();
                Thread.sleep(1);
            }

            final MigrationReport report = completion.getNow(null);
            assertThat(report).as("%s %s: the target failed", FrameType.name(type), mutation).isNotNull();
            assertThat(report.errorCode()).as("%s %s: %s", FrameType.name(type), mutation, report.reason())
                .isIn(expected(type, mutation));
            assertThat(report.reason()).as("the reason names the field and its value").contains("=");
            assertThat(agent.progress().phase()).isEqualTo(MigrationPhase.FAILED);
            for (long a = guardBefore; a < guardBefore + PAGE; a++)
            {
                assertThat(UnsafeApi.getByte(a)).isEqualTo(GUARD);
                assertThat(UnsafeApi.getByte(a + (PAGES + 1L) * PAGE)).isEqualTo(GUARD);
            }
            for (long a = guestAddress; a < guestAddress + (long)PAGES * PAGE; a += 8)
            {
                assertThat(UnsafeApi.getLong(a)).as("guest memory untouched").isZero();
            }
            // Failing builds an exception, a message and a report (tens of KiB, more on first use while classes load);
            // nothing proportional to a claimed length (up to 2 GiB here) may be allocated.
            assertThat(allocated).as("bytes allocated handling one bad frame").isLessThan(1 << 20);
            agent.onClose();
        }
        finally
        {
            UnsafeApi.freeMemory(raw);
        }
    }

    private static Set<ErrorCode> expected(final int type, final Mutation mutation)
    {
        if (type == FrameType.STATUS && (mutation == Mutation.HUGE_LENGTH_FIELD ||
            mutation == Mutation.PAGE_BEYOND_GUEST || mutation == Mutation.CORRUPTED_PAYLOAD ||
            mutation == Mutation.UNKNOWN_ENCODING))
        {
            return EnumSet.of(ErrorCode.MALFORMED_FRAME); // see valid(): its frame length lies
        }
        switch (mutation)
        {
            case TRUNCATED:
            case OVERSIZE:
                return EnumSet.of(ErrorCode.MALFORMED_FRAME, ErrorCode.BAD_LENGTH);
            case HUGE_LENGTH_FIELD:
                // Counts that cannot be true are caught by the round and switchover bookkeeping.
                return EnumSet.of(ErrorCode.MALFORMED_FRAME, ErrorCode.BAD_LENGTH, ErrorCode.DEVICE_STATE_FAILED,
                    ErrorCode.PAGE_INDEX_OUT_OF_RANGE, ErrorCode.LAYOUT_MISMATCH, ErrorCode.PROTOCOL_VIOLATION);
            case PAGE_BEYOND_GUEST:
                return EnumSet.of(ErrorCode.PAGE_INDEX_OUT_OF_RANGE, ErrorCode.BAD_LENGTH, ErrorCode.LAYOUT_MISMATCH,
                    ErrorCode.PROTOCOL_VIOLATION);
            case UNKNOWN_TYPE:
                return EnumSet.of(ErrorCode.UNKNOWN_FRAME_TYPE);
            case UNKNOWN_ENCODING:
                return type == FrameType.PAGE ? EnumSet.of(ErrorCode.UNKNOWN_ENCODING) :
                    expected(type, Mutation.CORRUPTED_PAYLOAD); // other types carry no encoding: see valid()
            case WRONG_VERSION:
                return EnumSet.of(ErrorCode.UNSUPPORTED_VERSION);
            case WRONG_SESSION:
                return EnumSet.of(ErrorCode.WRONG_SESSION);
            case CORRUPTED_PAYLOAD:
            default:
                return type == FrameType.PAGE ? EnumSet.of(ErrorCode.CHECKSUM_MISMATCH) :
                    EnumSet.of(ErrorCode.PROTOCOL_VIOLATION, ErrorCode.DEVICE_STATE_FAILED, ErrorCode.BAD_LENGTH,
                    ErrorCode.MALFORMED_FRAME, ErrorCode.LAYOUT_MISMATCH, ErrorCode.PAGE_INDEX_OUT_OF_RANGE);
        }
    }

    /**
     * Write a frame of {@code type} that is valid but for {@code mutation}; frames that would be valid as they are
     * (a STATUS, a ROUND_END) are given inconsistent contents where the mutation alone would not break them.
     */
    private static int malformed(final UnsafeBuffer b, final int type, final Mutation mutation, final long seed)
    {
        int length = valid(b, type, mutation, seed);
        switch (mutation)
        {
            case TRUNCATED:
                return (int)Long.remainderUnsigned(seed, length); // frameLength still claims the whole frame
            case OVERSIZE:
                length += 8 + (int)Long.remainderUnsigned(seed, 4096);
                b.putInt(FrameFlyweight.FRAME_LENGTH_OFFSET, length, ByteOrder.LITTLE_ENDIAN);
                return length;
            case UNKNOWN_TYPE:
                b.putByte(FrameFlyweight.TYPE_OFFSET, (byte)(100 + Long.remainderUnsigned(seed, 100)));
                return length;
            case WRONG_VERSION:
                b.putByte(FrameFlyweight.VERSION_OFFSET, (byte)(2 + Long.remainderUnsigned(seed, 200)));
                return length;
            case WRONG_SESSION:
                b.putLong(FrameFlyweight.SESSION_ID_OFFSET, MIGRATION_ID ^ (seed | 1), ByteOrder.LITTLE_ENDIAN);
                return length;
            default:
                return length;
        }
    }

    private static int valid(final UnsafeBuffer b, final int type, final Mutation mutation, final long seed)
    {
        final boolean beyond = mutation == Mutation.PAGE_BEYOND_GUEST;
        final boolean huge = mutation == Mutation.HUGE_LENGTH_FIELD;
        final boolean corrupt = mutation == Mutation.CORRUPTED_PAYLOAD || mutation == Mutation.UNKNOWN_ENCODING;
        switch (type)
        {
            case FrameType.PAGE:
            {
                final PageFlyweight f = new PageFlyweight();
                final int length = PageFlyweight.PAYLOAD_OFFSET + PAGE;
                f.wrap(b, 0);
                f.writeHeader(FrameType.PAGE, length, MIGRATION_ID);
                for (int i = 0; i < PAGE; i += 8)
                {
                    b.putLong(PageFlyweight.PAYLOAD_OFFSET + i, seed * 31 + i);
                }
                f.pageIndex(beyond ? PAGES + Long.remainderUnsigned(seed, 1L << 40) : Long.remainderUnsigned(seed, PAGES))
                    .round(0).encoding(mutation == Mutation.UNKNOWN_ENCODING ? 4 + (int)Long.remainderUnsigned(seed, 250) : 1)
                    .chunkOffset(0).decodedLength(PAGE)
                    .checksum(Checksums.crc32c(b, PageFlyweight.PAYLOAD_OFFSET, PAGE) ^ (corrupt ? 1 : 0))
                    .payloadLength(huge ? Integer.MAX_VALUE - (int)Long.remainderUnsigned(seed, 1000) : PAGE);
                return length;
            }
            case FrameType.ZERO_RUN:
            {
                final ZeroRunFlyweight f = new ZeroRunFlyweight();
                f.wrap(b, 0);
                f.writeHeader(FrameType.ZERO_RUN, ZeroRunFlyweight.LENGTH, MIGRATION_ID);
                f.firstPageIndex(beyond ? PAGES + Long.remainderUnsigned(seed, 1000) : 1)
                    .pageCount(huge ? Long.MAX_VALUE - Long.remainderUnsigned(seed, 1000) : corrupt ? 0 : 2)
                    .round(0);
                return ZeroRunFlyweight.LENGTH;
            }
            case FrameType.ROUND_END:
            {
                final RoundEndFlyweight f = new RoundEndFlyweight();
                f.wrap(b, 0);
                f.writeHeader(FrameType.ROUND_END, RoundEndFlyweight.LENGTH, MIGRATION_ID);
                // No page has arrived, so any non-zero count is a lie the target must catch.
                f.round(beyond ? 1 + (int)Long.remainderUnsigned(seed, 100) : 0)
                    .pageFrames(huge ? Long.MAX_VALUE : 1 + Long.remainderUnsigned(seed, 100)).pages(3);
                return RoundEndFlyweight.LENGTH;
            }
            case FrameType.DEVICE_STATE:
            {
                final DeviceStateFlyweight f = new DeviceStateFlyweight();
                final int chunk = 256;
                final int length = DeviceStateFlyweight.DATA_OFFSET + chunk;
                f.wrap(b, 0);
                f.writeHeader(FrameType.DEVICE_STATE, length, MIGRATION_ID);
                f.totalLength(huge ? Integer.MAX_VALUE : corrupt ? 100 : 1024)
                    .chunkOffset(beyond ? 4096 + (int)Long.remainderUnsigned(seed, 100) : 0)
                    .chunkLength(chunk);
                if (!huge && !corrupt && !beyond)
                {
                    // Valid as a first chunk: break it by claiming more than the frame carries.
                    f.chunkLength(chunk + 1 + (int)Long.remainderUnsigned(seed, 100));
                }
                return length;
            }
            case FrameType.SWITCHOVER:
            {
                final SwitchoverFlyweight f = new SwitchoverFlyweight();
                f.wrap(b, 0);
                f.writeHeader(FrameType.SWITCHOVER, SwitchoverFlyweight.LENGTH, MIGRATION_ID);
                // Before any round ended, a switchover is out of place whatever it says.
                f.finalRound((int)Long.remainderUnsigned(seed, 10)).deviceStateLength(huge ? Integer.MAX_VALUE : 0)
                    .deviceStateChecksum(corrupt ? 1 : 0).mode(beyond ? 7 : 0).totalPageFrames(0).pendingPages(0);
                return SwitchoverFlyweight.LENGTH;
            }
            case FrameType.PENDING_MAP:
            {
                final PageMapFlyweight f = new PageMapFlyweight();
                final int words = 1;
                final int length = PageMapFlyweight.frameLength(words);
                f.wrap(b, 0);
                f.writeHeader(FrameType.PENDING_MAP, length, MIGRATION_ID);
                f.chunk(0, huge ? Integer.MAX_VALUE : words, huge ? Integer.MAX_VALUE : 1, true)
                    .word(0, beyond || !corrupt ? -1L : 1L << PAGES);
                if (corrupt)
                {
                    f.chunk(0, words, 2, true); // a map for another guest size
                }
                return length;
            }
            case FrameType.STATUS:
            default:
            {
                final StatusFlyweight f = new StatusFlyweight();
                f.wrap(b, 0);
                f.writeHeader(FrameType.STATUS, StatusFlyweight.LENGTH, MIGRATION_ID);
                f.pagesApplied(seed).timestampNs(seed);
                if (mutation == Mutation.HUGE_LENGTH_FIELD || mutation == Mutation.PAGE_BEYOND_GUEST ||
                    mutation == Mutation.CORRUPTED_PAYLOAD || mutation == Mutation.UNKNOWN_ENCODING)
                {
                    // A STATUS has no such field: claim a frame length the bytes do not back.
                    b.putInt(FrameFlyweight.FRAME_LENGTH_OFFSET, Integer.MAX_VALUE, ByteOrder.LITTLE_ENDIAN);
                }
                return StatusFlyweight.LENGTH;
            }
        }
    }

    private static void handshake(final TargetConductor agent) throws Exception
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(1024));
        final HelloFlyweight hello = new HelloFlyweight();
        final int length = HelloFlyweight.frameLength(1, controlEndpoint.length());
        hello.wrap(buffer, 0);
        hello.writeHeader(FrameType.HELLO, length, MIGRATION_ID);
        hello.pageSize(PAGE).regionCount(1).pageCount(PAGES).capabilities(0).timestampNs(System.nanoTime())
            .controlStreamId(CONTROL_STREAM);
        hello.regionLength(0, (long)PAGES * PAGE);
        hello.controlEndpoint(controlEndpoint);
        agent.lane(0).onFragment(buffer, 0, length, header(AERON_SESSION));
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (agent.progress().phase() != MigrationPhase.BULK && System.nanoTime() < deadline)
        {
            agent.doWork();
            Thread.sleep(1);
        }
        assertThat(agent.progress().phase()).as("handshake done").isEqualTo(MigrationPhase.BULK);
    }

    private static Header header(final int sessionId)
    {
        final UnsafeBuffer bytes = new UnsafeBuffer(new byte[DataHeaderFlyweight.HEADER_LENGTH]);
        bytes.putByte(DataHeaderFlyweight.FLAGS_FIELD_OFFSET, (byte)FrameDescriptor.UNFRAGMENTED);
        bytes.putInt(DataHeaderFlyweight.SESSION_ID_FIELD_OFFSET, sessionId, ByteOrder.LITTLE_ENDIAN);
        final Header header = new Header(0, 16);
        header.buffer(bytes);
        header.offset(0);
        return header;
    }
}
