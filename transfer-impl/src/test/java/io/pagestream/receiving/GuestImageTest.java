package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.pages.PageBitmap;
import io.pagestream.status.CounterType;
import org.agrona.UnsafeApi;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The guest image: pages and zero runs checked and applied, the round barrier across lanes, post-copy's present
 * pages and duplicates, and the maps a switchover and a resume are checked against.
 */
class GuestImageTest
{
    private static final int PAGES = 2048;

    private static GuestImage image(final TargetFixture f, final boolean memoryZeroed)
    {
        return new GuestImage(f.memory, memoryZeroed, f.counters.get(CounterType.PAGE_FRAMES_RECEIVED),
            f.counters.get(CounterType.ZERO_PAGES_RECEIVED), f.counters.get(CounterType.DUPLICATE_PAGES_SKIPPED));
    }

    @Test
    void shouldApplyPagesAndCountThemPerLaneAgainstEachLanesRoundEnd()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final GuestImage image = image(f, true);
        image.laneCount(2);
        image.onPage(0, f.frame, 0, f.page(3, 0, 77));
        image.onZeroRun(1, f.frame, 0, f.zeroRun(512, 10, 0));
        assertThat(f.firstWord(3)).isEqualTo(77 * 31);
        assertThat(image.pagesReceived()).isEqualTo(11);
        assertThat(image.present().get(3)).isTrue();

        assertThatThrownBy(() -> image.onRoundEnd(1, f.frame, 0, f.roundEnd(0, 1, 10)))
            .as("lane 1 sent no page frame")
            .hasMessageContaining("on lane 1")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.PROTOCOL_VIOLATION);
    }

    @Test
    void shouldHoldALaneAtTheBarrierUntilEveryLaneEndsTheRoundThenLetLaneZeroOpenTheNext()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final GuestImage image = image(f, true);
        image.laneCount(3);
        image.onPage(2, f.frame, 0, f.page(1024, 0, 1));
        assertThat(image.onRoundEnd(2, f.frame, 0, f.roundEnd(0, 1, 1))).isFalse();
        assertThat(image.mayPoll(2)).as("lane 2 waits at the barrier").isFalse();
        assertThat(image.mayPoll(0)).isTrue();
        assertThat(image.onRoundEnd(0, f.frame, 0, f.roundEnd(0, 0, 0))).isFalse();
        assertThat(image.onRoundEnd(1, f.frame, 0, f.roundEnd(0, 0, 0))).as("the last lane closes it").isTrue();
        assertThat(image.round()).isEqualTo(1);

        assertThat(image.mayPoll(0)).isTrue();
        assertThat(image.mayPoll(1)).as("lane 0 opens the next round first").isFalse();
        assertThat(image.mayPoll(2)).isFalse();
        image.onPage(0, f.frame, 0, f.page(5, 1, 2));
        assertThat(image.mayPoll(1)).isTrue();
        assertThat(image.mayPoll(2)).isTrue();
    }

    @Test
    void shouldRefuseAFrameOfAnotherRound()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final GuestImage image = image(f, true);
        assertThatThrownBy(() -> image.onPage(0, f.frame, 0, f.page(3, 1, 77)))
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.PROTOCOL_VIOLATION);
        assertThatThrownBy(() -> image.onZeroRun(0, f.frame, 0, f.zeroRun(3, 1, 2)))
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.PROTOCOL_VIOLATION);
        assertThat(f.firstWord(3)).isZero();
    }

    @Test
    void shouldClearAZeroPageThatHeldDataUnlessTheMemoryIsKnownFresh()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        UnsafeApi.putLong(f.memory.pageAddress(9), -1L);
        final GuestImage stale = image(f, false);
        stale.onZeroRun(0, f.frame, 0, f.zeroRun(9, 1, 0));
        assertThat(f.firstWord(9)).isZero();

        UnsafeApi.putLong(f.memory.pageAddress(10), -1L);
        final GuestImage fresh = image(f, true);
        fresh.onPage(0, f.frame, 0, f.page(11, 0, 3));
        fresh.onZeroRun(0, f.frame, 0, f.zeroRun(11, 1, 0)); // received before, so cleared even in fresh memory
        assertThat(f.firstWord(11)).isZero();
    }

    @Test
    void shouldMakeReceivedButNotPendingPagesPresentAtAPostcopySwitchoverAndNeverWriteAPresentPageAgain()
    {
        final TargetFixture f = new TargetFixture(PAGES);
        final GuestImage image = image(f, true);
        image.onZeroRun(0, f.frame, 0, f.zeroRun(0, PAGES, 0));
        image.onRoundEnd(0, f.frame, 0, f.roundEnd(0, 0, PAGES));
        final PageBitmap pending = new PageBitmap(PAGES);
        pending.set(4);
        pending.set(5);
        assertThat(image.pagesNeitherReceivedNorPending(pending)).isZero();
        image.startPostcopy(pending);
        assertThat(image.present().get(4)).isFalse();
        assertThat(image.present().get(6)).isTrue();
        assertThat(image.postcopyRemaining()).isEqualTo(2);

        UnsafeApi.putLong(f.memory.pageAddress(6), 42); // the running guest wrote page 6
        image.onPage(-1, f.frame, 0, f.page(6, 1, 9));
        assertThat(f.firstWord(6)).as("a present page is never written again").isEqualTo(42);
        assertThat(f.counters.value(CounterType.DUPLICATE_PAGES_SKIPPED)).isEqualTo(1);

        image.onPage(-1, f.frame, 0, f.page(4, 1, 9));
        image.onZeroRun(1, f.frame, 0, f.zeroRun(5, 1, 1));
        assertThat(image.postcopyRemaining()).isZero();
        final PageBitmap missing = new PageBitmap(PAGES);
        image.missing(missing);
        assertThat(missing.cardinality()).isZero();
    }
}
