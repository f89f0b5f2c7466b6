package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.policy.MigrationDecision;
import io.pagestream.protocol.CompleteFlyweight;
import io.pagestream.protocol.ErrorFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.PageRequestFlyweight;
import io.pagestream.protocol.StatusFlyweight;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.testing.TestCounters;
import io.pagestream.transport.RecordingSink;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The source conductor's transitions between sessions and its one failure path, driven duty cycle by duty cycle with
 * frames from the target fed by hand: before the hand-over a failure resumes the guest here and tells the target
 * (or not, when the target is gone); after a post-copy switchover the guest is never resumed here.
 */
class SourceConductorTest
{
    private static final int PAGES = 1024;

    private final CompletableFuture<MigrationReport> completion = new CompletableFuture<>();
    private final MigrationCounters counters = TestCounters.of(CounterType.source());
    private final UnsafeBuffer frame = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private SourceFixture f;
    private SourceConductor conductor;

    private void launch(final Consumer<io.pagestream.api.MigrationSource.Context> settings)
    {
        f = new SourceFixture(PAGES, 1, settings);
        conductor = new SourceConductor(f.ctx, f.links, f.sinks, null, counters, completion);
    }

    private void cycles(final int n)
    {
        for (int i = 0; i < n; i++)
        {
            conductor.doWork();
        }
    }

    private void handshake(final long capabilities)
    {
        cycles(1);
        final UnsafeBuffer ack = f.helloAck(f.sinks[0], SourceFixture.KEY, capabilities, 0);
        conductor.adapter().accept(ack, 0, io.pagestream.protocol.HelloAckFlyweight.LENGTH);
        cycles(2);
        assertThat(conductor.state()).isEqualTo(SourceState.PRECOPY);
    }

    private void fromTarget(final int type, final int length)
    {
        conductor.doWork(); // the adapter is read at the start of a duty cycle, with its time
        conductor.adapter().accept(frame, 0, length);
    }

    private void status(final boolean guestRunning)
    {
        final StatusFlyweight status = new StatusFlyweight();
        status.wrap(frame, 0);
        status.writeHeader(FrameType.STATUS, StatusFlyweight.LENGTH, f.ctx.migrationId());
        status.flags(guestRunning ? FrameFlyweight.FLAG_GUEST_RUNNING : 0);
        status.pagesApplied(0).timestampNs(0);
        fromTarget(FrameType.STATUS, StatusFlyweight.LENGTH);
    }

    private void pageRequest(final long pageIndex)
    {
        final PageRequestFlyweight request = new PageRequestFlyweight();
        request.wrap(frame, 0);
        request.writeHeader(FrameType.PAGE_REQUEST, PageRequestFlyweight.LENGTH, f.ctx.migrationId());
        request.pageIndex(pageIndex).timestampNs(0);
        fromTarget(FrameType.PAGE_REQUEST, PageRequestFlyweight.LENGTH);
    }

