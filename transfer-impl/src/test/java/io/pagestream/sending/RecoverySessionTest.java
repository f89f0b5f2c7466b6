package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.protocol.PageMapWriter;
import io.pagestream.status.LocalFailure;
import io.pagestream.transport.RecordingSink;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Post-copy recovery on the source: new sessions opened without blocking, a resume hello proven again, the target's
 * missing map as the pages to push, and the recovery deadline that never resets.
 */
class RecoverySessionTest
{
    private static final int PAGES = 1024;

    private static RecoverySession session(final SourceFixture f, final long timeoutMs)
    {
        return new RecoverySession(f.lanes, f.urgent, f.proxy, f.guard,
            new HandshakeSession(f.ctx, f.proxy, f.lanes, f.urgent, f.guard), timeoutMs, false);
    }

    private static void sendMissingMap(final RecoverySession session, final PageBitmap missing)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(8192));
        final PageMapWriter writer = new PageMapWriter();
        writer.start(missing.words());
        boolean last = false;
        while (!last)
        {
            final int length = writer.prepare(buffer, FrameType.MISSING_MAP, 0x5eedL, 2048);
            session.onMissingMapChunk(buffer, 0, length);
            last = writer.onSent();
        }
    }

    @Test
    void shouldReopenTheLanesResumeAndTakeTheMissingMapAsThePagesToPush()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        f.links.pollsBeforeReady(2);
        final RecoverySession session = session(f, 10_000);
        final PageBitmap pending = new PageBitmap(PAGES);
        pending.setAll();
        session.start("link lost", pending, f.clock.nanoTime());
        assertThat(f.sinks[0].isClosed()).isTrue();
        assertThat(session.state()).isEqualTo(RecoverySession.State.REOPEN);

        session.doWork(f.clock.nanoTime());
        session.doWork(f.clock.nanoTime());
        assertThat(session.state()).as("waiting for the driver, not blocking").isEqualTo(RecoverySession.State.REOPEN);
        session.doWork(f.clock.nanoTime());
        assertThat(session.state()).isEqualTo(RecoverySession.State.HANDSHAKE);
        session.doWork(f.clock.nanoTime());
        final RecordingSink lane0 = f.lanes.controlSink() instanceof RecordingSink ?
            (RecordingSink)f.lanes.controlSink() : null;
        assertThat(lane0).isNotNull().isNotSameAs(f.sinks[0]);
        final HelloFlyweight hello = new HelloFlyweight();
        hello.wrapForRead(lane0.buffer(), lane0.offset(lane0.last(FrameType.HELLO)));
        assertThat(hello.capabilities() & Capabilities.RESUME).isNotZero();

        assertThatThrownBy(() -> sendMissingMap(session, new PageBitmap(PAGES)))
            .as("no map before the resume is answered")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.PROTOCOL_VIOLATION);

        session.onHelloAck(f.ackFlyweight(f.helloAck(lane0, SourceFixture.KEY, SourceFixture.authenticated(), 0)),
            f.clock.nanoTime());
        final PageBitmap missing = new PageBitmap(PAGES);
        missing.set(2);
        missing.set(700);
        sendMissingMap(session, missing);
        for (int i = 0; i < 3 && !session.isDone(); i++)
        {
            session.doWork(f.clock.nanoTime());
        }
        assertThat(session.isDone()).isTrue();
        assertThat(session.recoveries()).isEqualTo(1);
        assertThat(pending.words()).isEqualTo(missing.words());
        assertThat(f.lanes.lane(0).sender().cache()).as("no deltas after frames may have been lost").isNull();
    }

    @Test
    void shouldDeclareTheGuestLostWhenTheTargetDoesNotComeBackInTime()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        final RecoverySession session = session(f, 2_000);
        session.start("link lost", new PageBitmap(PAGES), f.clock.nanoTime());
        f.advanceMs(1_500);
        session.doWork(f.clock.nanoTime());
        session.start("stalled again", new PageBitmap(PAGES), f.clock.nanoTime()); // the clock does not reset
        f.advanceMs(501);
        assertThatThrownBy(() -> session.doWork(f.clock.nanoTime()))
            .isInstanceOf(LocalFailure.class)
            .hasMessageContaining("recoveryTimeoutMs=2000")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.GUEST_LOST);
    }

    @Test
    void shouldDeclareTheGuestLostAtOnceWithoutRecoveryTime()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        final RecoverySession session = session(f, 0);
        assertThatThrownBy(() -> session.start("link lost", new PageBitmap(PAGES), f.clock.nanoTime()))
            .isInstanceOf(LocalFailure.class)
            .hasMessageContaining("recoveryTimeoutMs=0")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.GUEST_LOST);
    }
}
