package io.pagestream;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The window a two-phase switchover cannot close alone: the source sends COMMIT and the link from it dies. The
 * target, which has everything, never resumes on its own; it repeats COMPLETE and waits. A link that comes back
 * closes the window (the source answers again); a link that does not is resolved by the embedder, who asks the
 * source's side. Either way the guest runs in exactly one place, with exact memory.
 */
class CommitWindowSystemTest
{
    /** Target and source launched, the source's datagrams going through the cutting driver. */
    private static void start(final MigrationHarness harness, final LossyDriver driver, final long recoveryTimeoutMs)
    {
        harness.sourceGuest.vcpus().start();
        harness.startTarget(t -> t.peerTimeoutMs(400).recoveryTimeoutMs(recoveryTimeoutMs));
        harness.startSource(s -> s.strategy(MigrationStrategy.PRECOPY).aeronDirectoryName(driver.directory));
    }

    private static SyntheticGuest.Config guest()
    {
        return new SyntheticGuest.Config().sizeBytes(32L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(5_000)
            .seed(21);
    }

    @Test
    @Timeout(90)
    void shouldResumeOnTheTargetWhenTheLinkComesBackAfterALostCommit() throws Exception
    {
        final CutAtCommit cut = new CutAtCommit();
        try (LossyDriver driver = new LossyDriver(cut, LossyDriver.NO_LOSS, LossyDriver.NO_LOSS);
            MigrationHarness harness = new MigrationHarness(guest()))
        {
            start(harness, driver, 20_000);
            final MigrationReport source = harness.source.completion().get(60, TimeUnit.SECONDS);
            assertEquals(MigrationResult.COMPLETED, source.result(), "the source committed: " + source);
            // COMMIT is in the publication when the source completes; its datagram leaves with the driver's sender.
            final long sentBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!cut.cut && System.nanoTime() < sentBy)
            {
                Thread.sleep(1);
            }
            assertTrue(cut.cut, "COMMIT was cut");
            Thread.sleep(1_500); // well past the target's peer timeout, with COMPLETE repeated meanwhile
            assertFalse(harness.target.completion().isDone(), "the target neither resumed nor gave up");
            cut.healed = true;
            final MigrationReport target = harness.target.completion().get(30, TimeUnit.SECONDS);
            assertEquals(MigrationResult.COMPLETED, target.result(), target.toString());
            assertEquals(MigrationPhase.COMPLETE, harness.target.readyToRun().getNow(null));
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            assertTrue(harness.sourceGuest.vcpus().isPaused(), "and the source keeps it paused");
        }
    }

    @Test
    @Timeout(90)
    void shouldLetTheEmbedderResolveALostCommitWhenTheLinkStaysDown() throws Exception
    {
        final CutAtCommit cut = new CutAtCommit();
        try (LossyDriver driver = new LossyDriver(cut, LossyDriver.NO_LOSS, LossyDriver.NO_LOSS);
            MigrationHarness harness = new MigrationHarness(guest()))
        {
            start(harness, driver, 20_000);
            // The embedder asks the source's host: COMPLETED means it committed and keeps the guest paused.
            final MigrationReport source = harness.source.completion().get(60, TimeUnit.SECONDS);
            assertEquals(MigrationResult.COMPLETED, source.result(), source.toString());
            Thread.sleep(800);
            assertFalse(harness.target.completion().isDone(), "still waiting for COMMIT");
            assertTrue(harness.target.resolveCommit(true));
            final MigrationReport target = harness.target.completion().get(30, TimeUnit.SECONDS);
            assertEquals(MigrationResult.COMPLETED, target.result(), target.toString());
            assertTrue(target.reason().contains("the embedder resolved"), target.reason());
            assertEquals(MigrationPhase.COMPLETE, harness.target.readyToRun().getNow(null));
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            assertFalse(harness.target.resolveCommit(false), "answered once; the migration is over");
        }
    }

    @Test
    @Timeout(90)
    void shouldReportCommitUnknownWhenNothingResolvesIt() throws Exception
    {
        final CutAtCommit cut = new CutAtCommit();
        try (LossyDriver driver = new LossyDriver(cut, LossyDriver.NO_LOSS, LossyDriver.NO_LOSS);
            MigrationHarness harness = new MigrationHarness(guest()))
        {
            start(harness, driver, 1_500);
            assertEquals(MigrationResult.COMPLETED, harness.source.completion().get(60, TimeUnit.SECONDS).result());
            final MigrationReport target = harness.target.completion().get(30, TimeUnit.SECONDS);
            assertEquals(ErrorCode.COMMIT_UNKNOWN, target.errorCode(), target.toString());
            assertEquals(MigrationPhase.FAILED, harness.target.readyToRun().getNow(null), "never resumed on its own");
        }
    }
}
