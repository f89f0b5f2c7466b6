package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.PageInstaller;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.FrameType;
import io.pagestream.status.CounterType;
import io.pagestream.transport.FrameSink;
import io.pagestream.transport.RecordingSink;
import org.agrona.DirectBuffer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The target's side of the hand-over: device state in chunks, a SWITCHOVER checked against everything that arrived,
 * the device state restored (and timed, with the discard of stale pages), COMPLETE, and COMMIT only after it.
 */
class SwitchoverReceiverTest
{
    private static final int PAGES = 64;
    private static final byte[] STATE = new byte[10_000];

    static
    {
        for (int i = 0; i < STATE.length; i++)
        {
            STATE[i] = (byte)(i * 13);
        }
    }

    private static GuestImage fullImage(final TargetFixture f)
    {
        final GuestImage image = new GuestImage(f.memory, true, f.counters.get(CounterType.PAGE_FRAMES_RECEIVED),
            f.counters.get(CounterType.ZERO_PAGES_RECEIVED), f.counters.get(CounterType.DUPLICATE_PAGES_SKIPPED));
        image.onPage(0, f.frame, 0, f.page(0, 0, 5));
        image.onZeroRun(0, f.frame, 0, f.zeroRun(1, PAGES - 1, 0));
        image.onRoundEnd(0, f.frame, 0, f.roundEnd(0, 1, PAGES));
        return image;
    }

    private static SwitchoverReceiver receiver(final TargetFixture f)
    {
        return new SwitchoverReceiver(f.hypervisor, 1 << 20, true, PAGES, f.clock);
    }

    private static void sendState(final TargetFixture f, final SwitchoverReceiver receiver)
    {
        assertThat(receiver.onDeviceStateChunk(f.frame, 0, f.deviceState(STATE, 0, 6000))).isTrue();
        assertThat(receiver.onDeviceStateChunk(f.frame, 0, f.deviceState(STATE, 6000, 4000))).isFalse();
    }

    @Test
    void shouldRestoreTheDeviceStateOnAValidStopAndCopySwitchoverThenSendCompleteAndAwaitCommit()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final GuestImage image = fullImage(f);
        final SwitchoverReceiver receiver = receiver(f);
        sendState(f, receiver);
        assertThat(receiver.onSwitchover(f.switchover(0, STATE, false, 1, 0), image)).isFalse();
        assertThat(f.hypervisor.restored().capacity()).isEqualTo(STATE.length);
        assertThat(f.hypervisor.restored().getByte(9999)).isEqualTo(STATE[9999]);

