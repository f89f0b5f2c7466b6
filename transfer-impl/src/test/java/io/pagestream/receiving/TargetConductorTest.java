package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationTarget;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.ErrorFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.StatusFlyweight;
import io.pagestream.status.CounterType;
import io.pagestream.transport.RecordingSink;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The target conductor's transitions and its one failure path, driven duty cycle by duty cycle with frames fed by
 * hand: a stop-and-copy guest resumes here only on COMMIT, a post-copy guest runs at the switchover and is declared
 * lost rather than run on pages that never arrive, and the deadlines that span sessions.
 */
class TargetConductorTest
{
    private static final int PAGES = 128;
    private static final int SESSION = 31;

    private final CompletableFuture<MigrationReport> completion = new CompletableFuture<>();
    private TargetFixture f;
    private TargetConductor conductor;

    private void launch(final Consumer<MigrationTarget.Context> settings)
    {
        f = new TargetFixture(PAGES, c ->
        {
            c.secretKey(null).allowUnauthenticated(true);
            settings.accept(c);
        });
        conductor = new TargetConductor(f.ctx, f.links, null, null, f.counters, completion);
    }

    private void cycles(final int n)
    {
        for (int i = 0; i < n; i++)
        {
            conductor.doWork();
        }
    }

    private void feed(final int length)
    {
        conductor.doWork(); // frames are read at the start of a duty cycle, with its time
        conductor.lane(0).accept(f.frame, 0, length, SESSION);
    }

    private RecordingSink control()
    {
        return f.links.sinks().get(f.links.sinks().size() - 1);
    }

    private void handshake()
    {
        feed(f.hello(Capabilities.POSTCOPY, 1));
        cycles(2);
        assertThat(conductor.state()).isEqualTo(TargetState.RECEIVING);
        assertThat(f.counters.value(CounterType.TARGET_STATE)).isEqualTo(TargetState.RECEIVING.code());
    }

    /** Handshake, bulk pass and a stop-and-copy SWITCHOVER fed, one duty cycle run: COMPLETE goes out. */
    private void switchedOver()
    {
        handshake();
        bulkPass();
        f.switchover(0, new byte[0], false, 0, 0);
        feed(io.pagestream.protocol.SwitchoverFlyweight.LENGTH);
        cycles(1);
    }

    private void bulkPass()
    {
        feed(f.zeroRun(0, PAGES, 0));
        feed(f.roundEnd(0, 0, PAGES));
    }

    private void sourceError(final ErrorCode code)
    {
        final ErrorFlyweight error = new ErrorFlyweight();
        error.wrap(f.frame, 0);
        error.errorCode(code.value());
        final int length = error.message("gave up");
        error.writeHeader(FrameType.ERROR, length, TargetFixture.MIGRATION_ID);
        feed(length);
    }

    @Test
    void shouldFailWithTimeoutWhenNoHelloArrivesInTime()
    {
        launch(c -> c.handshakeTimeoutMs(1_000));
        cycles(1);
        f.advanceMs(1_001);
        cycles(1);
        assertThat(completion.getNow(null).errorCode()).isEqualTo(ErrorCode.TIMEOUT);
        assertThat(conductor.readyToRun().getNow(null)).isEqualTo(MigrationPhase.FAILED);
    }

    @Test
    void shouldFailPeerLostAndTellTheSourceWhenItFallsSilentBeforeTheSwitchover()
    {
        launch(c -> c.peerTimeoutMs(1_000));
        handshake();
        f.advanceMs(1_001);
        cycles(1);
        assertThat(completion.getNow(null).errorCode()).isEqualTo(ErrorCode.PEER_LOST);
        final RecordingSink control = control();
        final ErrorFlyweight error = new ErrorFlyweight();
        error.wrapForRead(control.buffer(), control.offset(control.last(FrameType.ERROR)));
        assertThat(error.errorCode()).isEqualTo(ErrorCode.PEER_LOST.value());
    }

    @Test
    void shouldDropAndCountFramesOfAnotherAeronSessionOncePinned()
    {
        launch(c -> { });
        handshake();
        conductor.doWork();
        conductor.lane(0).accept(f.frame, 0, f.page(3, 0, 9), SESSION + 1);
        assertThat(f.counters.value(CounterType.FOREIGN_FRAMES_DROPPED)).isEqualTo(1);
        assertThat(f.firstWord(3)).isZero();
        assertThat(completion).isNotDone();
        conductor.lane(0).accept(f.frame, 0, f.page(3, 0, 9), SESSION);
        assertThat(f.firstWord(3)).isEqualTo(9 * 31);
    }

    @Test
    void shouldCompleteOnCommitOnly()
    {
        launch(c -> { });
        switchedOver();
        assertThat(control().types()).contains(FrameType.COMPLETE);
        assertThat(conductor.state()).isEqualTo(TargetState.COMPLETING);
        assertThat(conductor.readyToRun()).as("not before COMMIT").isNotDone();
        feed(f.commit());
        assertThat(completion.getNow(null).result()).isEqualTo(MigrationResult.COMPLETED);
        assertThat(completion.getNow(null).mode()).isEqualTo(MigrationMode.PRECOPY);
        assertThat(conductor.readyToRun().getNow(null)).isEqualTo(MigrationPhase.COMPLETE);
    }

    @Test
    void shouldRepeatCompleteThenNeitherResumeNorReplyWhenCommitNeverComes()
    {
        launch(c -> c.peerTimeoutMs(1_000).recoveryTimeoutMs(3_000));
        switchedOver();
        f.advanceMs(1_001);
        cycles(1);
        assertThat(completion.getNow(null)).as("past the peer timeout it still waits for COMMIT").isNull();
        assertThat(control().count(FrameType.COMPLETE)).as("COMPLETE repeated").isGreaterThanOrEqualTo(2);
        assertThat(control().count(FrameType.ERROR)).isZero();
        assertThat(conductor.readyToRun()).as("never resumed without COMMIT").isNotDone();
    }

