package io.pagestream.sending;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Properties of round bookkeeping: the figures the policy decides on.
 */
class RoundTrackerProperties
{
    @Property
    void predictedDowntimeGrowsWithDirtyPagesAndShrinksWithBandwidth(
        @ForAll @LongRange(min = 0, max = 10_000_000) final long dirty,
        @ForAll @DoubleRange(min = 1e5, max = 1e10) final double bandwidth,
        @ForAll @DoubleRange(min = 16, max = 70_000) final double bytesPerPage,
        @ForAll @LongRange(min = 0, max = 10_000_000) final long rttNs)
    {
        final double base = RoundTracker.predictDowntimeMs(dirty, bytesPerPage, bandwidth, rttNs);
        assertThat(base).isGreaterThanOrEqualTo(rttNs / 1e6 - 1e-9);
        assertThat(RoundTracker.predictDowntimeMs(dirty + 1, bytesPerPage, bandwidth, rttNs)).isGreaterThan(base);
        assertThat(RoundTracker.predictDowntimeMs(dirty, bytesPerPage, bandwidth * 2, rttNs))
            .isLessThanOrEqualTo(base);
        assertThat(base - rttNs / 1e6).isCloseTo(dirty * bytesPerPage * 1000 / bandwidth, within(1e-6 * (1 + base)));
    }

    @Property
    void roundFiguresAccountForEveryPageAndByteSent(
        @ForAll @IntRange(min = 0, max = 2000) final int dataPages,
        @ForAll @IntRange(min = 0, max = 20) final int zeroRuns,
        @ForAll @LongRange(min = 1, max = 1000) final long pagesPerRun,
        @ForAll @LongRange(min = 1_000_000, max = 5_000_000_000L) final long durationNs,
        @ForAll @LongRange(min = 0, max = 100_000) final long newlyDirty)
    {
        final RoundTracker tracker = new RoundTracker(0, 4144);
        tracker.beginRound(1, 1_000);
        for (int i = 0; i < dataPages; i++)
        {
            tracker.onDataPage(1, 4144);
        }
        for (int i = 0; i < zeroRuns; i++)
        {
            tracker.onZeroRun(pagesPerRun, 40);
        }
        assertThat(tracker.roundPageFrames()).isEqualTo(dataPages);
        assertThat(tracker.roundPages()).isEqualTo(dataPages + zeroRuns * pagesPerRun);

        tracker.endRound(1_000 + durationNs, newlyDirty, newlyDirty);
        final long bytes = dataPages * 4144L + zeroRuns * 40L;
        assertThat(tracker.bytesSentInRound()).isEqualTo(bytes);
        assertThat(tracker.pagesSentInRound()).isEqualTo(dataPages + zeroRuns * pagesPerRun);
        assertThat(tracker.bandwidthBytesPerSec()).isCloseTo(bytes * 1e9 / durationNs, within(1e-6 * (1 + bytes)));
        assertThat(tracker.dirtyRatePagesPerSec()).isCloseTo(newlyDirty * 1e9 / (durationNs + 1_000),
            within(1e-3 * (1 + newlyDirty)));
        assertThat(tracker.wireBytesPerPage()).isEqualTo(4144.0);
        assertThat(tracker.dirtyPages()).isEqualTo(newlyDirty);
    }
}