        assertThatThrownBy(receiver::onCommit).as("COMMIT before COMPLETE")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.PROTOCOL_VIOLATION);
        final SourceProxy proxy = new SourceProxy(f.links);
        proxy.connect(TargetFixture.MIGRATION_ID, "127.0.0.1:40401", 1002);
        proxy.pollConnected();
        final RecordingSink control = f.links.sinks().get(0);
        control.script(FrameSink.RETRY);
        final TargetFigures figures = new TargetFigures(f.ctx, f.counters, image, receiver, 0);
        final FaultService faults = new FaultService(image.present(), f.counters.get(CounterType.FAULTS),
            f.counters.get(CounterType.PAGE_REQUESTS_SENT), f.clock, 0);
        assertThat(receiver.sendComplete(proxy, image, figures, faults)).isEqualTo(FrameSink.RETRY);
        assertThat(receiver.state()).isEqualTo(SwitchoverReceiver.State.SEND_COMPLETE);
        assertThat(receiver.sendComplete(proxy, image, figures, faults)).isEqualTo(FrameSink.SENT);
        assertThat(control.types()).containsExactly(FrameType.COMPLETE);
        assertThat(receiver.state()).isEqualTo(SwitchoverReceiver.State.AWAIT_COMMIT);
        receiver.onCommit();
        assertThat(receiver.state()).isEqualTo(SwitchoverReceiver.State.DONE);
    }

    @Test
    void shouldRefuseASwitchoverThatDoesNotMatchWhatArrived()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final GuestImage image = fullImage(f);
        final SwitchoverReceiver receiver = receiver(f);
        sendState(f, receiver);
        assertCode(() -> receiver.onSwitchover(f.switchover(1, STATE, false, 1, 0), image),
            ErrorCode.PROTOCOL_VIOLATION, "finalRound=1");
        assertCode(() -> receiver.onSwitchover(f.switchover(0, new byte[9], false, 1, 0), image),
            ErrorCode.DEVICE_STATE_FAILED, "deviceStateLength=9");
        final byte[] altered = STATE.clone();
        altered[77]++;
        assertCode(() -> receiver.onSwitchover(f.switchover(0, altered, false, 1, 0), image),
            ErrorCode.CHECKSUM_MISMATCH, "device state CRC32C");
        assertCode(() -> receiver.onSwitchover(f.switchover(0, STATE, false, 2, 0), image),
            ErrorCode.PROTOCOL_VIOLATION, "totalPageFrames=2");
        assertThat(f.hypervisor.restored()).as("nothing restored from a bad switchover").isNull();
    }

    @Test
    void shouldRefuseAStopAndCopySwitchoverWithPagesMissing()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final GuestImage image = new GuestImage(f.memory, true, f.counters.get(CounterType.PAGE_FRAMES_RECEIVED),
            f.counters.get(CounterType.ZERO_PAGES_RECEIVED), f.counters.get(CounterType.DUPLICATE_PAGES_SKIPPED));
        image.onZeroRun(0, f.frame, 0, f.zeroRun(0, PAGES - 2, 0));
        image.onRoundEnd(0, f.frame, 0, f.roundEnd(0, 0, PAGES - 2));
        final SwitchoverReceiver receiver = receiver(f);
        assertCode(() -> receiver.onSwitchover(f.switchover(0, new byte[0], false, 0, 0), image),
            ErrorCode.PROTOCOL_VIOLATION, "2 pages never received");
    }

    @Test
    void shouldAcceptAPostcopySwitchoverOnlyWithACompletePendingMapThatCoversEveryMissingPage()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final GuestImage image = new GuestImage(f.memory, true, f.counters.get(CounterType.PAGE_FRAMES_RECEIVED),
            f.counters.get(CounterType.ZERO_PAGES_RECEIVED), f.counters.get(CounterType.DUPLICATE_PAGES_SKIPPED));
        image.onZeroRun(0, f.frame, 0, f.zeroRun(0, PAGES - 1, 0));
        image.onRoundEnd(0, f.frame, 0, f.roundEnd(0, 0, PAGES - 1));
        final SwitchoverReceiver receiver = receiver(f);
        assertCode(() -> receiver.onSwitchover(f.switchover(0, new byte[0], true, 0, 1), image),
            ErrorCode.PROTOCOL_VIOLATION, "without a complete PENDING_MAP");

        final PageBitmap pending = new PageBitmap(PAGES);
        pending.set(PAGES - 1);
        pending.set(3);
        TargetFixture.pageMap(pending.words(), FrameType.PENDING_MAP,
            (buffer, length) -> receiver.onPendingMapChunk(buffer, 0, length));
        assertCode(() -> receiver.onSwitchover(f.switchover(0, new byte[0], true, 0, 1), image),
            ErrorCode.PROTOCOL_VIOLATION, "pendingPages=1");
        assertThat(receiver.onSwitchover(f.switchover(0, new byte[0], true, 0, 2), image)).isTrue();
        assertThat(receiver.isPostcopy()).isTrue();
        assertThat(image.present().get(3)).isFalse();
        assertThat(image.postcopyRemaining()).isEqualTo(2);
    }

    @Test
    void shouldTimeTheRestoreAndTheDiscardOfStalePagesOnTheEnginesClock()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final DeviceState slowRestore = new DeviceState()
        {
            public DirectBuffer save()
            {
                return f.hypervisor.save();
            }

            public void restore(final DirectBuffer buffer, final int offset, final int length)
            {
                f.clock.advance(3_000_000);
                f.hypervisor.restore(buffer, offset, length);
            }
        };
        final GuestImage image = new GuestImage(f.memory, true, f.counters.get(CounterType.PAGE_FRAMES_RECEIVED),
            f.counters.get(CounterType.ZERO_PAGES_RECEIVED), f.counters.get(CounterType.DUPLICATE_PAGES_SKIPPED));
        image.installer(new PageInstaller()
        {
            public void onPostcopyStart(final long[] staleWords, final long stalePages)
            {
                f.clock.advance(5_000_000L * stalePages);
            }

            public boolean installPage(final long pageIndex, final long sourceAddress)
            {
                return true;
            }

            public long installZeroPages(final long firstPageIndex, final long count)
            {
                return count;
            }

            public void onPostcopyEnd(final boolean guestLost)
            {
            }
        });
        image.onZeroRun(0, f.frame, 0, f.zeroRun(0, PAGES - 1, 0));
        image.onRoundEnd(0, f.frame, 0, f.roundEnd(0, 0, PAGES - 1));
        final SwitchoverReceiver receiver = new SwitchoverReceiver(slowRestore, 1 << 20, true, PAGES, f.clock);
        final PageBitmap pending = new PageBitmap(PAGES);
        pending.set(PAGES - 1);
        pending.set(3);
        TargetFixture.pageMap(pending.words(), FrameType.PENDING_MAP,
            (buffer, length) -> receiver.onPendingMapChunk(buffer, 0, length));
        sendState(f, receiver);
        assertThat(receiver.deviceRestoreNs()).isZero();

        assertThat(receiver.onSwitchover(f.switchover(0, STATE, true, 0, 2), image)).isTrue();
        assertThat(receiver.deviceRestoreNs()).isEqualTo(3_000_000);
        assertThat(receiver.staleDiscardNs()).as("two stale pages at 5 ms each").isEqualTo(10_000_000);
        final MigrationReport report = new TargetFigures(f.ctx, f.counters, image, receiver, 0)
            .report(f.clock.nanoTime(), MigrationResult.COMPLETED, "completed", null);
        assertThat(report.deviceRestoreUs()).isEqualTo(3_000);
        assertThat(report.staleDiscardUs()).isEqualTo(10_000);
        assertThat(report.toJson()).contains("\"deviceRestoreUs\": 3000,").contains("\"staleDiscardUs\": 10000,");
    }

    @Test
    void shouldRefusePostcopyWhenThisTargetDidNotEnableIt()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final SwitchoverReceiver receiver = new SwitchoverReceiver(f.hypervisor, 1 << 20, false, PAGES, f.clock);
        final GuestImage image = fullImage(f);
        assertCode(() -> receiver.onSwitchover(f.switchover(0, new byte[0], true, 1, 0), image),
            ErrorCode.MISSING_CAPABILITY, "did not enable post-copy");
    }

    private static void assertCode(final Runnable action, final ErrorCode code, final String message)
    {
        assertThatThrownBy(action::run)
            .hasMessageContaining(message)
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(code);
    }
}
