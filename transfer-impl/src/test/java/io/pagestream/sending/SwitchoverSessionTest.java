package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.DeviceState;
import io.pagestream.codec.Checksums;
import io.pagestream.pages.PageBitmap;
import io.pagestream.pages.PageMapAssembler;
import io.pagestream.protocol.CommitFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.SwitchoverFlyweight;
import io.pagestream.status.LocalFailure;
import io.pagestream.transport.FrameSink;
import io.pagestream.transport.RecordingSink;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The hand-over on the source: stop-and-copy's device state, SWITCHOVER, COMPLETE and COMMIT with its deadline, and
 * post-copy's pause, pending map and SWITCHOVER; every wait spans duty cycles.
 */
class SwitchoverSessionTest
{
    private static final int PAGES = 1024;

    private SwitchoverSession session(final SourceFixture f, final GuestControl guest)
    {
        return new SwitchoverSession(f.proxy, guest, f.limiter, f.controlStats);
    }

    private static SwitchoverFlyweight switchoverFrame(final RecordingSink sink)
    {
        final int index = sink.last(FrameType.SWITCHOVER);
        assertThat(index).as("a SWITCHOVER was sent").isNotNegative();
        final SwitchoverFlyweight frame = new SwitchoverFlyweight();
        frame.wrapForRead(sink.buffer(), sink.offset(index));
        frame.validate(sink.length(index));
        return frame;
    }

    @Test
    void shouldSendTheDeviceStateInChunksThenSwitchoverThenWaitForCompleteThenCommit()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        final GuestControl guest = f.guestControl();
        guest.pause();
        final SwitchoverSession session = session(f, guest);
        session.startStopAndCopy(3, 777);
        assertThat(f.hypervisor.calls).containsExactly("pause", "save");
        assertThat(session.isCancellable()).isTrue();

        session.doWork(f.clock.nanoTime());
        assertThat(f.sinks[0].count(FrameType.DEVICE_STATE)).isEqualTo(3); // 20,000 bytes in 8 KiB frames
        final SwitchoverFlyweight frame = switchoverFrame(f.sinks[0]);
        assertThat(frame.mode()).isEqualTo(SwitchoverFlyweight.MODE_STOP_AND_COPY);
        assertThat(frame.finalRound()).isEqualTo(3);
        assertThat(frame.totalPageFrames()).isEqualTo(777);
        assertThat(frame.deviceStateLength()).isEqualTo(20_000);
        assertThat(frame.deviceStateChecksum()).isEqualTo(
            Checksums.crc32c(new UnsafeBuffer(f.hypervisor.deviceStateBytes()), 0, 20_000));
        assertThat(session.state()).isEqualTo(SwitchoverSession.State.AWAIT_COMPLETE);
        assertThat(session.isCancellable()).isFalse();
        assertThat(session.isCommitted()).isFalse();

