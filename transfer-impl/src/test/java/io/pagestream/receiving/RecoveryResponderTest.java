package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.pages.PageBitmap;
import io.pagestream.pages.PageMapAssembler;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.FrameType;
import io.pagestream.status.CounterType;
import io.pagestream.status.LocalFailure;
import io.pagestream.transport.RecordingSink;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The target's side of a post-copy recovery: the session dropped, a resume hello accepted, the missing map sent,
 * page requests flowing again; the deadline, and a resume that stalls before its control stream connects.
 */
class RecoveryResponderTest
{
    private static final int PAGES = 256;

    private final HelloAcceptor.Keys noKeys = new HelloAcceptor.Keys()
    {
        public void onControlKey(final byte[] frameKey)
        {
        }

        public void onDataKey(final byte[] frameKey)
        {
        }
    };

    private TargetFixture f;
    private SourceProxy proxy;
    private HelloAcceptor acceptor;
    private GuestImage image;
    private FaultService faults;

    private RecoveryResponder responder(final long timeoutMs)
    {
        f = new TargetFixture(PAGES, c -> c.secretKey(null).allowUnauthenticated(true));
        proxy = new SourceProxy(f.links);
        acceptor = new HelloAcceptor(f.ctx, proxy, noKeys);
        image = new GuestImage(f.memory, true, f.counters.get(CounterType.PAGE_FRAMES_RECEIVED),
            f.counters.get(CounterType.ZERO_PAGES_RECEIVED), f.counters.get(CounterType.DUPLICATE_PAGES_SKIPPED));
        faults = new FaultService(image.present(), f.counters.get(CounterType.FAULTS),
            f.counters.get(CounterType.PAGE_REQUESTS_SENT), f.clock, 0);
        acceptor.onHello(f.frame, 0, f.hello(Capabilities.POSTCOPY, 1), 7, f.clock.nanoTime());
        acceptor.doWork(f.clock.nanoTime());
        assertThat(acceptor.isDone()).isTrue();
        // post-copy with pages 10 and 200 still to come
        image.onZeroRun(0, f.frame, 0, f.zeroRun(0, PAGES, 0));
        image.onRoundEnd(0, f.frame, 0, f.roundEnd(0, 0, PAGES));
        final PageBitmap pending = new PageBitmap(PAGES);
        pending.set(10);
        pending.set(200);
        image.startPostcopy(pending);
        faults.requestChannel(proxy.requests(), TargetFixture.MIGRATION_ID);
        return new RecoveryResponder(acceptor, proxy, faults, image, timeoutMs, PAGES);
    }

    @Test
    void shouldDropTheSessionAcceptTheResumeSendTheMissingMapAndLetRequestsFlowAgain()
    {
        final RecoveryResponder responder = responder(60_000);
        final RecordingSink oldControl = f.links.sinks().get(0);
        responder.enter("link lost", f.clock.nanoTime());
        assertThat(oldControl.isClosed()).isTrue();
        assertThat(proxy.requests()).isNull();
        assertThat(responder.state()).isEqualTo(RecoveryResponder.State.AWAIT_HELLO);
        faults.requestPage(10);
        assertThat(f.links.requestOffers()).as("no request while the link is down").isEmpty();

        assertThat(acceptor.onResumeHello(f.frame, 0, f.hello(Capabilities.POSTCOPY | Capabilities.RESUME, 1), 9,
            f.clock.nanoTime())).isTrue();
        responder.onResumeAccepted();
        responder.doWork(f.clock.nanoTime());
        assertThat(responder.isDone()).isTrue();
        assertThat(responder.recoveries()).isEqualTo(1);

        final RecordingSink control = f.links.sinks().get(1);
        assertThat(control.types()).startsWith(FrameType.HELLO_ACK).contains(FrameType.MISSING_MAP);
        final PageBitmap missing = new PageBitmap(PAGES);
        final PageMapAssembler assembler = new PageMapAssembler();
        assembler.start(missing);
        for (int i = 0; i < control.count(); i++)
        {
            if (control.type(i) == FrameType.MISSING_MAP)
            {
                assembler.onChunk(control.buffer(), control.offset(i), control.length(i));
            }
        }
        assertThat(assembler.isComplete()).isTrue();
        assertThat(missing.cardinality()).isEqualTo(2);
        assertThat(missing.get(10) && missing.get(200)).isTrue();

        faults.requestPage(200);
        assertThat(f.links.requestOffers()).hasSize(1);
    }

    @Test
    void shouldDeclareTheGuestLostWhenTheSourceDoesNotComeBackInTime()
    {
        final RecoveryResponder responder = responder(2_000);
        responder.enter("link lost", f.clock.nanoTime());
        f.advanceMs(2_001);
        assertThatThrownBy(() -> responder.doWork(f.clock.nanoTime()))
            .isInstanceOf(LocalFailure.class)
            .hasMessageContaining("2 pages never arrived")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.GUEST_LOST);
    }

    @Test
    void shouldDeclareTheGuestLostAtOnceWithoutRecoveryTime()
    {
        final RecoveryResponder responder = responder(0);
        assertThatThrownBy(() -> responder.enter("link lost", f.clock.nanoTime()))
            .isInstanceOf(LocalFailure.class)
            .hasMessageContaining("recoveryTimeoutMs=0");
    }

    @Test
    void shouldStartOverWhenAResumedControlStreamNeverConnectsKeepingTheDeadline()
    {
        final RecoveryResponder responder = responder(10_000);
        responder.enter("link lost", f.clock.nanoTime());
        f.links.pollsBeforeReady(1_000_000);
        acceptor.onResumeHello(f.frame, 0, f.hello(Capabilities.POSTCOPY | Capabilities.RESUME, 1), 9,
            f.clock.nanoTime());
        responder.onResumeAccepted();
        f.advanceMs(5_001);
        responder.doWork(f.clock.nanoTime());
        assertThat(responder.state()).as("waiting for another resume").isEqualTo(RecoveryResponder.State.AWAIT_HELLO);
        f.advanceMs(5_000);
        assertThatThrownBy(() -> responder.doWork(f.clock.nanoTime()))
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.GUEST_LOST);
    }
}
