package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.protocol.AuthFlyweight;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.security.HandshakeAuthenticator;
import io.pagestream.status.LocalFailure;
import io.pagestream.transport.FrameSink;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The source's handshake, every transition and deadline, against recording lanes and a clock moved by hand.
 */
class HandshakeSessionTest
{
    private HandshakeSession handshake(final SourceFixture f)
    {
        final HandshakeSession session = new HandshakeSession(f.ctx, f.proxy, f.lanes, f.urgent, f.guard);
        session.start(false, f.clock.nanoTime());
        return session;
    }

    @Test
    void shouldSayHelloOnceLaneZeroConnectsAndRepeatItEvery250MsUntilAnswered()
    {
        final SourceFixture f = new SourceFixture(64, 1);
        f.sinks[0].connected(false);
        final HandshakeSession session = handshake(f);

        assertThat(session.doWork(f.clock.nanoTime())).isZero();
        assertThat(f.sinks[0].count()).isZero();

        f.sinks[0].connected(true);
        session.doWork(f.clock.nanoTime());
        assertThat(session.state()).isEqualTo(HandshakeSession.State.AWAIT_HELLO_ACK);
        assertThat(f.sinks[0].types()).containsExactly(FrameType.HELLO);

        f.advanceMs(100);
        session.doWork(f.clock.nanoTime());
        assertThat(f.sinks[0].count(FrameType.HELLO)).isEqualTo(1);
        f.advanceMs(200);
        session.doWork(f.clock.nanoTime());
        assertThat(f.sinks[0].count(FrameType.HELLO)).isEqualTo(2);
    }

    @Test
    void shouldNameEveryLaneSessionInTheHello()
    {
        final SourceFixture f = new SourceFixture(2048, 3);
        final HandshakeSession session = handshake(f);
        session.doWork(f.clock.nanoTime());

        final HelloFlyweight hello = new HelloFlyweight();
        hello.wrapForRead(f.sinks[0].buffer(), f.sinks[0].offset(0));
        final int length = f.sinks[0].length(0);
        hello.validate(length);
        assertThat(hello.laneCount(length)).isEqualTo(3);
        assertThat(hello.laneSessionId(1)).isEqualTo(f.sinks[1].sessionId());
        assertThat(hello.laneSessionId(2)).isEqualTo(f.sinks[2].sessionId());
        assertThat(hello.capabilities() & Capabilities.AUTHENTICATED).isNotZero();
    }