        f.advanceMs(7);
        session.onComplete(f.clock.nanoTime());
        assertThat(session.isDone()).isTrue();
        assertThat(session.isCommitted()).isTrue();
        final CommitFlyweight commit = new CommitFlyweight();
        commit.wrapForRead(f.sinks[0].buffer(), f.sinks[0].offset(f.sinks[0].last(FrameType.COMMIT)));
        assertThat(commit.downtimeNs()).isEqualTo(7_000_000L);
    }

    @Test
    void shouldTimeTheDeviceStateSaveOnTheEnginesClockAndRememberItForThisDevice()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        final DeviceState slowSave = new DeviceState()
        {
            public DirectBuffer save()
            {
                f.advanceMs(4);
                return f.hypervisor.save();
            }

            public void restore(final DirectBuffer buffer, final int offset, final int length)
            {
            }
        };
        final GuestControl guest =
            new GuestControl(f.hypervisor, f.hypervisor, slowSave, Throwable::printStackTrace, f.clock);
        guest.pause();
        session(f, guest).startStopAndCopy(3, 777);

        assertThat(guest.deviceSaveNs()).isEqualTo(4_000_000);
        assertThat(DeviceSaveRecord.nsPerByte(slowSave)).as("4 ms for 20,000 bytes").isEqualTo(200.0);
    }

    @Test
    void shouldResumeTheDeviceStateWhereBackPressureStoppedIt()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        final SwitchoverSession session = session(f, f.guestControl());
        session.startStopAndCopy(0, 0);
        f.sinks[0].script(FrameSink.SENT, FrameSink.RETRY);
        session.doWork(f.clock.nanoTime());
        assertThat(f.sinks[0].count(FrameType.DEVICE_STATE)).isEqualTo(1);
        assertThat(session.state()).isEqualTo(SwitchoverSession.State.SEND_DEVICE_STATE);
        session.doWork(f.clock.nanoTime());
        assertThat(f.sinks[0].count(FrameType.DEVICE_STATE)).isEqualTo(3);
        assertThat(session.deviceStateBytes()).isEqualTo(20_000);
    }

    @Test
    void shouldRetryCommitAcrossDutyCyclesAndGiveUpAfterASecondKeepingTheGuestHere()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        final SwitchoverSession session = session(f, f.guestControl());
        session.startStopAndCopy(1, 10);
        session.doWork(f.clock.nanoTime());
        f.sinks[0].defaultOutcome(FrameSink.RETRY);
        session.onComplete(f.clock.nanoTime());
        assertThat(session.state()).isEqualTo(SwitchoverSession.State.SEND_COMMIT);
        f.advanceMs(500);
        assertThat(session.doWork(f.clock.nanoTime())).isZero();
        f.advanceMs(501);
        assertThatThrownBy(() -> session.doWork(f.clock.nanoTime()))
            .isInstanceOf(LocalFailure.class)
            .hasMessageContaining("could not send COMMIT")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.PEER_LOST);
        assertThat(session.isCommitted()).isFalse();
    }

    @Test
    void shouldGiveUpAtOnceWhenTheStreamClosesBeforeCommit()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        final SwitchoverSession session = session(f, f.guestControl());
        session.startStopAndCopy(1, 10);
        session.doWork(f.clock.nanoTime());
        f.sinks[0].defaultOutcome(FrameSink.CLOSED);
        assertThatThrownBy(() -> session.onComplete(f.clock.nanoTime())).isInstanceOf(LocalFailure.class);
    }

    @Test
    void shouldPauseForGoodAndSendThePendingMapThenAPostcopySwitchover()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        f.hypervisor.dirtyNext(3, 64, 65, 1000);
        final GuestControl guest = f.guestControl();
        guest.startTracking();
        final SwitchoverSession session = session(f, guest);
        final PageBitmap pending = new PageBitmap(PAGES);
        session.startPostcopy(2, 55, pending, f.clock.nanoTime());
        assertThat(f.hypervisor.calls).as("tracking stays on until the migration ends: ending it costs downtime")
            .containsExactly("startTracking", "pause", "fetch");
        assertThat(pending.cardinality()).isEqualTo(4);

        session.doWork(f.clock.nanoTime());
        final PageBitmap map = new PageBitmap(PAGES);
        final PageMapAssembler assembler = new PageMapAssembler();
        assembler.start(map);
        for (int i = 0; i < f.sinks[0].count(); i++)
        {
            if (f.sinks[0].type(i) == FrameType.PENDING_MAP)
            {
                assembler.onChunk(f.sinks[0].buffer(), f.sinks[0].offset(i), f.sinks[0].length(i));
            }
        }
        assertThat(assembler.isComplete()).isTrue();
        assertThat(map.words()).isEqualTo(pending.words());
        final SwitchoverFlyweight frame = switchoverFrame(f.sinks[0]);
        assertThat(frame.mode()).isEqualTo(SwitchoverFlyweight.MODE_POSTCOPY);
        assertThat(frame.pendingPages()).isEqualTo(4);
        assertThat(frame.finalRound()).isEqualTo(2);
        assertThat(session.isCommitted()).as("SWITCHOVER sent: the guest belongs to the target").isTrue();
        assertThat(session.isDone()).isTrue();
        assertThat(f.hypervisor.isPaused()).isTrue();
    }

    @Test
    void shouldFailWhenTheStreamClosesDuringTheSwitchover()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        final SwitchoverSession session = session(f, f.guestControl());
        session.startStopAndCopy(0, 0);
        f.sinks[0].defaultOutcome(FrameSink.CLOSED);
        assertThatThrownBy(() -> session.doWork(f.clock.nanoTime()))
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.PEER_LOST);
    }
}
