package io.pagestream.sending;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Properties of round bookkeeping: the figures the policy decides on, and each term of the downtime prediction.
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
    void predictedDowntimeAddsTheLastFetchTheDeviceStateTransferAndItsSave(
        @ForAll @IntRange(min = 1, max = 2000) final int dataPages,
        @ForAll @LongRange(min = 1_000_000, max = 5_000_000_000L) final long durationNs,
        @ForAll @LongRange(min = 0, max = 100_000) final long dirty,
        @ForAll @LongRange(min = 0, max = 50_000_000) final long fetchNs,
        @ForAll @LongRange(min = 1, max = 64 << 20) final long deviceStateBytes,
        @ForAll @DoubleRange(min = 0, max = 1000) final double saveNsPerByte)
    {
        final RoundTracker tracker = new RoundTracker(0, 4144);
        tracker.roundTripNs(200_000);
        tracker.beginRound(1, 0);
        for (int i = 0; i < dataPages; i++)
        {
            tracker.onDataPage(1, 4144);
        }
        tracker.endRound(durationNs, dirty, dirty);
        final double bandwidth = tracker.bandwidthBytesPerSec();
        final double data = RoundTracker.predictDowntimeMs(dirty, 4144, bandwidth, 200_000);
        assertThat(tracker.predictedDowntimeMs()).as("nothing else known").isCloseTo(data, within(1e-9 * data));

        tracker.fetchCostNs(fetchNs);
        final double withFetch = data + fetchNs / 1e6;
        assertThat(tracker.predictedDowntimeMs()).isCloseTo(withFetch, within(1e-9 * withFetch));

        tracker.deviceStateBytes(deviceStateBytes);
        final double withTransfer = withFetch + deviceStateBytes * 1000.0 / bandwidth;
        assertThat(tracker.deviceSaveMs()).as("no save rate learnt: the transfer alone").isZero();
        assertThat(tracker.predictedDowntimeMs()).isCloseTo(withTransfer, within(1e-9 * withTransfer));

        tracker.deviceSaveNsPerByte(saveNsPerByte);
        final double saveMs = deviceStateBytes * saveNsPerByte / 1e6;
        assertThat(tracker.deviceSaveMs()).isCloseTo(saveMs, within(1e-9 * (1 + saveMs)));
        assertThat(tracker.predictedDowntimeMs()).isCloseTo(withTransfer + saveMs,
            within(1e-9 * (withTransfer + saveMs)));

        tracker.deviceStateBytes(-1);
        assertThat(tracker.deviceSaveMs()).as("size unknown: neither transfer nor save").isZero();
        assertThat(tracker.predictedDowntimeMs()).isCloseTo(withFetch, within(1e-9 * withFetch));
    }

    @Property
    void aSaveOfSixHundredMillisecondsMeasuredForTheDeviceIsPredictedAgain(
        @ForAll @IntRange(min = 1, max = 64 << 20) final int savedBytes)
    {
        // What a retry after a downtime-guard abandon sees: the device's own save, as measured, at its size.
        final double nsPerByte = 600_000_000.0 / savedBytes;
        final RoundTracker tracker = new RoundTracker(0, 4144);
        tracker.deviceStateBytes(savedBytes);
        tracker.deviceSaveNsPerByte(nsPerByte);
        assertThat(tracker.deviceSaveMs()).isCloseTo(600.0, within(1e-6));
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
