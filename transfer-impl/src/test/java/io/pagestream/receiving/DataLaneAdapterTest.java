package io.pagestream.receiving;

import io.aeron.logbuffer.ControlledFragmentHandler.Action;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.Header;
import io.aeron.protocol.DataHeaderFlyweight;
import io.pagestream.api.MigrationReport;
import io.pagestream.protocol.Capabilities;
import io.pagestream.status.CounterType;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A data lane's adapter as Aeron drives it: it stops reading after its ROUND_END, so no frame of the next round is
 * applied in the same batch, leaves frames in the term buffer while the round barrier holds the lane, and drops
 * frames of other sessions once pinned.
 */
class DataLaneAdapterTest
{
    private static final int PAGES = 2048;

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

    @Test
    void shouldBreakAfterItsRoundEndAndAbortWhileTheBarrierHoldsIt()
    {
        final TargetFixture f = new TargetFixture(PAGES, c -> c.secretKey(null).allowUnauthenticated(true));
        final TargetConductor conductor = new TargetConductor(f.ctx, f.links, null, null, f.counters,
            new CompletableFuture<MigrationReport>());
        conductor.doWork();
        conductor.lane(0).accept(f.frame, 0, f.hello(Capabilities.POSTCOPY, 2), 7);
        for (int i = 0; i < 3; i++)
        {
            conductor.doWork();
        }
        final DataLaneAdapter lane1 = conductor.lane(1);
        final Header fromLane1 = header(501);

        assertThat(lane1.onFragment(f.frame, 0, f.page(512, 0, 3), fromLane1)).isEqualTo(Action.CONTINUE);
        assertThat(lane1.onFragment(f.frame, 0, f.roundEnd(0, 1, 1), fromLane1))
            .as("stop after the lane's round end").isEqualTo(Action.BREAK);
        assertThat(lane1.onFragment(f.frame, 0, f.page(513, 1, 3), fromLane1))
            .as("round 1 stays unread while lane 0 has not ended round 0").isEqualTo(Action.ABORT);
        assertThat(f.firstWord(513)).isZero();

        assertThat(lane1.onFragment(f.frame, 0, f.page(514, 1, 3), header(999)))
            .as("another session's frame is dropped, not left").isEqualTo(Action.CONTINUE);
        assertThat(f.counters.value(CounterType.FOREIGN_FRAMES_DROPPED)).isEqualTo(1);
    }
}
