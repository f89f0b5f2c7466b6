package io.pagestream;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationTarget;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.agrona.concurrent.status.CountersReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.File;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A VMM that already runs Aeron hands its client in: two migrations in a row on it, both exact; the client stays
 * open, and nothing of a closed migration stays allocated in it.
 */
class SharedAeronClientSystemTest
{
    private static int pageStreamCounters(final CountersReader reader)
    {
        final int[] count = {0};
        reader.forEach((value, id, label) ->
        {
            final int typeId = reader.getCounterTypeId(id);
            if (typeId >= 7000 && typeId < 7200)
            {
                count[0]++;
            }
        });
        return count[0];
    }

    @Test
    @Timeout(120)
    void shouldMigrateTwiceOnTheEmbeddersClientAndLeaveItOpenAndClean() throws Exception
    {
        final String dir = new File(System.getProperty("java.io.tmpdir"), "pagestream-shared-" + UUID.randomUUID())
            .getAbsolutePath();
        try (MediaDriver driver = MediaDriver.launch(new MediaDriver.Context().aeronDirectoryName(dir)
                .dirDeleteOnStart(true).dirDeleteOnShutdown(true).threadingMode(ThreadingMode.SHARED));
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(dir)))
        {
            for (int run = 0; run < 2; run++)
            {
                try (MigrationHarness harness = new MigrationHarness(new SyntheticGuest.Config()
                    .sizeBytes(32L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(5_000).seed(run)))
                {
                    harness.sourceGuest.vcpus().start();
                    final MigrationTarget target = PageStream.launchTarget(harness.targetContext(), aeron);
                    final MigrationSource source = PageStream.launchSource(harness.sourceContext(), aeron);
                    assertEquals(dir, PageStream.aeronDirectory(source));
                    final MigrationReport report = source.completion().get(60, TimeUnit.SECONDS);
                    assertEquals(MigrationResult.COMPLETED, report.result(), report.toString());
                    assertEquals(MigrationResult.COMPLETED, target.completion().get(60, TimeUnit.SECONDS).result());
                    assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(),
                        harness.targetGuest.memory()));
                    assertTrue(pageStreamCounters(aeron.countersReader()) > 0, "counters live in the embedder's driver");
                    source.close();
                    target.close();
                }
                assertFalse(aeron.isClosed(), "the embedder's client stays open");
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (pageStreamCounters(aeron.countersReader()) > 0 && System.nanoTime() < deadline)
                {
                    Thread.sleep(10);
                }
                assertEquals(0, pageStreamCounters(aeron.countersReader()), "nothing of the migration left allocated");
            }
            final MigrationException conflict = assertThrows(MigrationException.class, () ->
            {
                try (SyntheticGuest guest = SyntheticGuest.createTarget(new SyntheticGuest.Config()
                    .sizeBytes(4L << 20)))
                {
                    PageStream.launchTarget(new MigrationTarget.Context().guestMemory(guest.memory())
                        .deviceState(guest.deviceState()).allowUnauthenticated(true).driverDirectoryName(dir), aeron);
                }
            });
            assertEquals(ErrorCode.INVALID_CONFIGURATION, conflict.errorCode());
        }
    }
}