    private boolean pageSentOnAnotherStream(final long pageIndex)
    {
        final PageFlyweight page = new PageFlyweight();
        for (final RecordingSink sink : f.links.sinks())
        {
            for (int i = 0; i < sink.count(); i++)
            {
                if (sink.type(i) == FrameType.PAGE)
                {
                    page.wrapForRead(sink.buffer(), sink.offset(i));
                    if (page.pageIndex() == pageIndex)
                    {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private void complete()
    {
        final CompleteFlyweight complete = new CompleteFlyweight();
        complete.wrap(frame, 0);
        complete.writeHeader(FrameType.COMPLETE, CompleteFlyweight.LENGTH, f.ctx.migrationId());
        complete.pagesReceived(PAGES).pageFramesReceived(0).faults(0, 0, 0, 0);
        fromTarget(FrameType.COMPLETE, CompleteFlyweight.LENGTH);
    }

    private void error(final ErrorCode code)
    {
        final ErrorFlyweight error = new ErrorFlyweight();
        error.wrap(frame, 0);
        error.errorCode(code.value());
        final int length = error.message("no room");
        error.writeHeader(FrameType.ERROR, length, f.ctx.migrationId());
        fromTarget(FrameType.ERROR, length);
    }

    private void runUntil(final SourceState state)
    {
        for (int i = 0; i < 10_000 && conductor.state() != state; i++)
        {
            conductor.doWork();
            f.advanceMs(0);
        }
        assertThat(conductor.state()).isEqualTo(state);
    }

    private static ErrorFlyweight lastError(final RecordingSink sink)
    {
        final int index = sink.last(FrameType.ERROR);
        if (index < 0)
        {
            return null;
        }
        final ErrorFlyweight error = new ErrorFlyweight();
        error.wrapForRead(sink.buffer(), sink.offset(index));
        return error;
    }

    @Test
    void shouldPublishItsStateAndStartTrackingAfterTheHandshake()
    {
        launch(c -> { });
        assertThat(counters.value(CounterType.SOURCE_STATE)).isEqualTo(SourceState.HANDSHAKE.code());
        handshake(SourceFixture.authenticated());
        assertThat(counters.value(CounterType.SOURCE_STATE)).isEqualTo(SourceState.PRECOPY.code());
        assertThat(f.hypervisor.calls).containsExactly("startTracking");
    }

    @Test
    void shouldStopTrackingTellTheTargetAndReportCancelledWhenCancelledInPrecopy()
    {
        launch(c -> { });
        handshake(SourceFixture.authenticated());
        conductor.cancel();
        cycles(1);
        final MigrationReport report = completion.getNow(null);
        assertThat(report.result()).isEqualTo(MigrationResult.CANCELLED);
        assertThat(f.hypervisor.calls).endsWith("stopTracking");
        assertThat(lastError(f.sinks[0]).errorCode()).isEqualTo(ErrorCode.CANCELLED.value());
        assertThat(conductor.state()).isEqualTo(SourceState.DONE);
    }

    @Test
    void shouldFailPeerLostWithoutAnErrorFrameWhenTheTargetFallsSilent()
    {
        launch(c -> c.peerTimeoutMs(1_000));
        handshake(SourceFixture.authenticated());
        f.advanceMs(999);
        cycles(1);
        assertThat(completion).isNotDone();
        f.advanceMs(2);
        cycles(1);
        assertThat(completion.getNow(null).errorCode()).isEqualTo(ErrorCode.PEER_LOST);
        assertThat(lastError(f.sinks[0])).as("a silent target is not written to").isNull();
    }

    @Test
    void shouldResumeTheGuestAndTellTheTargetWhenTheSwitchoverTimesOut()
    {
        launch(c -> c.policy(figures -> MigrationDecision.STOP_AND_COPY).switchoverTimeoutMs(500)
            .peerTimeoutMs(5_000));
        handshake(SourceFixture.authenticated());
        runUntil(SourceState.SWITCHOVER);
        cycles(5);
        assertThat(f.hypervisor.isPaused()).isTrue();
        f.advanceMs(501);
        cycles(1);
        final MigrationReport report = completion.getNow(null);
        assertThat(report.errorCode()).isEqualTo(ErrorCode.TIMEOUT);
        assertThat(report.downtimeMs()).isEqualTo(501);
        assertThat(f.hypervisor.isPaused()).as("the guest runs here again").isFalse();
        assertThat(lastError(f.sinks[0]).errorCode()).isEqualTo(ErrorCode.TIMEOUT.value());
    }

    @Test
    void shouldCompleteAfterCompleteAndCommitWithoutResumingTheGuest()
    {
        launch(c -> c.policy(figures -> MigrationDecision.STOP_AND_COPY));
        handshake(SourceFixture.authenticated());
        runUntil(SourceState.SWITCHOVER);
        cycles(5);
        f.advanceMs(40);
        complete();
        assertThat(f.sinks[0].count(FrameType.COMMIT)).isEqualTo(1);
        final MigrationReport report = completion.getNow(null);
        assertThat(report.result()).isEqualTo(MigrationResult.COMPLETED);
        assertThat(report.mode()).isEqualTo(MigrationMode.PRECOPY);
        assertThat(report.downtimeMs()).isEqualTo(40);
        assertThat(report.switchRound()).isZero();
        assertThat(f.hypervisor.count("resume")).isZero();
        assertThat(f.hypervisor.isPaused()).isTrue();
    }

    @Test
    void shouldRefuseCompleteBeforeTheSwitchover()
    {
        launch(c -> { });
        handshake(SourceFixture.authenticated());
        complete();
        assertThat(completion.getNow(null).errorCode()).isEqualTo(ErrorCode.PROTOCOL_VIOLATION);
        assertThat(completion.getNow(null).reason()).contains("before switchover");
    }

    @Test
    void shouldNeverResumeTheGuestOnceThePostcopySwitchoverIsSent()
    {
        launch(c -> c.policy(figures -> MigrationDecision.postcopy("now")).recoveryTimeoutMs(0)
            .peerTimeoutMs(1_000));
        handshake(SourceFixture.authenticated());
        runUntil(SourceState.POSTCOPY);
        status(true);
        f.advanceMs(1_001);
        cycles(1);
        final MigrationReport report = completion.getNow(null);
        assertThat(report.errorCode()).isEqualTo(ErrorCode.GUEST_LOST);
        assertThat(report.mode()).isEqualTo(MigrationMode.POSTCOPY);
        assertThat(f.hypervisor.count("resume")).as("two copies of one machine must never run").isZero();
    }

    @Test
    void shouldResumeTheGuestWhenTheTargetRefusesThePostcopySwitchoverBeforeRunningIt()
    {
        launch(c -> c.policy(figures -> MigrationDecision.postcopy("now")));
        handshake(SourceFixture.authenticated());
        runUntil(SourceState.POSTCOPY);
        error(ErrorCode.DEVICE_STATE_FAILED);
        final MigrationReport report = completion.getNow(null);
        assertThat(report.errorCode()).isEqualTo(ErrorCode.DEVICE_STATE_FAILED);
        assertThat(f.hypervisor.isPaused()).isFalse();
        assertThat(f.hypervisor.calls).as("resumed here, then tracking ends (it ran on through the switchover)")
            .endsWith("resume", "stopTracking");
    }

    @Test
    void shouldStartARecoveryWhenTheTargetFallsSilentInPostcopy()
    {
        launch(c -> c.policy(figures -> MigrationDecision.postcopy("now")).recoveryTimeoutMs(10_000)
            .peerTimeoutMs(1_000));
        handshake(SourceFixture.authenticated());
        runUntil(SourceState.POSTCOPY);
        status(true);
        f.advanceMs(1_001);
        cycles(1);
        assertThat(conductor.state()).isEqualTo(SourceState.RECOVERY);
        assertThat(completion).isNotDone();
        assertThat(counters.value(CounterType.SOURCE_STATE)).isEqualTo(SourceState.RECOVERY.code());
        f.advanceMs(10_001);
        cycles(1);
        assertThat(completion.getNow(null).errorCode()).isEqualTo(ErrorCode.GUEST_LOST);
    }

    @Test
    void shouldServeAPageRequestOnTheUrgentLaneAndEndTheDowntimeWhenTheTargetFirstSaysTheGuestRuns()
    {
        launch(c -> c.policy(figures -> MigrationDecision.postcopy("now")).recoveryTimeoutMs(0)
            .peerTimeoutMs(1_000));
        handshake(SourceFixture.authenticated());
        runUntil(SourceState.POSTCOPY);
        f.advanceMs(25);
        pageRequest(PAGES - 1 - (PAGES - 1) % 3); // a page that holds data
        cycles(2);
        assertThat(pageSentOnAnotherStream(PAGES - 1 - (PAGES - 1) % 3)).as("sent on the urgent lane").isTrue();
        f.advanceMs(10);
        status(true);
        f.advanceMs(1_001);
        cycles(1);
        final MigrationReport report = completion.getNow(null);
        assertThat(report.errorCode()).isEqualTo(ErrorCode.GUEST_LOST);
        assertThat(report.downtimeMs()).as("up to the first word that the guest runs there").isEqualTo(25);
    }
}
