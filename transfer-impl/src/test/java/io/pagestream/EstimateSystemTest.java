package io.pagestream;

import io.pagestream.api.Compression;
import io.pagestream.api.MigrationEstimate;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The estimate against the migration it predicts, on every synthetic workload over a capped link: the same guest,
 * estimated, then migrated with the same settings. Prints the table the README quotes.
 */
class EstimateSystemTest
{
    private static final long CAP = 100_000_000;

    @Test
    @Timeout(300)
    void shouldPredictTotalTimeDowntimeAndModeOfRealMigrations() throws Exception
    {
        final List<String> rows = new ArrayList<>();
        final List<Double> errors = new ArrayList<>();
        for (final Workload workload : Workload.values())
        {
            // Rates far from the policy's borders, so the mode is not a coin toss: uniform writes converge easily,
            // sequential ones dirty pages faster than the link sends them (hybrid), hotset sits in between.
            final double rate = workload == Workload.UNIFORM ? 10_000 : workload == Workload.SEQUENTIAL ? 40_000 : 20_000;
            final SyntheticGuest.Config config = new SyntheticGuest.Config().sizeBytes(256L << 20).workload(workload)
                .dirtyRatePagesPerSec(rate).fillFraction(0.6).seed(3);
            try (MigrationHarness harness = new MigrationHarness(config))
            {
                harness.sourceGuest.vcpus().start();
                final Consumer<MigrationSource.Context> settings = s -> s.strategy(MigrationStrategy.AUTO)
                    .compression(Compression.NONE).maxBandwidthBytesPerSec(CAP).maxRounds(10);
                final MigrationSource.Context ctx = harness.sourceContext();
                settings.accept(ctx);
                final MigrationEstimate estimate = PageStream.estimate(ctx, 0, 1_000, true);
                final MigrationReport[] reports = harness.migrate(t -> t.postcopyEnabled(true), settings, 120);
                assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
                final double error = (estimate.predictedTotalTimeMs() - reports[0].totalTimeMs()) /
                    (double)reports[0].totalTimeMs();
                errors.add(Math.abs(error));
                rows.add(String.format(Locale.ROOT, "| %s at %,.0f writes/s | %s / %s | %,d / %,d ms (%+.0f%%) | %d / %d ms | %s |",
                    workload.name().toLowerCase(Locale.ROOT), rate, estimate.predictedMode(), reports[0].mode(),
                    estimate.predictedTotalTimeMs(), reports[0].totalTimeMs(), error * 100,
                    estimate.predictedDowntimeMs(), reports[0].downtimeMs(), estimate.converges() ? "yes" : "no"));
                System.out.println(estimate + "\n  actual: " + reports[0]);
                assertEquals(reports[0].mode(), estimate.predictedMode(), estimate + " vs " + reports[0]);
            }
        }
        System.out.println("| workload | mode predicted / actual | total time predicted / actual | downtime " +
            "predicted / actual | converges |");
        rows.forEach(System.out::println);
        errors.sort(Double::compare);
        final double median = (errors.get(1) + errors.get(2)) / 2;
        assertTrue(median <= 0.25, "median total-time error " + median + ": " + rows);
        assertTrue(errors.get(errors.size() - 1) <= 0.40, "worst total-time error: " + rows);
    }

    @Test
    void shouldRefuseAnEstimateWithoutALinkRate()
    {
        try (SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config().sizeBytes(4L << 20)))
        {
            final MigrationSource.Context ctx = new MigrationSource.Context().guestMemory(guest.memory())
                .dirtyPageLog(guest.dirtyLog()).vcpuControl(guest.vcpus()).deviceState(guest.deviceState());
            final MigrationException ex = assertThrows(MigrationException.class,
                () -> PageStream.estimate(ctx, 0, 100, false));
            assertTrue(ex.getMessage().contains("link's rate is not known"), ex.getMessage());
        }
    }
}
