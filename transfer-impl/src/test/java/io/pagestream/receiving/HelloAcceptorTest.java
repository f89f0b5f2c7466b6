package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.protocol.AuthFlyweight;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.security.HandshakeAuthenticator;
import io.pagestream.status.LocalFailure;
import io.pagestream.transport.RecordingSink;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The target's handshake: judging a hello, opening the control stream without blocking, answering with a proof of
 * the key, checking AUTH, and the resume hello of a post-copy recovery.
 */
class HelloAcceptorTest
{
    private static final int PAGES = 64;

    private final List<String> keys = new ArrayList<>();
    private final HelloAcceptor.Keys keySink = new HelloAcceptor.Keys()
    {
        public void onControlKey(final byte[] frameKey)
        {
            keys.add("control");
        }

        public void onDataKey(final byte[] frameKey)
        {
            keys.add("data");
        }
    };

    private HelloAcceptor acceptor(final TargetFixture f)
    {
        return new HelloAcceptor(f.ctx, new SourceProxy(f.links), keySink);
    }

    private static RecordingSink control(final TargetFixture f)
    {
        return f.links.sinks().get(0);
    }

    @Test
    void shouldOpenTheControlStreamThenProveTheKeyThenAwaitTheSourcesAuth()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final HelloAcceptor acceptor = acceptor(f);
        acceptor.onHello(f.frame, 0, f.hello(TargetFixture.authenticated(), 1), 7, f.clock.nanoTime());
        assertThat(acceptor.state()).isEqualTo(HelloAcceptor.State.CONNECT_CONTROL);
        assertThat(acceptor.laneSessionId(0)).isEqualTo(7);
        assertThat(f.links.channels()).anyMatch(c -> c.contains("127.0.0.1:40401") && c.endsWith("stream 1002"));

        acceptor.doWork(f.clock.nanoTime());
        assertThat(acceptor.state()).isEqualTo(HelloAcceptor.State.AWAIT_AUTH);
        final HelloAckFlyweight ack = new HelloAckFlyweight();
        ack.wrapForRead(control(f).buffer(), control(f).offset(0));
        ack.validate(control(f).length(0));
        assertThat(ack.urgentPort()).isEqualTo(40402);
        final byte[] targetNonce = new byte[HelloFlyweight.NONCE_LENGTH];
        final byte[] tag = new byte[HelloAckFlyweight.TAG_LENGTH];
        ack.getNonce(targetNonce);
        ack.getTag(tag);
        assertThat(tag).isEqualTo(new HandshakeAuthenticator(TargetFixture.KEY)
            .targetTag(TargetFixture.MIGRATION_ID, f.sourceNonce, targetNonce));

