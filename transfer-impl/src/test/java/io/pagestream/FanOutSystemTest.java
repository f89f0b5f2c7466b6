package io.pagestream;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.api.MigrationTarget;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import io.aeron.driver.status.SystemCounterDescriptor;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fan-out over real UDP: one source, its target and two followers, each with its own media driver, the data lanes one
 * multi-destination publication under minimum flow control. Every follower applies and checks the pages on its own
 * and ends with the source's final memory; loss on one follower's link is repaired by Aeron for it; a follower closed
 * mid-bulk drops out and the others complete; a hand-over in post-copy releases the followers.
 */
@Timeout(180)
class FanOutSystemTest
{
    private static final SyntheticGuest.Config CONFIG = new SyntheticGuest.Config().sizeBytes(32L << 20)
        .workload(Workload.HOTSET).fillFraction(0.6).dirtyRatePagesPerSec(5_000).seed(21);

    @Test
    void shouldMigrateToATargetAndTwoFollowersOneOfThemLossy() throws Exception
    {
        final LossSystemTest.SeededLoss loss = new LossSystemTest.SeededLoss(0.05, 1, 0x5EED);
        try (LossyDriver lossy = new LossyDriver(LossyDriver.NO_LOSS, loss, LossyDriver.NO_LOSS);
            MigrationHarness h = new MigrationHarness(CONFIG);
            Follower plain = new Follower(null);
            Follower lossyFollower = new Follower(lossy.directory))
        {
            h.sourceGuest.vcpus().start();
            final MigrationReport[] reports = h.migrate(t -> { },
                s -> s.followerEndpoints(plain.endpoint, lossyFollower.endpoint).strategy(MigrationStrategy.PRECOPY),
                100);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            for (final Follower follower : new Follower[]{ plain, lossyFollower })
            {
                final MigrationReport report = follower.target.completion().get(60, TimeUnit.SECONDS);
                assertEquals(MigrationResult.COMPLETED, report.result(), report.toString());
                assertTrue(report.reason().contains("as a follower"), report.reason());
                assertEquals(-1, MemoryDigest.firstDifference(h.sourceGuest.memory(), follower.guest.memory()),
                    "the follower holds the source's final memory");
                assertEquals(h.sourceGuest.deviceState().checksum(), follower.guest.deviceState().checksum());
            }
            assertEquals(-1, MemoryDigest.firstDifference(h.sourceGuest.memory(), h.targetGuest.memory()));
            final long naks = lossy.driver.context().systemCounters().get(SystemCounterDescriptor.NAK_MESSAGES_SENT)
                .get();
            assertTrue(loss.dropped > 50 && naks > 0, "frames really dropped on the lossy follower's link (" +
                loss.dropped + ") and repaired by NAKs (" + naks + ")");
            System.out.println("fan-out: dropped " + loss.dropped + " of " + loss.seen + " frames at one follower, " +
                naks + " NAKs; " + reports[0]);
        }
    }

    @Test
    void shouldCompleteForTheOthersWhenAFollowerIsClosedMidBulk() throws Exception
    {
        try (MigrationHarness h = new MigrationHarness(CONFIG);
            Follower kept = new Follower(null);
            Follower killed = new Follower(null))
        {
            final MigrationSource source = startAndAwaitAQuarter(h, s -> s.followerEndpoints(kept.endpoint,
                killed.endpoint).strategy(MigrationStrategy.PRECOPY));
            killed.close();
            final MigrationReport sourceReport = source.completion().get(100, TimeUnit.SECONDS);
            final MigrationReport targetReport = h.target.completion().get(100, TimeUnit.SECONDS);
            assertEquals(MigrationResult.COMPLETED, sourceReport.result(), sourceReport.toString());
            assertEquals(MigrationResult.COMPLETED, targetReport.result(), targetReport.toString());
            final MigrationReport keptReport = kept.target.completion().get(60, TimeUnit.SECONDS);
            assertEquals(MigrationResult.COMPLETED, keptReport.result(), keptReport.toString());
            assertEquals(-1, MemoryDigest.firstDifference(h.sourceGuest.memory(), kept.guest.memory()));
            assertEquals(-1, MemoryDigest.firstDifference(h.sourceGuest.memory(), h.targetGuest.memory()));
        }
    }