    @Test
    void shouldGiveUpWhenNoTargetConnectsWithinConnectTimeout()
    {
        final SourceFixture f = new SourceFixture(64, 1, c -> c.connectTimeoutMs(1000));
        f.sinks[0].connected(false);
        final HandshakeSession session = handshake(f);
        f.advanceMs(999);
        session.doWork(f.clock.nanoTime());
        f.advanceMs(2);
        assertThatThrownBy(() -> session.doWork(f.clock.nanoTime()))
            .isInstanceOf(LocalFailure.class)
            .hasMessageContaining("no target connected")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.TARGET_UNREACHABLE);
    }

    @Test
    void shouldGiveUpWhenTheHelloIsNeverAnswered()
    {
        final SourceFixture f = new SourceFixture(64, 1, c -> c.connectTimeoutMs(1000));
        final HandshakeSession session = handshake(f);
        session.doWork(f.clock.nanoTime());
        f.advanceMs(1001);
        assertThatThrownBy(() -> session.doWork(f.clock.nanoTime()))
            .isInstanceOf(LocalFailure.class)
            .hasMessageContaining("did not answer the hello");
    }

    @Test
    void shouldFailWithTheTargetsCodeWhenItRefusesTheHello()
    {
        final SourceFixture f = new SourceFixture(64, 1);
        final HandshakeSession session = handshake(f);
        session.doWork(f.clock.nanoTime());
        final UnsafeBuffer ack = f.helloAck(f.sinks[0], SourceFixture.KEY, SourceFixture.authenticated(),
            ErrorCode.LAYOUT_MISMATCH.value());
        assertThatThrownBy(() -> session.onHelloAck(f.ackFlyweight(ack), f.clock.nanoTime()))
            .isInstanceOf(LocalFailure.class)
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.LAYOUT_MISMATCH);
    }

    @Test
    void shouldCheckTheTargetsProofThenAnswerWithAuthAndFinishOnceEveryLaneConnects()
    {
        final SourceFixture f = new SourceFixture(2048, 3);
        f.sinks[2].connected(false);
        final HandshakeSession session = handshake(f);
        session.doWork(f.clock.nanoTime());
        session.onHelloAck(f.ackFlyweight(f.helloAck(f.sinks[0], SourceFixture.KEY, SourceFixture.authenticated(),
            0)), f.clock.nanoTime());

        assertThat(session.peerKnown()).isTrue();
        assertThat(session.state()).isEqualTo(HandshakeSession.State.AWAIT_LANES);
        final int auth = f.sinks[0].last(FrameType.AUTH);
        assertThat(auth).isPositive();
        final AuthFlyweight authFrame = new AuthFlyweight();
        authFrame.wrapForRead(f.sinks[0].buffer(), f.sinks[0].offset(auth));
        authFrame.validate(f.sinks[0].length(auth));

        session.doWork(f.clock.nanoTime());
        assertThat(session.isDone()).isFalse();
        f.sinks[2].connected(true);
        session.doWork(f.clock.nanoTime());
        assertThat(session.isDone()).isTrue();
        assertThat(session.postcopyAvailable()).isTrue();
        assertThat(f.links.channels()).anyMatch(c -> c.contains("127.0.0.1:40402")); // the urgent lane opens
    }

    @Test
    void shouldRefuseATargetThatCannotProveTheKeyAndTellIt()
    {
        final SourceFixture f = new SourceFixture(64, 1);
        final HandshakeSession session = handshake(f);
        session.doWork(f.clock.nanoTime());
        final UnsafeBuffer ack = f.helloAck(f.sinks[0], "another-key-of-16-bytes".getBytes(),
            SourceFixture.authenticated(), 0);
        assertThatThrownBy(() -> session.onHelloAck(f.ackFlyweight(ack), f.clock.nanoTime()))
            .isNotInstanceOf(LocalFailure.class)
            .hasMessageContaining("failed authentication")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
        assertThat(f.sinks[0].count(FrameType.AUTH)).isZero();
    }

    @Test
    void shouldRefuseATargetWithoutAKey()
    {
        final SourceFixture f = new SourceFixture(64, 1);
        final HandshakeSession session = handshake(f);
        session.doWork(f.clock.nanoTime());
        final UnsafeBuffer ack = f.helloAck(f.sinks[0], SourceFixture.KEY, Capabilities.POSTCOPY, 0);
        assertThatThrownBy(() -> session.onHelloAck(f.ackFlyweight(ack), f.clock.nanoTime()))
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.MISSING_CAPABILITY);
    }

    @Test
    void shouldRefuseATargetWithoutPostcopyWhenTheStrategyNeedsIt()
    {
        final SourceFixture f = new SourceFixture(64, 1, c -> c.strategy(MigrationStrategy.POSTCOPY));
        final HandshakeSession session = handshake(f);
        session.doWork(f.clock.nanoTime());
        session.onHelloAck(f.ackFlyweight(f.helloAck(f.sinks[0], SourceFixture.KEY, Capabilities.AUTHENTICATED,
            0)), f.clock.nanoTime());
        assertThatThrownBy(() -> session.doWork(f.clock.nanoTime()))
            .hasMessageContaining("did not enable post-copy")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.MISSING_CAPABILITY);
    }

    @Test
    void shouldRetryAuthAcrossDutyCyclesAndGiveUpAfterASecond()
    {
        final SourceFixture f = new SourceFixture(64, 1);
        final HandshakeSession session = handshake(f);
        session.doWork(f.clock.nanoTime());
        f.sinks[0].defaultOutcome(FrameSink.RETRY);
        session.onHelloAck(f.ackFlyweight(f.helloAck(f.sinks[0], SourceFixture.KEY, SourceFixture.authenticated(),
            0)), f.clock.nanoTime());
        assertThat(session.state()).isEqualTo(HandshakeSession.State.SEND_AUTH);

        f.advanceMs(500);
        assertThat(session.doWork(f.clock.nanoTime())).isZero(); // back-pressured: try again next cycle, no spin
        f.advanceMs(501);
        assertThatThrownBy(() -> session.doWork(f.clock.nanoTime()))
            .isInstanceOf(LocalFailure.class)
            .hasMessageContaining("could not send AUTH");
    }

    @Test
    void shouldSendAuthOnALaterCycleOnceThereIsRoom()
    {
        final SourceFixture f = new SourceFixture(64, 1);
        final HandshakeSession session = handshake(f);
        session.doWork(f.clock.nanoTime());
        f.sinks[0].script(FrameSink.RETRY, FrameSink.RETRY);
        session.onHelloAck(f.ackFlyweight(f.helloAck(f.sinks[0], SourceFixture.KEY, SourceFixture.authenticated(),
            0)), f.clock.nanoTime());
        session.doWork(f.clock.nanoTime());
        assertThat(f.sinks[0].count(FrameType.AUTH)).isZero();
        session.doWork(f.clock.nanoTime());
        assertThat(f.sinks[0].count(FrameType.AUTH)).isEqualTo(1);
        session.doWork(f.clock.nanoTime());
        assertThat(session.isDone()).isTrue();
    }

    @Test
    void shouldGiveUpWhenADataLaneNeverConnects()
    {
        final SourceFixture f = new SourceFixture(2048, 2, c -> c.connectTimeoutMs(1000));
        f.sinks[1].connected(false);
        final HandshakeSession session = handshake(f);
        session.doWork(f.clock.nanoTime());
        session.onHelloAck(f.ackFlyweight(f.helloAck(f.sinks[0], SourceFixture.KEY, SourceFixture.authenticated(),
            0)), f.clock.nanoTime());
        f.advanceMs(1001);
        assertThatThrownBy(() -> session.doWork(f.clock.nanoTime()))
            .isInstanceOf(LocalFailure.class)
            .hasMessageContaining("data lane 1");
    }

    @Test
    void shouldSignEveryLaneAndVerifyTheControlStreamOnceAuthIsSent()
    {
        final SourceFixture f = new SourceFixture(2048, 2, c -> c.frameAuthentication(true));
        final HandshakeSession session = handshake(f);
        session.doWork(f.clock.nanoTime());
        session.onHelloAck(f.ackFlyweight(f.helloAck(f.sinks[0], SourceFixture.KEY,
            SourceFixture.authenticated() | Capabilities.FRAME_MAC, 0)), f.clock.nanoTime());
        assertThat(f.sinks[0].signer()).isNotNull();
        assertThat(f.sinks[1].signer()).isNotNull();
        assertThat(f.guard.isVerifying()).isTrue();
    }

    @Test
    void shouldIgnoreAResumeAnswerThatDoesNotProveTheKeyAndKeepSayingHello()
    {
        final SourceFixture f = new SourceFixture(64, 1);
        final HandshakeSession session = new HandshakeSession(f.ctx, f.proxy, f.lanes, f.urgent, f.guard);
        session.start(true, f.clock.nanoTime());
        session.doWork(f.clock.nanoTime());
        final HelloFlyweight hello = new HelloFlyweight();
        hello.wrapForRead(f.sinks[0].buffer(), f.sinks[0].offset(0));
        assertThat(hello.capabilities() & Capabilities.RESUME).isNotZero();

        session.onHelloAck(f.ackFlyweight(f.helloAck(f.sinks[0], "an-impostor-key-16b".getBytes(),
            SourceFixture.authenticated(), 0)), f.clock.nanoTime());
        assertThat(session.state()).isEqualTo(HandshakeSession.State.AWAIT_HELLO_ACK);
        f.advanceMs(10_000);
        session.doWork(f.clock.nanoTime()); // a resume has no deadline of its own
        assertThat(f.sinks[0].count(FrameType.HELLO)).isEqualTo(2);

        session.onHelloAck(f.ackFlyweight(f.helloAck(f.sinks[0], SourceFixture.KEY, SourceFixture.authenticated(),
            0)), f.clock.nanoTime());
        session.doWork(f.clock.nanoTime());
        assertThat(session.isDone()).isTrue();
    }

    @Test
    void shouldTakeAFreshNonceForEveryResume()
    {
        final SourceFixture f = new SourceFixture(64, 1);
        final HandshakeSession session = new HandshakeSession(f.ctx, f.proxy, f.lanes, f.urgent, f.guard);
        final byte[] first = new byte[HelloFlyweight.NONCE_LENGTH];
        final byte[] second = new byte[HelloFlyweight.NONCE_LENGTH];
        final HelloFlyweight hello = new HelloFlyweight();
        session.start(true, f.clock.nanoTime());
        session.doWork(f.clock.nanoTime());
        hello.wrapForRead(f.sinks[0].buffer(), f.sinks[0].offset(0));
        hello.getNonce(first);
        session.start(true, f.clock.nanoTime());
        session.doWork(f.clock.nanoTime());
        hello.wrapForRead(f.sinks[0].buffer(), f.sinks[0].offset(1));
        hello.getNonce(second);
        assertThat(HandshakeAuthenticator.matches(first, second)).isFalse();
    }
}
