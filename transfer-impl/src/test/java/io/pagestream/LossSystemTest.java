package io.pagestream;

import io.aeron.driver.MediaDriver;
import io.aeron.driver.ext.LossGenerator;
import io.aeron.driver.status.SystemCounterDescriptor;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetSocketAddress;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pre-copy migrations of a busy guest while the source's driver drops data frames: at random (10%, 20%) or in bursts,
 * from fixed seeds, through Aeron's debug send endpoint. Aeron's NAKs and retransmits must repair every loss, and the
 * target's memory must end identical; the driver's counters prove that loss and repair really happened.
 */
class LossSystemTest
{
    @ParameterizedTest(name = "{0}")
    @CsvSource({ "random 10%, 0.10, 1", "random 20%, 0.20, 1", "bursts of 32, 0.004, 32" })
    @Timeout(120)
    void shouldMigrateWithIdenticalMemoryDespiteDataLoss(
        final String name, final double startProbability, final int burstLength) throws Exception
    {
        final SeededLoss loss = new SeededLoss(startProbability, burstLength, 0x5EED + burstLength);
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(32L << 20)
            .workload(Workload.HOTSET)
            .dirtyRatePagesPerSec(5_000)
            .fillFraction(0.6)
            .seed(11);
        try (LossyDriver lossy = new LossyDriver(loss, LossyDriver.NO_LOSS, LossyDriver.NO_LOSS);
            MigrationHarness harness = new MigrationHarness(config))
        {
            final MediaDriver driver = lossy.driver;
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { }, s -> s.aeronDirectoryName(lossy.directory), 100);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            assertEquals(harness.sourceGuest.deviceState().checksum(), harness.targetGuest.deviceState().checksum());

            final long retransmits = driver.context().systemCounters().get(SystemCounterDescriptor.RETRANSMITS_SENT)
                .get();
            final long naksReceived = driver.context().systemCounters()
                .get(SystemCounterDescriptor.NAK_MESSAGES_RECEIVED).get();
            assertTrue(loss.dropped > 100, name + ": frames really dropped: " + loss.dropped);
            assertTrue(retransmits > 0 && naksReceived > 0,
                name + ": Aeron repaired the loss (retransmits " + retransmits + ", NAKs " + naksReceived + ")");
            assertTrue(harness.errors.isEmpty(), harness.errors.toString());
            System.out.println(name + ": dropped " + loss.dropped + " of " + loss.seen + " data frames, " +
                naksReceived + " NAKs, " + retransmits + " retransmits; " + reports[0]);
        }
    }

    /**
     * Starts a burst of {@code burstLength} dropped frames with the given probability per frame; with a burst length
     * of 1 that is plain random loss. Seeded, so a failure replays. Called on the driver's one thread.
     */
    static final class SeededLoss implements LossGenerator
    {
        private final SplittableRandom random;
        private final double startProbability;
        private final int burstLength;
        private int remaining;
        volatile long dropped;
        volatile long seen;

        SeededLoss(final double startProbability, final int burstLength, final long seed)
        {
            this.random = new SplittableRandom(seed);
            this.startProbability = startProbability;
            this.burstLength = burstLength;
        }

        public boolean shouldDropFrame(final InetSocketAddress address, final UnsafeBuffer buffer, final int length)
        {
            seen++;
            if (remaining == 0 && random.nextDouble() < startProbability)
            {
                remaining = burstLength;
            }
            if (remaining > 0)
            {
                remaining--;
                dropped++;
                return true;
            }
            return false;
        }
    }
}
