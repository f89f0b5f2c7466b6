package io.pagestream;

import io.aeron.driver.status.SystemCounterDescriptor;
import io.aeron.protocol.DataHeaderFlyweight;
import io.pagestream.api.MigrationContext;
import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetSocketAddress;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Migrations over three data lanes, for real over UDP: under every workload the target's memory ends identical and
 * both reports say three lanes; with seeded loss on one lane only, Aeron repairs that lane while the others carry on,
 * and the migration completes exactly; and a post-copy migration pushes on every lane. The same with every lane after
 * the first on a thread of its own ({@code laneThreads}): exact under every workload, with loss on one lane, under a
 * bandwidth cap the lanes share, and into a post-copy whose push is back on the agent's thread; the lanes' threads
 * are seen doing the sending.
 */
class DataLanesSystemTest
{
    private static final int LANES = 3;

    private static SyntheticGuest.Config config(final Workload workload)
    {
        return new SyntheticGuest.Config()
            .sizeBytes(48L << 20)
            .workload(workload)
            .dirtyRatePagesPerSec(5_000)
            .fillFraction(0.6)
            .seed(23);
    }

    @ParameterizedTest
    @EnumSource(Workload.class)
    @Timeout(120)
    void shouldMigrateWithIdenticalMemoryOverThreeLanes(final Workload workload) throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(config(workload)))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { }, s -> s.dataLanes(LANES), 100);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(LANES, reports[0].lanes());
            assertEquals(LANES, reports[1].lanes());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            assertEquals(harness.sourceGuest.deviceState().checksum(), harness.targetGuest.deviceState().checksum());
            assertEquals(reports[0].pagesSent(), reports[1].pagesSent(), "every page sent arrived");
            assertTrue(harness.errors.isEmpty(), harness.errors.toString());
        }
    }

    @Test
    @Timeout(120)
    void shouldCompleteExactlyWithLossOnOneLaneOnly() throws Exception
    {
        final int lossyStream = MigrationContext.DATA_STREAM_ID_DEFAULT + 1;
        final LossSystemTest.SeededLoss seeded = new LossSystemTest.SeededLoss(0.10, 1, 0x1A4E);
        final long[] otherLanesDropped = new long[1];
        final io.aeron.driver.ext.LossGenerator laneOneOnly =
            (final InetSocketAddress address, final UnsafeBuffer buffer, final int length) ->
            {
                final int streamId = buffer.getInt(DataHeaderFlyweight.STREAM_ID_FIELD_OFFSET, ByteOrder.LITTLE_ENDIAN);
                return streamId == lossyStream && seeded.shouldDropFrame(address, buffer, length);
            };
        try (LossyDriver lossy = new LossyDriver(laneOneOnly, LossyDriver.NO_LOSS, LossyDriver.NO_LOSS);
            MigrationHarness harness = new MigrationHarness(config(Workload.HOTSET)))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { },
                s -> s.aeronDirectoryName(lossy.directory).dataLanes(LANES), 100);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            final long retransmits = lossy.driver.context().systemCounters()
                .get(SystemCounterDescriptor.RETRANSMITS_SENT).get();
            assertTrue(seeded.dropped > 50, "frames of lane 1 really dropped: " + seeded.dropped);
            assertTrue(retransmits > 0, "Aeron repaired lane 1: " + retransmits + " retransmits");
            assertEquals(0, otherLanesDropped[0]);
            System.out.println("lane 1 lost " + seeded.dropped + " of " + seeded.seen + " frames, " + retransmits +
                " retransmits; " + reports[0]);
        }
    }

    @Test
    @Timeout(120)
    void shouldCompletePostcopyExactlyWithThePushOnEveryLane() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(PostCopySystemTest.busyGuest()))
        {
            final MigrationReport[] reports = PostCopySystemTest.migrateWithTargetGuestRunning(harness,
                t -> t.postcopyEnabled(true),
                PostCopySystemTest.capped(MigrationStrategy.POSTCOPY).andThen(s -> s.dataLanes(LANES)), true);
            PostCopySystemTest.assertCompletedExactly(harness, reports, MigrationMode.POSTCOPY);
            assertEquals(LANES, reports[0].lanes());
        }
    }

    /**
     * Every endpoint a side binds asks for port 0: the target's listen and urgent endpoints and the source's control
     * endpoint. The kernel's ports are what the target reports and what the lanes, the urgent lane and the control
     * stream use; a post-copy over three lanes needs all of them.
     */
    @Test
    @Timeout(120)
    void shouldMigrateOverPortsTheKernelChose() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(PostCopySystemTest.busyGuest()))
        {
            final MigrationSource.Context[] sourceContext = new MigrationSource.Context[1];
            final MigrationReport[] reports = PostCopySystemTest.migrateWithTargetGuestRunning(harness,
                t -> t.postcopyEnabled(true).listenEndpoint("127.0.0.1:0").urgentEndpoint(null),
                PostCopySystemTest.capped(MigrationStrategy.POSTCOPY).andThen(s -> sourceContext[0] = s
                    .dataLanes(LANES).targetEndpoint(harness.target.listenEndpoint()).controlEndpoint("127.0.0.1:0")),
                true);
            PostCopySystemTest.assertCompletedExactly(harness, reports, MigrationMode.POSTCOPY);
            assertEquals(LANES, reports[1].lanes());
            assertTrue(reports[1].faults() > 0, "the urgent lane served faults: " + reports[1]);
            assertTrue(harness.target.listenEndpoint().matches("127\\.0\\.0\\.1:[1-9][0-9]*"),
                harness.target.listenEndpoint());
            assertTrue(sourceContext[0].controlEndpoint().matches("127\\.0\\.0\\.1:[1-9][0-9]*"),
                sourceContext[0].controlEndpoint());
        }
    }

    @ParameterizedTest
    @EnumSource(Workload.class)
    @Timeout(120)
    void shouldMigrateWithIdenticalMemoryOverThreeLanesOnThreadsOfTheirOwn(final Workload workload) throws Exception
    {
        final LaneThreadWatch watch = new LaneThreadWatch();
        try (MigrationHarness harness = new MigrationHarness(config(workload)))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { },
                s -> s.dataLanes(LANES).laneThreads(true).listener(watch), 100);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(LANES - 1, reports[0].laneThreads(), reports[0].toString());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            assertEquals(harness.sourceGuest.deviceState().checksum(), harness.targetGuest.deviceState().checksum());
            assertEquals(reports[0].pagesSent(), reports[1].pagesSent(), "every page sent arrived");
            assertTrue(harness.errors.isEmpty(), harness.errors.toString());
            watch.assertLaneThreadsSent(LANES - 1);
        }
        watch.assertLaneThreadsGone();
    }

    @Test
    @Timeout(120)
    void shouldCompleteExactlyWithLossOnOneLaneOnItsOwnThread() throws Exception
    {
        final int lossyStream = MigrationContext.DATA_STREAM_ID_DEFAULT + 2;
        final LossSystemTest.SeededLoss seeded = new LossSystemTest.SeededLoss(0.10, 1, 0x1A4F);
        final io.aeron.driver.ext.LossGenerator laneTwoOnly =
            (final InetSocketAddress address, final UnsafeBuffer buffer, final int length) ->
            buffer.getInt(DataHeaderFlyweight.STREAM_ID_FIELD_OFFSET, ByteOrder.LITTLE_ENDIAN) == lossyStream &&
            seeded.shouldDropFrame(address, buffer, length);
        try (LossyDriver lossy = new LossyDriver(laneTwoOnly, LossyDriver.NO_LOSS, LossyDriver.NO_LOSS);
            MigrationHarness harness = new MigrationHarness(config(Workload.HOTSET)))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { },
                s -> s.aeronDirectoryName(lossy.directory).dataLanes(LANES).laneThreads(true), 100);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            assertTrue(seeded.dropped > 50, "frames of lane 2 really dropped: " + seeded.dropped);
        }
    }

    @Test
    @Timeout(120)
    void shouldHoldLanesOnThreadsOfTheirOwnToOneSharedCap() throws Exception
    {
        final long cap = 40L << 20;
        try (MigrationHarness harness = new MigrationHarness(config(Workload.UNIFORM)))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { },
                s -> s.dataLanes(LANES).laneThreads(true).maxBandwidthBytesPerSec(cap)
                    .compression(io.pagestream.api.Compression.NONE), 100);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            final double rate = reports[0].bytesOnWire() * 1000.0 / reports[0].totalTimeMs();
            assertTrue(rate <= cap * 1.10, "one cap for all lanes: " + rate + " B/s against " + cap);
            assertTrue(reports[0].bytesOnWire() > 16L << 20, "enough bytes to time: " + reports[0]);
        }
    }

    @Test
    @Timeout(120)
    void shouldCompletePostcopyExactlyAfterRoundsOnLaneThreads() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(PostCopySystemTest.busyGuest()))
        {
            final MigrationReport[] reports = PostCopySystemTest.migrateWithTargetGuestRunning(harness,
                t -> t.postcopyEnabled(true),
                PostCopySystemTest.capped(MigrationStrategy.AUTO)
                    .andThen(s -> s.dataLanes(LANES).laneThreads(true)), true);
            PostCopySystemTest.assertCompletedExactly(harness, reports, MigrationMode.HYBRID);
            assertEquals(LANES - 1, reports[0].laneThreads());
        }
    }

    /**
     * Cancelled in the middle of a bulk pass its lanes' threads are sending: by the time the report is delivered no
     * lane thread runs any more (the VMM may free guest memory then), and the guest runs on at the source.
     */
    @Test
    @Timeout(60)
    void shouldStopTheLaneThreadsBeforeTheReportOfACancelledMigration() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(config(Workload.HOTSET)))
        {
            harness.sourceGuest.vcpus().start();
            harness.startTarget(t -> { });
            final MigrationSource source = harness.startSource(s -> s.dataLanes(LANES).laneThreads(true)
                .maxBandwidthBytesPerSec(8L << 20).compression(io.pagestream.api.Compression.NONE));
            final java.util.List<String> aliveAtEnd = new java.util.concurrent.CopyOnWriteArrayList<>();
            final java.util.concurrent.CompletableFuture<MigrationReport> seen = source.completion().thenApply(report ->
            {
                for (final Thread thread : Thread.getAllStackTraces().keySet())
                {
                    if (thread.getName().startsWith("pagestream-lane-") && thread.isAlive())
                    {
                        aliveAtEnd.add(thread.getName());
                    }
                }
                return report;
            });
            while (source.progress().pagesTransferred() < 1_000)
            {
                Thread.onSpinWait();
            }
            source.cancel();
            final MigrationReport report = seen.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(MigrationResult.CANCELLED, report.result(), report.toString());
            assertTrue(aliveAtEnd.isEmpty(), "lane threads still running when the report was delivered: " +
                aliveAtEnd);
            harness.assertGuestRunsOnSource();
        }
    }

    /**
     * Looks, at each round's end, at the source's lane threads and what CPU they used.
     */
    private static final class LaneThreadWatch implements io.pagestream.api.MigrationListener
    {
        private final java.util.Map<String, Long> cpuNsByName = new java.util.concurrent.ConcurrentHashMap<>();

        public void onRoundComplete(
            final io.pagestream.api.policy.RoundFigures figures, final io.pagestream.api.policy.MigrationDecision decision)
        {
            final java.lang.management.ThreadMXBean bean = java.lang.management.ManagementFactory.getThreadMXBean();
            for (final Thread thread : Thread.getAllStackTraces().keySet())
            {
                if (thread.getName().startsWith("pagestream-lane-"))
                {
                    cpuNsByName.merge(thread.getName(), bean.getThreadCpuTime(thread.threadId()), Math::max);
                }
            }
        }

        void assertLaneThreadsSent(final int expected)
        {
            assertEquals(expected, cpuNsByName.size(), "lane threads seen: " + cpuNsByName);
            for (final java.util.Map.Entry<String, Long> entry : cpuNsByName.entrySet())
            {
                assertTrue(entry.getValue() > 1_000_000, entry.getKey() + " did the sending: " + cpuNsByName);
            }
        }

        void assertLaneThreadsGone()
        {
            for (final Thread thread : Thread.getAllStackTraces().keySet())
            {
                assertTrue(!thread.getName().startsWith("pagestream-lane-") || !thread.isAlive(),
                    "lane thread left running after close: " + thread.getName());
            }
        }
    }
}