    @Test
    void shouldReportCommitUnknownWhenNeitherCommitNorAnAnswerComes()
    {
        launch(c -> c.peerTimeoutMs(1_000).recoveryTimeoutMs(3_000));
        switchedOver();
        f.advanceMs(3_001);
        cycles(1);
        final MigrationReport report = completion.getNow(null);
        assertThat(report.errorCode()).isEqualTo(ErrorCode.COMMIT_UNKNOWN);
        assertThat(report.reason()).contains("no COMMIT").contains("Ask the source");
        assertThat(control().count(FrameType.ERROR)).isZero();
        assertThat(conductor.readyToRun().getNow(null)).isEqualTo(MigrationPhase.FAILED);
        assertThat(conductor.resolveCommit(true)).as("too late: the migration ended").isFalse();
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void shouldResumeOrNotAsTheEmbedderResolvesWhileCommitIsAwaited(final boolean committed)
    {
        launch(c -> c.peerTimeoutMs(1_000).recoveryTimeoutMs(60_000));
        assertThat(conductor.resolveCommit(true)).as("not waiting for COMMIT yet").isFalse();
        switchedOver();
        f.advanceMs(5_000);
        cycles(1);
        assertThat(conductor.resolveCommit(committed)).isTrue();
        cycles(1);
        final MigrationReport report = completion.getNow(null);
        assertThat(report.result()).isEqualTo(committed ? MigrationResult.COMPLETED : MigrationResult.CANCELLED);
        assertThat(conductor.readyToRun().getNow(null))
            .isEqualTo(committed ? MigrationPhase.COMPLETE : MigrationPhase.CANCELLED);
    }

    @Test
    void shouldCancelBeforeTheSwitchoverButNotAfterIt()
    {
        launch(c -> { });
        handshake();
        conductor.cancel();
        cycles(1);
        assertThat(completion.getNow(null).result()).isEqualTo(MigrationResult.CANCELLED);
        assertThat(control().count(FrameType.ERROR)).isEqualTo(1);
    }

    @Test
    void shouldRunTheGuestAtAPostcopySwitchoverAndDeclareItLostWhenTheSourceGivesUp()
    {
        launch(c -> { });
        handshake();
        bulkPass();
        final PageBitmap pending = new PageBitmap(PAGES);
        pending.set(7);
        TargetFixture.pageMap(pending.words(), FrameType.PENDING_MAP, (buffer, length) ->
        {
            f.frame.putBytes(0, buffer, 0, length);
            feed(length);
        });
        f.switchover(0, new byte[0], true, 0, 1);
        feed(io.pagestream.protocol.SwitchoverFlyweight.LENGTH);
        assertThat(conductor.readyToRun().getNow(null)).isEqualTo(MigrationPhase.POSTCOPY);
        assertThat(conductor.faults().isPresent(7)).isFalse();
        assertThat(conductor.faults().isPresent(8)).isTrue();
        final StatusFlyweight status = new StatusFlyweight();
        final RecordingSink control = control();
        status.wrapForRead(control.buffer(), control.offset(control.last(FrameType.STATUS)));
        assertThat(status.flags() & FrameFlyweight.FLAG_GUEST_RUNNING).isNotZero();

        conductor.cancel(); // ignored: the guest runs here
        cycles(1);
        assertThat(completion).isNotDone();
        sourceError(ErrorCode.INTERNAL);
        assertThat(completion.getNow(null).errorCode()).isEqualTo(ErrorCode.GUEST_LOST);
        assertThatThrownBy(() -> conductor.faults().awaitPage(7, 1_000_000))
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.GUEST_LOST);
    }

    @Test
    void shouldRecoverRatherThanFailWhenTheSourceFallsSilentInPostcopy()
    {
        launch(c -> c.peerTimeoutMs(1_000).recoveryTimeoutMs(5_000));
        handshake();
        bulkPass();
        final PageBitmap pending = new PageBitmap(PAGES);
        pending.set(7);
        TargetFixture.pageMap(pending.words(), FrameType.PENDING_MAP, (buffer, length) ->
        {
            f.frame.putBytes(0, buffer, 0, length);
            feed(length);
        });
        f.switchover(0, new byte[0], true, 0, 1);
        feed(io.pagestream.protocol.SwitchoverFlyweight.LENGTH);
        f.advanceMs(1_001);
        cycles(1);
        assertThat(conductor.state()).isEqualTo(TargetState.RECOVERY);
        assertThat(f.counters.value(CounterType.TARGET_STATE)).isEqualTo(TargetState.RECOVERY.code());
        f.advanceMs(5_001);
        cycles(1);
        assertThat(completion.getNow(null).errorCode()).isEqualTo(ErrorCode.GUEST_LOST);
        assertThat(completion.getNow(null).reason()).contains("1 pages missing");
    }

    @Test
    void shouldRefusePagesBeforeTheSourceAuthenticates()
    {
        launch(c -> c.secretKey(TargetFixture.KEY));
        feed(f.hello(TargetFixture.authenticated(), 1));
        cycles(2);
        assertThat(conductor.state()).isEqualTo(TargetState.HANDSHAKE);
        feed(f.page(1, 0, 5));
        assertThat(completion.getNow(null).errorCode()).isEqualTo(ErrorCode.PROTOCOL_VIOLATION);
        assertThat(completion.getNow(null).reason()).contains("before the source authenticated");
        assertThat(f.firstWord(1)).isZero();
    }
}
