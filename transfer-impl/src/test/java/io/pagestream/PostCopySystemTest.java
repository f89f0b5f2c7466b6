package io.pagestream;

import io.aeron.driver.ext.LossGenerator;
import io.pagestream.api.Compression;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.api.MigrationTarget;
import io.pagestream.status.CounterType;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.SyntheticVcpus;
import io.pagestream.synthetic.Workload;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Post-copy, the hybrid policy and auto-converge, over real UDP with vCPUs writing on both hosts.
 * <p>
 * The workload dirties memory several times faster than the bandwidth cap carries it, so pre-copy alone cannot
 * converge. After a post-copy switchover the target's vCPUs run against target memory through the fault path and
 * journal every write; the check is exact: undoing exactly those writes must give the source's final memory, and
 * every written word must still hold what was written.
 */
class PostCopySystemTest
{
    private static final long CAP_BYTES_PER_SEC = 32L << 20;
    private static final long FAULT_WAIT_NS = TimeUnit.SECONDS.toNanos(1);

    static SyntheticGuest.Config busyGuest()
    {
        return new SyntheticGuest.Config()
            .sizeBytes(64L << 20)
            .workload(Workload.UNIFORM)
            .dirtyRatePagesPerSec(50_000)
            .fillFraction(0.6)
            .seed(7);
    }

    static Consumer<MigrationSource.Context> capped(final MigrationStrategy strategy)
    {
        return s -> s.strategy(strategy)
            .compression(Compression.NONE)
            .maxBandwidthBytesPerSec(CAP_BYTES_PER_SEC)
            .maxRounds(6)
            .maxTimeMs(20_000);
    }

