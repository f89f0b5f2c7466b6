package io.pagestream;

import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pre-copy switchover is a two-phase commit. The control direction (target to source) is cut right after the
 * source pauses its guest, for longer than the source's switchover timeout: the target receives the whole
 * switchover and acknowledges it, but the source never hears so, gives up and resumes its guest. The target must not
 * resume the guest too: it waits for the source's COMMIT, gets the source's ERROR instead, and fails. Exactly one
 * host runs the guest.
 */
class SwitchoverSystemTest
{
    @Test
    @Timeout(90)
    void shouldNeverRunTheGuestOnBothHostsWhenTheLinkDiesDuringStopAndCopy() throws Exception
    {
        final PostCopySystemTest.ToggleLoss loss = new PostCopySystemTest.ToggleLoss();
        // Only the control direction dies: the target gets the whole switchover, the source never hears COMPLETE.
        try (LossyDriver driver = new LossyDriver(LossyDriver.NO_LOSS, loss, LossyDriver.NO_LOSS);
            MigrationHarness harness = new MigrationHarness(new SyntheticGuest.Config().sizeBytes(32L << 20)
            .workload(Workload.HOTSET).dirtyRatePagesPerSec(5_000).fillFraction(0.6)))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(
                t -> t.peerTimeoutMs(10_000),
                s -> s.aeronDirectoryName(driver.directory).strategy(MigrationStrategy.PRECOPY).switchoverTimeoutMs(500)
                    .peerTimeoutMs(10_000).listener(new MigrationListener()
                    {
                        public void onPhaseChange(final MigrationPhase previous, final MigrationPhase next)
                        {
                            if (next == MigrationPhase.STOP_AND_COPY)
                            {
                                loss.dropAll = true;
                                final Thread heal = new Thread(() ->
                                {
                                    try
                                    {
                                        Thread.sleep(2_000);
                                    }
                                    catch (final InterruptedException ignore)
                                    {
                                        // heal now
                                    }
                                    loss.dropAll = false;
                                });
                                heal.setDaemon(true);
                                heal.start();
                            }
                        }
                    }), 60);
            final MigrationReport source = reports[0];
            final MigrationReport target = reports[1];
            assertEquals(MigrationResult.FAILED, source.result(), source.toString());
            assertFalse(harness.sourceGuest.vcpus().isPaused(), "the source resumed its guest");
            assertNotEquals(MigrationResult.COMPLETED, target.result(),
                "the target must not resume the guest as well: " + target);
            assertNotEquals(MigrationPhase.COMPLETE, harness.target.readyToRun().get(5, TimeUnit.SECONDS));
            assertTrue(loss.framesDropped > 0);
            System.out.println("switchover cut: source " + source + "\n  target " + target);
        }
    }
}