        final AuthFlyweight auth = new AuthFlyweight();
        auth.wrapForRead(f.frame, 0);
        f.auth(control(f), TargetFixture.KEY);
        assertThat(acceptor.onAuth(auth)).isTrue();
        assertThat(acceptor.isDone()).isTrue();
    }

    @Test
    void shouldWaitForTheControlStreamAcrossCyclesAndGiveUpAfterFiveSeconds()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        f.links.pollsBeforeReady(1_000_000);
        final HelloAcceptor acceptor = acceptor(f);
        acceptor.onHello(f.frame, 0, f.hello(TargetFixture.authenticated(), 1), 7, f.clock.nanoTime());
        f.advanceMs(4_999);
        assertThat(acceptor.doWork(f.clock.nanoTime())).isZero();
        f.advanceMs(2);
        assertThatThrownBy(() -> acceptor.doWork(f.clock.nanoTime()))
            .isInstanceOf(LocalFailure.class)
            .hasMessageContaining("never connected");
    }

    @Test
    void shouldTellTheSourceWhyItsHelloIsRefusedOnceItCanHear()
    {
        assertRefused(c -> { }, TargetFixture.authenticated(), PAGES + 1, ErrorCode.LAYOUT_MISMATCH, "pageCount=65");
        assertRefused(c -> c.vmId(UUID.randomUUID()), TargetFixture.authenticated(), PAGES, ErrorCode.WRONG_VM,
            "this target expects");
        assertRefused(c -> { }, Capabilities.POSTCOPY, PAGES, ErrorCode.MISSING_CAPABILITY,
            "offered no authentication");
        assertRefused(c -> c.frameAuthentication(true), TargetFixture.authenticated(), PAGES,
            ErrorCode.MISSING_CAPABILITY, "frame authentication/encryption differ");
        assertRefused(c -> { }, TargetFixture.authenticated() | Capabilities.RESUME, PAGES,
            ErrorCode.PROTOCOL_VIOLATION, "never ran in post-copy");
    }

    private void assertRefused(final Consumer<io.pagestream.api.MigrationTarget.Context> settings,
        final long capabilities, final long pageCount, final ErrorCode code, final String message)
    {
        final TargetFixture f = new TargetFixture(PAGES, settings);
        final HelloAcceptor acceptor = acceptor(f);
        final int length = f.hello(capabilities, 1);
        final HelloFlyweight hello = new HelloFlyweight();
        hello.wrap(f.frame, 0);
        hello.pageCount(pageCount);
        acceptor.onHello(f.frame, 0, length, 7, f.clock.nanoTime());
        assertThatThrownBy(() -> acceptor.doWork(f.clock.nanoTime()))
            .isNotInstanceOf(LocalFailure.class)
            .hasMessageContaining(message)
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(code);
        assertThat(control(f).count(FrameType.HELLO_ACK)).isZero();
    }

    @Test
    void shouldRefuseASourceThatCannotProveTheKey()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final HelloAcceptor acceptor = acceptor(f);
        acceptor.onHello(f.frame, 0, f.hello(TargetFixture.authenticated(), 1), 7, f.clock.nanoTime());
        acceptor.doWork(f.clock.nanoTime());
        f.auth(control(f), "another-key-of-16-bytes".getBytes());
        final AuthFlyweight auth = new AuthFlyweight();
        auth.wrapForRead(f.frame, 0);
        assertThatThrownBy(() -> acceptor.onAuth(auth))
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
        assertThatThrownBy(() -> acceptor(f).onAuth(auth)).as("AUTH out of turn")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.PROTOCOL_VIOLATION);
    }

    @Test
    void shouldSignControlFramesAfterTheAckAndVerifyDataFramesAfterAuthWithFrameAuthentication()
    {
        final TargetFixture f = new TargetFixture(PAGES, c -> c.frameAuthentication(true));
        final HelloAcceptor acceptor = acceptor(f);
        acceptor.onHello(f.frame, 0, f.hello(TargetFixture.authenticated() | Capabilities.FRAME_MAC, 1), 7,
            f.clock.nanoTime());
        acceptor.doWork(f.clock.nanoTime());
        assertThat(keys).containsExactly("control");
        f.auth(control(f), TargetFixture.KEY);
        final AuthFlyweight auth = new AuthFlyweight();
        auth.wrapForRead(f.frame, 0);
        acceptor.onAuth(auth);
        assertThat(keys).containsExactly("control", "data");
    }

    @Test
    void shouldAcceptOnlyAResumeHelloOfTheSameMigrationAndLanesAndIgnoreAnImpostorsAuth()
    {
        final TargetFixture f = new TargetFixture(2048);
        final HelloAcceptor acceptor = acceptor(f);
        acceptor.onHello(f.frame, 0, f.hello(TargetFixture.authenticated(), 3), 7, f.clock.nanoTime());
        assertThat(acceptor.laneCount()).isEqualTo(3);
        assertThat(acceptor.laneSessionId(2)).isEqualTo(502);
        acceptor.reset();

        assertThat(acceptor.onResumeHello(f.frame, 0, f.hello(TargetFixture.authenticated(), 3), 8,
            f.clock.nanoTime())).as("no RESUME capability").isFalse();
        assertThat(acceptor.onResumeHello(f.frame, 0,
            f.hello(TargetFixture.authenticated() | Capabilities.RESUME, 2), 8, f.clock.nanoTime()))
            .as("other lanes").isFalse();
        assertThat(acceptor.onResumeHello(f.frame, 0,
            f.hello(TargetFixture.authenticated() | Capabilities.RESUME, 3), 8, f.clock.nanoTime())).isTrue();
        assertThat(acceptor.isResume()).isTrue();
        acceptor.doWork(f.clock.nanoTime());
        final RecordingSink resumedControl = f.links.sinks().get(f.links.sinks().size() - 1);
        f.auth(resumedControl, "an-impostor-key-16b".getBytes());
        final AuthFlyweight auth = new AuthFlyweight();
        auth.wrapForRead(f.frame, 0);
        assertThat(acceptor.onAuth(auth)).as("a resuming impostor is ignored, not fatal").isFalse();
    }
}
