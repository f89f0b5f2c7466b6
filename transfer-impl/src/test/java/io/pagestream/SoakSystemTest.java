package io.pagestream;

import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import io.aeron.CommonContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.File;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Twenty back-to-back migrations of a busy guest in one JVM, each launching and closing both sides with their
 * embedded drivers: threads, file descriptors, direct memory and driver directories must not grow.
 */
class SoakSystemTest
{
    private static final int MIGRATIONS = 20;

    @Test
    @Timeout(300)
    void shouldNotLeakAcrossTwentyMigrations() throws Exception
    {
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(32L << 20)
            .workload(Workload.HOTSET)
            .dirtyRatePagesPerSec(10_000)
            .fillFraction(0.6);
        long[] baseline = null;
        for (int i = 0; i < MIGRATIONS; i++)
        {
            try (MigrationHarness harness = new MigrationHarness(config.seed(i + 1)))
            {
                harness.sourceGuest.vcpus().start();
                final MigrationReport[] reports = harness.migrate(t -> { }, s -> { }, 60);
                assertEquals(MigrationResult.COMPLETED, reports[0].result(), "migration " + i + ": " + reports[0]);
                assertEquals(MigrationResult.COMPLETED, reports[1].result(), "migration " + i + ": " + reports[1]);
                assertEquals(MemoryDigest.digest(harness.sourceGuest.memory()),
                    MemoryDigest.digest(harness.targetGuest.memory()), "migration " + i);
            }
            if (i == 1)
            {
                baseline = resources(); // after two runs: classes loaded, JIT and pools warmed
            }
        }
        final long[] after = resources();
        System.out.printf("soak: threads %d -> %d, fds %d -> %d, direct bytes %d -> %d, driver dirs %d -> %d%n",
            baseline[0], after[0], baseline[1], after[1], baseline[2], after[2], baseline[3], after[3]);
        assertTrue(after[0] <= baseline[0] + 2, "threads grew: " + baseline[0] + " -> " + after[0]);
        assertTrue(after[1] <= baseline[1] + 4, "file descriptors grew: " + baseline[1] + " -> " + after[1]);
        assertTrue(after[2] <= baseline[2] + (1 << 20), "direct memory grew: " + baseline[2] + " -> " + after[2]);
        assertTrue(after[3] <= baseline[3], "embedded driver directories left behind: " + baseline[3] + " -> " + after[3]);
    }

    @Test
    void shouldReapDirectoriesThatKilledProcessesLeftBehind() throws Exception
    {
        final File stale = new File(CommonContext.getAeronDirectoryName() +
            io.pagestream.transport.AeronTransport.DIRECTORY_INFIX + "target-killed-" + System.nanoTime());
        assertTrue(new File(stale, "publications").mkdirs());
        assertTrue(new File(stale, "cnc.dat").createNewFile()); // no live driver writes its heartbeat
        assertTrue(stale.setLastModified(System.currentTimeMillis() - 2 * 60_000));
        final File fresh = new File(stale.getPath() + "-fresh");
        assertTrue(fresh.mkdirs()); // as another process's launch might be creating right now
        try
        {
            assertTrue(io.pagestream.transport.AeronTransport.reapStaleDirectories() >= 1);
            assertTrue(!stale.exists(), "a stale directory is deleted");
            assertTrue(fresh.exists(), "a fresh one is left alone");
        }
        finally
        {
            org.agrona.IoUtil.delete(fresh, true);
            org.agrona.IoUtil.delete(stale, true);
        }
    }

    private static long[] resources() throws InterruptedException
    {
        // Give closed threads a moment to finish and the cleaner a chance to free released direct buffers.
        for (int i = 0; i < 3; i++)
        {
            System.gc();
            Thread.sleep(200);
        }
        long direct = 0;
        for (final BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class))
        {
            if ("direct".equals(pool.getName()))
            {
                direct = pool.getMemoryUsed();
            }
        }
        final String[] fds = new File("/proc/self/fd").list();
        final File parent = new File(CommonContext.getAeronDirectoryName()).getParentFile();
        final String prefix = new File(CommonContext.getAeronDirectoryName()).getName() +
            io.pagestream.transport.AeronTransport.DIRECTORY_INFIX;
        final String[] dirs = parent.list((dir, name) -> name.startsWith(prefix));
        return new long[]{
            ManagementFactory.getThreadMXBean().getThreadCount(),
            null == fds ? -1 : fds.length,
            direct,
            null == dirs ? 0 : dirs.length };
    }
}
