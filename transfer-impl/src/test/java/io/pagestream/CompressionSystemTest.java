package io.pagestream;

import io.pagestream.api.Compression;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.status.CounterType;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every compression mode migrates a busy guest with memory identical afterwards, and the encodings are really used.
 */
class CompressionSystemTest
{
    private static SyntheticGuest.Config busyGuest()
    {
        return new SyntheticGuest.Config()
            .sizeBytes(128L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(30_000).fillFraction(0.6);
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    @Timeout(120)
    void shouldMigrateBusyGuestIdenticallyInEveryMode(final Compression mode) throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busyGuest()))
        {
            harness.sourceGuest.vcpus().start();
            Thread.sleep(100);
            // A cap and a tight downtime target make for several rounds over a slow link, where encodings pay.
            final MigrationReport[] reports = harness.migrate(t -> { },
                s -> s.compression(mode).maxBandwidthBytesPerSec(100_000_000).downtimeTargetMs(50), 90);
            final MigrationReport report = reports[0];
            assertEquals(MigrationResult.COMPLETED, report.result(), report.toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            assertEquals(harness.sourceGuest.deviceState().checksum(), harness.targetGuest.deviceState().checksum());

            // The target saw the same mix the source sent.
            assertEquals(report.deltaPages(), reports[1].deltaPages());
            assertEquals(report.lz4Pages(), reports[1].lz4Pages());
            assertEquals(report.rawPages(), reports[1].rawPages());
            switch (mode)
            {
                case NONE:
                    assertEquals(0, report.deltaPages() + report.lz4Pages(), report.toString());
                    assertEquals(0, report.bytesSaved());
                    break;
                case DELTA:
                    assertTrue(report.deltaPages() > 0, report.toString());
                    assertEquals(0, report.lz4Pages());
                    assertTrue(PageStream.counter(harness.source, CounterType.PAGE_CACHE_HITS) > 0);
                    break;
                case LZ4:
                    assertTrue(report.lz4Pages() > 0, report.toString());
                    assertEquals(0, report.deltaPages());
                    break;
                default:
                    assertTrue(report.deltaPages() > 0 && report.lz4Pages() > 0, report.toString());
                    assertTrue(report.bytesSaved() > 0);
            }
            System.out.println(mode + ": " + report);
        }
    }

    @Test
    @Timeout(120)
    void shouldUseDeltasForAHotsetGuestAndSaveBytes() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busyGuest()))
        {
            harness.sourceGuest.vcpus().start();
            Thread.sleep(100);
            final MigrationReport[] reports = harness.migrate(t -> { },
                s -> s.compression(Compression.AUTO).maxBandwidthBytesPerSec(100_000_000).downtimeTargetMs(50), 90);
            final MigrationReport report = reports[0];
            assertEquals(MigrationResult.COMPLETED, report.result(), report.toString());
            assertTrue(PageStream.counter(harness.source, CounterType.DELTA_PAGES_SENT) > 0, report.toString());
            assertTrue(report.deltaPages() > 0);
            assertTrue(report.bytesSaved() > 0);
            assertTrue(report.bytesOnWire() < report.pagesSent() * 4096L, "fewer bytes than raw pages would take");
            assertEquals(MemoryDigest.digest(harness.sourceGuest.memory()),
                MemoryDigest.digest(harness.targetGuest.memory()));
        }
    }
}
