package io.pagestream;

import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.status.CounterType;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real pre-copy migrations over UDP loopback with vCPU threads writing while pages are sent.
 */
class PreCopyMigrationSystemTest
{
    @ParameterizedTest
    @EnumSource(Workload.class)
    @Timeout(120)
    void shouldMigrate256MiBGuestUnderEachWorkloadWithIdenticalMemory(final Workload workload) throws Exception
    {
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(256L << 20)
            .workload(workload)
            .dirtyRatePagesPerSec(20_000)
            .fillFraction(0.6);
        try (MigrationHarness harness = new MigrationHarness(config))
        {
            harness.sourceGuest.vcpus().start();
            Thread.sleep(100);
            final MigrationReport[] reports = harness.migrate(t -> { }, s -> { }, 90);
            final MigrationReport sourceReport = reports[0];
            final MigrationReport targetReport = reports[1];

            assertEquals(MigrationResult.COMPLETED, sourceReport.result(), sourceReport.toString());
            assertEquals(MigrationResult.COMPLETED, targetReport.result(), targetReport.toString());
            assertTrue(harness.sourceGuest.vcpus().isPaused(), "guest stays paused on the source after switchover");
            assertFalse(harness.sourceGuest.isTracking());
            if (workload != Workload.IDLE)
            {
                assertTrue(harness.sourceGuest.vcpus().pagesWritten() > 0, "vCPUs really wrote during migration");
            }
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            assertEquals(MemoryDigest.digest(harness.sourceGuest.memory()),
                MemoryDigest.digest(harness.targetGuest.memory()));
            assertEquals(harness.sourceGuest.deviceState().checksum(), harness.targetGuest.deviceState().checksum());
            assertTrue(sourceReport.zeroPages() > 0 && sourceReport.rawPages() > 0, sourceReport.toString());
            assertTrue(sourceReport.pagesSent() >= harness.sourceGuest.memory().pageCount());
            assertEquals(sourceReport.pagesSent(), PageStream.counter(harness.source, CounterType.PAGES_SENT));
            assertTrue(sourceReport.downtimeMs() >= 0);
            assertTrue(harness.errors.isEmpty(), harness.errors.toString());
            System.out.println(workload + ": " + sourceReport);
        }
    }
}