    @Test
    void shouldPromoteAFollowerWhenTheTargetIsLostMidBulk() throws Exception
    {
        try (MigrationHarness h = new MigrationHarness(CONFIG);
            Follower promoted = new Follower(null);
            Follower other = new Follower(null))
        {
            final MigrationSource source = startAndAwaitAQuarter(h, s -> s.followerEndpoints(promoted.endpoint,
                other.endpoint).strategy(MigrationStrategy.AUTO).peerTimeoutMs(1_500));
            h.target.close(); // the target is gone: its process, its driver, everything
            final MigrationReport sourceReport = source.completion().get(100, TimeUnit.SECONDS);
            assertEquals(MigrationResult.COMPLETED, sourceReport.result(), sourceReport.toString());
            assertTrue(sourceReport.reason().contains("a follower took over") &&
                sourceReport.reason().contains(promoted.endpoint), sourceReport.reason());
            final MigrationReport promotedReport = promoted.target.completion().get(60, TimeUnit.SECONDS);
            assertEquals(MigrationResult.COMPLETED, promotedReport.result(), promotedReport.toString());
            assertTrue(promotedReport.reason().contains("a follower promoted to target"), promotedReport.reason());
            final MigrationReport otherReport = other.target.completion().get(60, TimeUnit.SECONDS);
            assertEquals(MigrationResult.COMPLETED, otherReport.result(), otherReport.toString());
            assertTrue(otherReport.reason().contains("as a follower"), otherReport.reason());
            assertEquals(-1, MemoryDigest.firstDifference(h.sourceGuest.memory(), promoted.guest.memory()));
            assertEquals(-1, MemoryDigest.firstDifference(h.sourceGuest.memory(), other.guest.memory()));
            assertEquals(h.sourceGuest.deviceState().checksum(), promoted.guest.deviceState().checksum());
        }
    }

    @Test
    void shouldReleaseFollowersWhenTheHandOverGoesToPostcopy() throws Exception
    {
        try (MigrationHarness h = new MigrationHarness(CONFIG);
            Follower follower = new Follower(null))
        {
            h.sourceGuest.vcpus().start();
            final MigrationReport[] reports = h.migrate(t -> t.postcopyEnabled(true),
                s -> s.followerEndpoints(follower.endpoint).strategy(MigrationStrategy.POSTCOPY), 100);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            final MigrationReport released = follower.target.completion().get(60, TimeUnit.SECONDS);
            assertEquals(MigrationResult.CANCELLED, released.result(), released.toString());
            assertEquals(ErrorCode.CANCELLED, released.errorCode());
            assertTrue(released.reason().contains("follower released"), released.reason());
            assertEquals(-1, MemoryDigest.firstDifference(h.sourceGuest.memory(), h.targetGuest.memory()));
        }
    }

    @Test
    void shouldRefuseFollowersThatCannotWork()
    {
        final MigrationException keyed = assertThrows(MigrationException.class, () -> new MigrationTarget.Context()
            .guestMemory(io.pagestream.api.guest.GuestMemory.allocate(1 << 20, 4096))
            .deviceState(io.pagestream.synthetic.SyntheticDeviceState.target()).listenEndpoint("127.0.0.1:0")
            .secretKey(new byte[32]).follower(true).conclude());
        assertEquals(ErrorCode.INVALID_CONFIGURATION, keyed.errorCode());
        assertTrue(keyed.getMessage().contains("follower"), keyed.getMessage());
        try (MigrationHarness h = new MigrationHarness(new SyntheticGuest.Config().sizeBytes(4L << 20)))
        {
            final MigrationException mac = assertThrows(MigrationException.class,
                () -> h.sourceContext().followerEndpoints("127.0.0.1:" + LoopbackPorts.next()).frameAuthentication(true)
                .conclude());
            assertTrue(mac.getMessage().contains("followerEndpoints"), mac.getMessage());
            final MigrationException same = assertThrows(MigrationException.class,
                () -> h.sourceContext().followerEndpoints(h.targetEndpoint).conclude());
            assertTrue(same.getMessage().contains("must not name the target endpoint"), same.getMessage());
        }
    }

    /**
     * Start the running guest, the target and a source capped at 15 MB/s, and return once a quarter of the guest
     * has gone out: mid-bulk.
     */
    private static MigrationSource startAndAwaitAQuarter(
        final MigrationHarness h, final java.util.function.Consumer<MigrationSource.Context> customise)
        throws InterruptedException
    {
        h.sourceGuest.vcpus().start();
        h.startTarget(t -> { });
        final MigrationSource source = h.startSource(s -> customise.accept(s.maxBandwidthBytesPerSec(15_000_000)));
        final long pages = h.sourceGuest.memory().pageCount();
        while (source.progress().pagesTransferred() < pages / 4 && !source.completion().isDone())
        {
            Thread.sleep(5);
        }
        return source;
    }

    /** A follower with its own guest and media driver (or the given external one). */
    private static final class Follower implements AutoCloseable
    {
        final SyntheticGuest guest = SyntheticGuest.createTarget(CONFIG);
        final String endpoint = "127.0.0.1:" + LoopbackPorts.next();
        final MigrationTarget target;
        private boolean closed;

        Follower(final String aeronDirectory)
        {
            final MigrationTarget.Context ctx = new MigrationTarget.Context()
                .guestMemory(guest.memory())
                .deviceState(guest.deviceState())
                .listenEndpoint(endpoint)
                .urgentEndpoint("127.0.0.1:" + LoopbackPorts.next())
                .follower(true)
                .allowUnauthenticated(true)
                .idleStrategy(new SleepingMillisIdleStrategy(0));
            if (null != aeronDirectory)
            {
                ctx.aeronDirectoryName(aeronDirectory);
            }
            target = PageStream.launchTarget(ctx);
        }

        public void close()
        {
            if (!closed)
            {
                closed = true;
                target.close();
                guest.close();
            }
        }
    }
}
