package io.pagestream.protocol;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every frame written by its flyweight, compared byte for byte with the layout in its diagram built independently
 * with a little-endian {@link ByteBuffer}, and read back.
 */
class FlyweightLayoutTest
{
    private static final long SESSION = 0x1122334455667788L;

    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[512]);

    private static ByteBuffer expected(final int type, final int length)
    {
        final ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte)1).put((byte)type).putShort((short)0).putInt(length).putLong(SESSION);
        return b;
    }

    private byte[] written(final int length)
    {
        final byte[] bytes = new byte[length];
        buffer.getBytes(0, bytes);
        return bytes;
    }

    @Test
    void shouldLayOutHello()
    {
        final HelloFlyweight f = new HelloFlyweight();
        f.wrap(buffer, 0);
        final int length = HelloFlyweight.frameLength(2, 14);
        f.writeHeader(FrameType.HELLO, length, SESSION);
        f.pageSize(4096).regionCount(2).pageCount(3000L).capabilities(5L).timestampNs(77L).controlStreamId(1002);
        final byte[] nonce = new byte[16];
        for (int i = 0; i < 16; i++)
        {
            nonce[i] = (byte)(0xA0 + i);
        }
        f.nonce(nonce);
        f.vmId(new java.util.UUID(0x1122334455667788L, 0x99AABBCCDDEEFF00L));
        f.regionLength(0, 4096L * 1000).regionLength(1, 4096L * 2000).controlEndpoint("127.0.0.1:4040");

        final ByteBuffer e = expected(FrameType.HELLO, length);
        e.putInt(4096).putInt(2).putLong(3000).putLong(5).putLong(77).putInt(1002).putInt(14).put(nonce)
            .putLong(0x1122334455667788L).putLong(0x99AABBCCDDEEFF00L).putLong(4096L * 1000).putLong(4096L * 2000).put("127.0.0.1:4040".getBytes());
        assertArrayEquals(e.array(), written(length));

        f.validate(length);
        assertEquals("127.0.0.1:4040", f.controlEndpoint());
        assertEquals(new java.util.UUID(0x1122334455667788L, 0x99AABBCCDDEEFF00L), f.vmId());
        assertEquals(3000L, f.pageCount());
        assertEquals(4096L * 2000, f.regionLength(1));
    }

    @Test
    void shouldLayOutHelloEndingWithTheDataBytesAfterTheLaneBlock()
    {
        for (final int lanes : new int[]{1, 3})
        {
            final HelloFlyweight f = new HelloFlyweight();
            f.wrap(buffer, 0);
            final int length = HelloFlyweight.frameLength(1, 14, lanes, true);
            f.writeHeader(FrameType.HELLO, length, SESSION);
            f.pageSize(4096).regionCount(1).pageCount(1000L).capabilities(Capabilities.DATA_BYTES).timestampNs(77L)
                .controlStreamId(1002);
            f.nonce(new byte[16]);
            f.vmId(null);
            f.regionLength(0, 4096L * 1000).controlEndpoint("127.0.0.1:4040");
            if (lanes > 1)
            {
                f.lanes(lanes, new int[]{0, 21, 22});
            }
            f.dataBytes(lanes, 123_456_789_012L);

            final ByteBuffer e = expected(FrameType.HELLO, length);
            e.putInt(4096).putInt(1).putLong(1000).putLong(Capabilities.DATA_BYTES).putLong(77).putInt(1002).putInt(14)
                .put(new byte[16]).putLong(0).putLong(0).putLong(4096L * 1000).put("127.0.0.1:4040".getBytes());
            if (lanes > 1)
            {
                e.putInt(lanes).putInt(21).putInt(22);
            }
            e.putLong(123_456_789_012L);
            assertArrayEquals(e.array(), written(length), "lanes " + lanes);

            f.validate(length);
            assertEquals(lanes, f.laneCount(length));
            assertEquals(123_456_789_012L, f.dataBytes(length));
            assertThrows(MigrationException.class, () -> f.validate(length - 4), "a cut frame is refused");
            f.capabilities(0);
            assertEquals(-1, f.dataBytes(length), "without the capability there are none");
        }
    }

    @Test
    void shouldLayOutHelloAck()
    {
        final HelloAckFlyweight f = new HelloAckFlyweight();
        f.wrap(buffer, 0);
        f.writeHeader(FrameType.HELLO_ACK, HelloAckFlyweight.LENGTH, SESSION);
        final byte[] nonce = new byte[16];
        final byte[] tag = new byte[32];
        for (int i = 0; i < 32; i++)
        {
            tag[i] = (byte)i;
            nonce[i & 15] = (byte)(0x70 + (i & 15));
        }
        f.status(0).targetVersion(1).capabilities(9).echoTimestampNs(123456789L).urgentPort(40402).proof(nonce, tag);
        final ByteBuffer e = expected(FrameType.HELLO_ACK, HelloAckFlyweight.LENGTH);
        e.putInt(0).putInt(1).putLong(9).putLong(123456789L).putInt(40402).putInt(0).put(nonce).put(tag);
        assertArrayEquals(e.array(), written(HelloAckFlyweight.LENGTH));
        assertEquals(96, HelloAckFlyweight.LENGTH);

        final AuthFlyweight a = new AuthFlyweight();
        a.wrap(buffer, 0);
        a.writeHeader(FrameType.AUTH, AuthFlyweight.LENGTH, SESSION);
        a.tag(tag);
        assertArrayEquals(expected(FrameType.AUTH, AuthFlyweight.LENGTH).put(tag).array(), written(AuthFlyweight.LENGTH));
    }

    @Test
    void shouldLayOutPageHeader()
    {
        final PageFlyweight f = new PageFlyweight();
        f.wrap(buffer, 0);
        final int length = PageFlyweight.PAYLOAD_OFFSET + 8;
        f.writeHeader(FrameType.PAGE, length, SESSION);
        f.pageIndex(0x1_0000_0001L).round(3).encoding(1).chunkOffset(0).decodedLength(8).checksum(0xCAFEBABE)
            .payloadLength(8);
        buffer.putLong(PageFlyweight.PAYLOAD_OFFSET, 0x0807060504030201L);

        final ByteBuffer e = expected(FrameType.PAGE, length);
        e.putLong(0x1_0000_0001L).putInt(3).put((byte)1).put((byte)0).putShort((short)0).putInt(0).putInt(8)
            .putInt(0xCAFEBABE).putInt(8).put(new byte[]{ 1, 2, 3, 4, 5, 6, 7, 8 });
        assertArrayEquals(e.array(), written(length));
        assertEquals(48, PageFlyweight.PAYLOAD_OFFSET);
        assertEquals(0x1_0000_0001L, f.pageIndex());
    }

    @Test
    void shouldLayOutZeroRunRoundEndSwitchoverCompleteStatus()
    {
        final ZeroRunFlyweight z = new ZeroRunFlyweight();
        z.wrap(buffer, 0);
        z.writeHeader(FrameType.ZERO_RUN, ZeroRunFlyweight.LENGTH, SESSION);
        z.firstPageIndex(10).pageCount(20).round(2);
        assertArrayEquals(expected(FrameType.ZERO_RUN, ZeroRunFlyweight.LENGTH)
            .putLong(10).putLong(20).putInt(2).putInt(0).array(), written(ZeroRunFlyweight.LENGTH));

        final RoundEndFlyweight r = new RoundEndFlyweight();
        r.wrap(buffer, 0);
        r.writeHeader(FrameType.ROUND_END, RoundEndFlyweight.LENGTH, SESSION);
        r.round(4).pageFrames(100).pages(130);
        assertArrayEquals(expected(FrameType.ROUND_END, RoundEndFlyweight.LENGTH)
            .putInt(4).putInt(0).putLong(100).putLong(130).array(), written(RoundEndFlyweight.LENGTH));

        final SwitchoverFlyweight s = new SwitchoverFlyweight();
        s.wrap(buffer, 0);
        s.writeHeader(FrameType.SWITCHOVER, SwitchoverFlyweight.LENGTH, SESSION);
        s.finalRound(5).deviceStateLength(1 << 20).deviceStateChecksum(0x01020304).mode(1).totalPageFrames(999)
            .pendingPages(1234);
        assertArrayEquals(expected(FrameType.SWITCHOVER, SwitchoverFlyweight.LENGTH)
            .putInt(5).putInt(1 << 20).putInt(0x01020304).putInt(1).putLong(999).putLong(1234).array(),
            written(SwitchoverFlyweight.LENGTH));

        final CompleteFlyweight c = new CompleteFlyweight();
        c.wrap(buffer, 0);
        c.writeHeader(FrameType.COMPLETE, CompleteFlyweight.LENGTH, SESSION);
        c.pagesReceived(77).pageFramesReceived(88).faults(3, 40, 50, 60);
        assertArrayEquals(expected(FrameType.COMPLETE, CompleteFlyweight.LENGTH).putLong(77).putLong(88)
            .putLong(3).putLong(40).putLong(50).putLong(60).array(), written(CompleteFlyweight.LENGTH));

        final PageRequestFlyweight q = new PageRequestFlyweight();
        q.wrap(buffer, 0);
        q.writeHeader(FrameType.PAGE_REQUEST, PageRequestFlyweight.LENGTH, SESSION);
        q.pageIndex(0x1_0000_0002L).timestampNs(42);
        assertArrayEquals(expected(FrameType.PAGE_REQUEST, PageRequestFlyweight.LENGTH).putLong(0x1_0000_0002L)
            .putLong(42).array(), written(PageRequestFlyweight.LENGTH));

        final PageMapFlyweight m = new PageMapFlyweight();
        m.wrap(buffer, 0);
        final int mapLength = PageMapFlyweight.frameLength(2);
        m.writeHeader(FrameType.MISSING_MAP, mapLength, SESSION);
        m.chunk(3, 2, 9, true).word(0, 0x0102030405060708L).word(1, -1L);
        assertArrayEquals(expected(FrameType.MISSING_MAP, mapLength).putInt(3).putInt(2).putInt(9).putInt(1)
            .putLong(0x0102030405060708L).putLong(-1L).array(), written(mapLength));

        final StatusFlyweight st = new StatusFlyweight();
        st.wrap(buffer, 0);
        st.writeHeader(FrameType.STATUS, StatusFlyweight.LENGTH, SESSION);
        st.pagesApplied(5).timestampNs(6);
        assertArrayEquals(expected(FrameType.STATUS, StatusFlyweight.LENGTH).putLong(5).putLong(6).array(),
            written(StatusFlyweight.LENGTH));
    }

    @Test
    void shouldLayOutDeviceStateAndError()
    {
        final DeviceStateFlyweight d = new DeviceStateFlyweight();
        d.wrap(buffer, 0);
        final int length = DeviceStateFlyweight.DATA_OFFSET + 3;
        d.writeHeader(FrameType.DEVICE_STATE, length, SESSION);
        d.totalLength(100).chunkOffset(97).chunkLength(3);
        buffer.putBytes(DeviceStateFlyweight.DATA_OFFSET, new byte[]{ 9, 8, 7 });
        assertArrayEquals(expected(FrameType.DEVICE_STATE, length).putInt(100).putInt(97).putInt(3).putInt(0)
            .put(new byte[]{ 9, 8, 7 }).array(), written(length));
        d.validate(length, 100, 97);

        final ErrorFlyweight er = new ErrorFlyweight();
        er.wrap(buffer, 0);
        er.errorCode(ErrorCode.CHECKSUM_MISMATCH.value());
        final int errorLength = er.message("bad");
        er.writeHeader(FrameType.ERROR, errorLength, SESSION);
        assertArrayEquals(expected(FrameType.ERROR, errorLength).putInt(8).putInt(3).put("bad".getBytes()).array(),
            written(errorLength));
        er.validate(errorLength);
        assertEquals("bad", er.message());
    }

    @Test
    void shouldRejectHeaderThatDisagreesWithWhatArrived()
    {
        final FrameFlyweight f = new FrameFlyweight();
        f.wrap(buffer, 0);
        f.writeHeader(FrameType.STATUS, StatusFlyweight.LENGTH, SESSION);

        final MigrationException truncated = assertThrows(MigrationException.class, () -> f.validateHeader(20));
        assertEquals(ErrorCode.MALFORMED_FRAME, truncated.errorCode());
        assertTrue(truncated.getMessage().contains("frameLength=32"), truncated.getMessage());

        assertEquals(ErrorCode.MALFORMED_FRAME,
            assertThrows(MigrationException.class, () -> f.validateHeader(8)).errorCode());

        buffer.putByte(0, (byte)2);
        final MigrationException version = assertThrows(MigrationException.class, () -> f.validateHeader(32));
        assertEquals(ErrorCode.UNSUPPORTED_VERSION, version.errorCode());
        assertTrue(version.getMessage().contains("version=2"), version.getMessage());
    }

    @Test
    void shouldRejectPageFieldsOutsideGuestOrPage()
    {
        final PageFlyweight f = new PageFlyweight();
        f.wrap(buffer, 0);
        final int length = PageFlyweight.PAYLOAD_OFFSET + 64;
        f.writeHeader(FrameType.PAGE, length, SESSION);
        f.pageIndex(10).round(0).encoding(1).chunkOffset(0).decodedLength(64).checksum(0).payloadLength(64);
        f.validate(length, 11, 4096);

        assertEquals(ErrorCode.PAGE_INDEX_OUT_OF_RANGE,
            assertThrows(MigrationException.class, () -> f.validate(length, 10, 4096)).errorCode());
        f.pageIndex(-1);
        assertEquals(ErrorCode.PAGE_INDEX_OUT_OF_RANGE,
            assertThrows(MigrationException.class, () -> f.validate(length, 11, 4096)).errorCode());
        f.pageIndex(10).chunkOffset(4090);
        final MigrationException past = assertThrows(MigrationException.class, () -> f.validate(length, 11, 4096));
        assertEquals(ErrorCode.BAD_LENGTH, past.errorCode());
        assertTrue(past.getMessage().contains("decodedLength=64"), past.getMessage());
        f.chunkOffset(0).payloadLength(65);
        assertEquals(ErrorCode.BAD_LENGTH,
            assertThrows(MigrationException.class, () -> f.validate(length, 11, 4096)).errorCode());
    }
}