    @Test
    @Timeout(90)
    void shouldCompletePostcopyOnlyWithExactMemory() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busyGuest()))
        {
            final MigrationReport[] reports = migrateWithTargetGuestRunning(
                harness, t -> t.postcopyEnabled(true), capped(MigrationStrategy.POSTCOPY), true);
            assertCompletedExactly(harness, reports, MigrationMode.POSTCOPY);
            assertEquals(0, reports[0].switchRound(), reports[0].toString());
        }
    }

    @Test
    @Timeout(90)
    void shouldIgnoreCancelOnEitherSideOnceTheTargetRunsTheGuest() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busyGuest()))
        {
            final Thread canceller = new Thread(() ->
            {
                try
                {
                    while (null == harness.target || null == harness.source)
                    {
                        Thread.sleep(1);
                    }
                    if (harness.target.readyToRun().get(60, TimeUnit.SECONDS) == MigrationPhase.POSTCOPY)
                    {
                        // Pages the guest lacks exist only on the source now: neither side may walk away.
                        harness.source.cancel();
                        harness.target.cancel();
                    }
                }
                catch (final Exception ex)
                {
                    harness.onError(ex);
                }
            }, "canceller");
            canceller.start();
            final MigrationReport[] reports = migrateWithTargetGuestRunning(
                harness, t -> t.postcopyEnabled(true), capped(MigrationStrategy.POSTCOPY), true);
            canceller.join(5_000);
            assertCompletedExactly(harness, reports, MigrationMode.POSTCOPY);
        }
    }

    @Test
    @Timeout(90)
    void shouldSwitchToPostcopyWhenPrecopyDoesNotConverge() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busyGuest()))
        {
            final MigrationReport[] reports = migrateWithTargetGuestRunning(
                harness, t -> t.postcopyEnabled(true), capped(MigrationStrategy.AUTO), true);
            assertCompletedExactly(harness, reports, MigrationMode.HYBRID);
            assertTrue(reports[0].switchRound() >= 1, reports[0].toString());
            assertTrue(reports[0].reason().equals("completed"), reports[0].reason());
        }
    }

    @Test
    @Timeout(90)
    void shouldReportNotConvergedWithPrecopyOnlyAndKeepGuestRunning() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busyGuest()))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> t.postcopyEnabled(true),
                capped(MigrationStrategy.PRECOPY).andThen(s -> s.maxTimeMs(4_000)), 60);
            assertEquals(MigrationResult.FAILED, reports[0].result(), reports[0].toString());
            assertEquals(ErrorCode.NOT_CONVERGED, reports[0].errorCode());
            assertEquals(MigrationResult.FAILED, reports[1].result(), reports[1].toString());
            harness.assertGuestRunsOnSource();
            assertEquals(MigrationPhase.FAILED, harness.target.readyToRun().get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    @Timeout(120)
    void shouldConvergeByAutoConvergeAloneWithinDowntimeTarget() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busyGuest()))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { },
                capped(MigrationStrategy.AUTO).andThen(s -> s.postcopyAllowed(false).maxRounds(30).maxTimeMs(60_000)
                .downtimeTargetMs(500)), 100);
            final MigrationReport source = reports[0];
            assertEquals(MigrationResult.COMPLETED, source.result(), source.toString());
            assertEquals(MigrationMode.PRECOPY, source.mode());
            assertTrue(source.maxThrottle() >= 0.2, "auto-converge throttled: " + source);
            assertTrue(source.downtimeMs() <= source.downtimeTargetMs(), source.toString());
            assertEquals(MemoryDigest.digest(harness.sourceGuest.memory()),
                MemoryDigest.digest(harness.targetGuest.memory()));
            System.out.println("auto-converge: " + source);
        }
    }

    @Test
    @Timeout(60)
    void shouldRefusePostcopyStrategyWhenTargetDidNotEnableIt() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busyGuest()))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { }, capped(MigrationStrategy.POSTCOPY), 30);
            assertEquals(ErrorCode.MISSING_CAPABILITY, reports[0].errorCode(), reports[0].toString());
            assertTrue(reports[0].reason().contains("postcopyEnabled"), reports[0].reason());
            assertFalse(harness.sourceGuest.vcpus().isPaused());
        }
    }

    @Test
    @Timeout(90)
    void shouldDetectTargetWritesBeforeContentsArrivedWhenFaultPathIsBroken() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busyGuest()))
        {
            // A fault path that does not wait: the target's vCPUs write pages whose contents are still on the way.
            final MigrationReport[] reports = migrateWithTargetGuestRunning(
                harness, t -> t.postcopyEnabled(true), capped(MigrationStrategy.POSTCOPY), false);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            final SyntheticVcpus targetVcpus = harness.targetGuest.vcpus();
            targetVcpus.pause();
            final long mismatches = targetVcpus.verifyAndUndo();
            final boolean digestsEqual = MemoryDigest.digest(harness.sourceGuest.memory()) ==
                MemoryDigest.digest(harness.targetGuest.memory());
            assertTrue(mismatches > 0 || !digestsEqual,
                "the exact check must catch writes made before the page arrived (mismatches=" + mismatches + ")");
        }
    }

    @Test
    @Timeout(120)
    void shouldRecoverFromLinkCutDuringPostcopy() throws Exception
    {
        final ToggleLoss loss = new ToggleLoss();
        try (LossyDriver driver = new LossyDriver(loss, loss, loss);
            MigrationHarness harness = new MigrationHarness(busyGuest()))
        {
            final Thread cutter = new Thread(() -> cutLinkOnceInPostcopy(harness, loss, 1_500), "link-cutter");
            cutter.setDaemon(true);
            cutter.start();
            final MigrationReport[] reports = migrateWithTargetGuestRunning(harness,
                // Every frame encrypted and tagged: the resume re-keys, the urgent lane is sealed, requests signed.
                t -> t.postcopyEnabled(true).peerTimeoutMs(400).recoveryTimeoutMs(20_000).frameEncryption(true),
                capped(MigrationStrategy.POSTCOPY).andThen(s -> s.aeronDirectoryName(driver.directory).peerTimeoutMs(400)
                .recoveryTimeoutMs(20_000).frameEncryption(true)), true);
            cutter.join(5_000);
            assertTrue(loss.framesDropped > 0, "the link really was cut");
            assertCompletedExactly(harness, reports, MigrationMode.POSTCOPY);
            assertTrue(reports[0].recoveries() >= 1 && reports[1].recoveries() >= 1,
                "both sides recovered: " + reports[0] + " / " + reports[1]);
        }
    }

    @Test
    @Timeout(90)
    void shouldReportGuestLostWhenSourceNeverComesBack() throws Exception
    {
        final ToggleLoss loss = new ToggleLoss();
        try (LossyDriver driver = new LossyDriver(loss, loss, loss);
            MigrationHarness harness = new MigrationHarness(busyGuest()))
        {
            final Thread cutter = new Thread(() -> cutLinkOnceInPostcopy(harness, loss, Long.MAX_VALUE / 2),
                "link-cutter");
            cutter.setDaemon(true);
            cutter.start();
            final MigrationReport[] reports = migrateWithTargetGuestRunning(harness,
                t -> t.postcopyEnabled(true).peerTimeoutMs(300).recoveryTimeoutMs(1_500),
                capped(MigrationStrategy.POSTCOPY).andThen(s -> s.aeronDirectoryName(driver.directory).peerTimeoutMs(300)
                .recoveryTimeoutMs(1_500)), true);
            final MigrationReport target = reports[1];
            assertEquals(MigrationResult.FAILED, target.result(), target.toString());
            assertEquals(ErrorCode.GUEST_LOST, target.errorCode(), target.toString());
            assertEquals(ErrorCode.GUEST_LOST, reports[0].errorCode(), reports[0].toString());
            assertTrue(harness.sourceGuest.vcpus().isPaused(), "the source never resumes a guest the target ran");

            // Faults on missing pages now fail instead of returning over pages that never arrived.
            long missing = -1;
            for (long p = 0; p < harness.targetGuest.memory().pageCount() && missing < 0; p++)
            {
                if (!harness.target.isPageReceived(p))
                {
                    missing = p;
                }
            }
            assertTrue(missing >= 0, "some pages never arrived");
            final long missingPage = missing;
            final MigrationException lost = org.junit.jupiter.api.Assertions.assertThrows(MigrationException.class,
                () -> harness.target.awaitPage(missingPage, FAULT_WAIT_NS));
            assertEquals(ErrorCode.GUEST_LOST, lost.errorCode());
            harness.targetGuest.vcpus().close();
            assertTrue(null != harness.targetGuest.vcpus().guestLost(), "the target's vCPUs stopped on the loss");
        }
    }

    static void cutLinkOnceInPostcopy(final MigrationHarness harness, final ToggleLoss loss, final long cutMs)
    {
        try
        {
            while (null == harness.target || harness.target.readyToRun().getNow(null) != MigrationPhase.POSTCOPY)
            {
                if (null != harness.target && harness.target.readyToRun().isDone())
                {
                    return;
                }
                Thread.sleep(5);
            }
            Thread.sleep(100);
            loss.dropAll = true;
            Thread.sleep(cutMs);
            loss.dropAll = false;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Launch the target, start the source's guest, launch the source; once the target may run the guest, start the
     * target's vCPUs through the fault path (or, if {@code waitForPages} is false, through one that does not wait),
     * journalling their writes.
     */
    static MigrationReport[] migrateWithTargetGuestRunning(
        final MigrationHarness harness,
        final Consumer<MigrationTarget.Context> targetCustomise,
        final Consumer<MigrationSource.Context> sourceCustomise,
        final boolean waitForPages) throws Exception
    {
        final MigrationTarget target = harness.startTarget(targetCustomise);
        final SyntheticVcpus targetVcpus = harness.targetGuest.vcpus();
        targetVcpus.journal().faultPath(waitForPages ?
            pageIndex ->
            {
                while (!target.awaitPage(pageIndex, FAULT_WAIT_NS))
                {
                    Thread.onSpinWait();
                }
            } :
            pageIndex -> { });
        return runGuestOnTargetAndMigrate(harness, target, sourceCustomise);
    }

    /**
     * The same with the kernel's fault path: the target's vCPU threads only read and write memory, and block in the
     * kernel on a page not there yet.
     */
    static MigrationReport[] migrateWithKernelFaults(
        final MigrationHarness harness,
        final Consumer<MigrationTarget.Context> targetCustomise,
        final Consumer<MigrationSource.Context> sourceCustomise) throws Exception
    {
        final MigrationTarget target = harness.startTarget(targetCustomise.andThen(t -> t.kernelFaultPath(true)));
        harness.targetGuest.vcpus().journal();
        return runGuestOnTargetAndMigrate(harness, target, sourceCustomise);
    }

    private static MigrationReport[] runGuestOnTargetAndMigrate(
        final MigrationHarness harness,
        final MigrationTarget target,
        final Consumer<MigrationSource.Context> sourceCustomise) throws Exception
    {
        final SyntheticVcpus targetVcpus = harness.targetGuest.vcpus();
        target.readyToRun().thenAccept(phase ->
        {
            if (phase == MigrationPhase.POSTCOPY || phase == MigrationPhase.COMPLETE)
            {
                targetVcpus.start();
            }
        });
        harness.sourceGuest.vcpus().start();
        Thread.sleep(100);
        harness.startSource(sourceCustomise);
        final MigrationReport sourceReport;
        try
        {
            sourceReport = harness.source.completion().get(100, TimeUnit.SECONDS);
        }
        catch (final java.util.concurrent.TimeoutException ex)
        {
            // Say where both sides stood, with every counter that moved, before failing.
            System.out.println("timed out: source " + harness.source.progress() + "; target " +
                harness.target.progress());
            for (final io.pagestream.status.CounterType c : io.pagestream.status.CounterType.values())
            {
                final long atSource = PageStream.counter(harness.source, c);
                final long atTarget = PageStream.counter(harness.target, c);
                if (atSource != 0 || atTarget != 0)
                {
                    System.out.println("  " + c + ": source " + atSource + ", target " + atTarget);
                }
            }
            throw ex;
        }
        final MigrationReport targetReport = target.completion().get(100, TimeUnit.SECONDS);
        return new MigrationReport[]{ sourceReport, targetReport };
    }

    static void assertCompletedExactly(
        final MigrationHarness harness, final MigrationReport[] reports, final MigrationMode mode)
    {
        final MigrationReport source = reports[0];
        final MigrationReport target = reports[1];
        assertEquals(MigrationResult.COMPLETED, source.result(), source.toString());
        assertEquals(MigrationResult.COMPLETED, target.result(), target.toString());
        assertEquals(mode, source.mode(), source.toString());
        assertEquals(mode, target.mode(), target.toString());
        assertTrue(harness.sourceGuest.vcpus().isPaused(), "the source's guest stays paused");
        assertTrue(source.postcopyPages() > 0, source.toString());
        assertTrue(source.faults() > 0 && source.faults() == target.faults(), source + " / " + target);
        assertTrue(source.faultP50Us() > 0 && source.faultP99Us() >= source.faultP50Us() &&
            source.faultMaxUs() >= source.faultP99Us(), source.toString());
        assertTrue(source.urgentPages() > 0, source.toString());
        assertEquals(source.faults(), PageStream.counter(harness.target, CounterType.FAULTS));

        final SyntheticVcpus targetVcpus = harness.targetGuest.vcpus();
        targetVcpus.pause();
        assertNull(targetVcpus.guestLost());
        final long writes = targetVcpus.journalledWrites();
        assertTrue(writes > 0, "the target's guest really ran and wrote");
        assertEquals(0, targetVcpus.verifyAndUndo(), "every write by the target's guest survived");
        assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()),
            "target memory minus its own writes equals the source's final memory");
        assertEquals(harness.sourceGuest.deviceState().checksum(), harness.targetGuest.deviceState().checksum());
        assertTrue(harness.errors.isEmpty(), harness.errors.toString());
        System.out.println(mode + ": " + source + "; target wrote " + writes + " words");
    }

    /**
     * Drops every frame, data and control, in both directions at the source's driver while {@link #dropAll} is set.
     */
    static final class ToggleLoss implements LossGenerator
    {
        volatile boolean dropAll;
        volatile long framesDropped;

        public boolean shouldDropFrame(final InetSocketAddress address, final UnsafeBuffer buffer, final int length)
        {
            if (dropAll)
            {
                framesDropped++;
                return true;
            }
            return false;
        }
    }
}
