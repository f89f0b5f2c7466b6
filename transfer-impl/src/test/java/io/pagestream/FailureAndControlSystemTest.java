package io.pagestream;

import io.pagestream.api.Compression;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.ThreadingMode;
import io.pagestream.api.policy.MigrationDecision;
import io.pagestream.status.CounterType;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.agrona.concurrent.AgentInvoker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a failed or cancelled migration leaves behind, and the threading and rate controls, over real UDP.
 */
class FailureAndControlSystemTest
{
    /** A listener that cancels the source, from the agent thread, as it enters a phase. */
    private static MigrationListener cancelOnEntry(
        final MigrationPhase phase, final AtomicReference<MigrationSource> sourceRef)
    {
        return new MigrationListener()
        {
            public void onPhaseChange(final MigrationPhase previous, final MigrationPhase next)
            {
                if (next == phase)
                {
                    while (null == sourceRef.get())
                    {
                        Thread.onSpinWait();
                    }
                    sourceRef.get().cancel();
                }
            }
        };
    }

    private static SyntheticGuest.Config idleGuest(final long sizeBytes)
    {
        return new SyntheticGuest.Config().sizeBytes(sizeBytes).workload(Workload.IDLE).fillFraction(0.6);
    }

    @ParameterizedTest
    @EnumSource(value = MigrationPhase.class, names = { "BULK", "ITERATE", "STOP_AND_COPY" })
    @Timeout(120)
    void shouldLeaveSourceRunningAndUnchangedWhenCancelled(final MigrationPhase cancelIn) throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(idleGuest(64L << 20)))
        {
            final long digestBefore = MemoryDigest.digest(harness.sourceGuest.memory());
            final AtomicReference<MigrationSource> sourceRef = new AtomicReference<>();
            final MigrationListener cancelOnEntry = cancelOnEntry(cancelIn, sourceRef);

            harness.startTarget(t -> { });
            sourceRef.set(harness.startSource(s -> s
                .listener(cancelOnEntry)
                // Three iterative rounds before stopping, so every phase is reached even for an idle guest.
                .policy(figures -> figures.round() < 3 ? MigrationDecision.CONTINUE : MigrationDecision.STOP_AND_COPY)));

            final MigrationReport sourceReport = harness.source.completion().get(60, TimeUnit.SECONDS);
            final MigrationReport targetReport = harness.target.completion().get(60, TimeUnit.SECONDS);

            assertEquals(MigrationResult.CANCELLED, sourceReport.result(), sourceReport.toString());
            assertEquals(ErrorCode.CANCELLED, sourceReport.errorCode());
            assertTrue(sourceReport.reason().contains(cancelIn.name()), sourceReport.reason());
            assertEquals(MigrationResult.CANCELLED, targetReport.result(), targetReport.toString());
            assertFalse(harness.sourceGuest.vcpus().isPaused(), "vCPUs resumed");
            assertEquals(0.0, harness.sourceGuest.vcpus().throttleFraction());
            assertFalse(harness.sourceGuest.isTracking(), "dirty tracking stopped");
            assertEquals(digestBefore, MemoryDigest.digest(harness.sourceGuest.memory()), "source memory unchanged");

            // A new migration of the same guest to a fresh target succeeds afterwards.
            harness.source.close();
            harness.target.close();
            try (SyntheticGuest freshTarget = SyntheticGuest.createTarget(idleGuest(64L << 20)))
            {
                final String endpoint = "127.0.0.1:" + LoopbackPorts.next();
                try (var target = PageStream.launchTarget(harness.targetContext()
                    .guestMemory(freshTarget.memory()).deviceState(freshTarget.deviceState())
                    .listenEndpoint(endpoint));
                    var source = PageStream.launchSource(harness.sourceContext().targetEndpoint(endpoint)))
                {
                    assertEquals(MigrationResult.COMPLETED, source.completion().get(60, TimeUnit.SECONDS).result());
                    assertEquals(MigrationResult.COMPLETED, target.completion().get(60, TimeUnit.SECONDS).result());
                    assertEquals(digestBefore, MemoryDigest.digest(freshTarget.memory()));
                }
            }
        }
    }

    @Test
    @Timeout(60)
    void shouldCancelInSetupAndLetTheSameTargetTakeTheNextSource() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(idleGuest(16L << 20)))
        {
            final long digestBefore = MemoryDigest.digest(harness.sourceGuest.memory());
            harness.startTarget(t -> { });
            // Cancelled before the handshake can finish: the source never paused or tracked anything.
            final MigrationSource first = PageStream.launchSource(harness.sourceContext());
            first.cancel();
            final MigrationReport cancelled = first.completion().get(30, TimeUnit.SECONDS);
            first.close();
            assertEquals(MigrationResult.CANCELLED, cancelled.result(), cancelled.toString());
            assertTrue(cancelled.reason().contains("SETUP"), cancelled.reason());
            assertFalse(harness.sourceGuest.vcpus().isPaused());
            assertFalse(harness.sourceGuest.isTracking());

            // The target is either still waiting for a hello or was told; a new source then migrates to it, or to a
            // fresh one if the target had been told and ended.
            final MigrationReport[] reports;
            if (harness.target.completion().isDone())
            {
                harness.target.close();
                reports = harness.migrate(t -> { }, s -> { }, 30);
            }
            else
            {
                harness.startSource(s -> { });
                reports = new MigrationReport[]{ harness.source.completion().get(30, TimeUnit.SECONDS),
                    harness.target.completion().get(30, TimeUnit.SECONDS) };
            }
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(digestBefore, MemoryDigest.digest(harness.targetGuest.memory()));
        }
    }

    @ParameterizedTest
    @EnumSource(value = MigrationPhase.class, names = { "BULK", "ITERATE", "STOP_AND_COPY" })
    @Timeout(120)
    void shouldRevertTheSourceWhenTheTargetCancels(final MigrationPhase cancelIn) throws Exception
    {
        // A target's cancel lands at its next duty cycle: each phase must last longer than that, so the guest is
        // busy (rounds carry pages), the link capped and the device state large.
        try (MigrationHarness harness = new MigrationHarness(new SyntheticGuest.Config().sizeBytes(64L << 20)
            .workload(Workload.HOTSET).dirtyRatePagesPerSec(10_000).fillFraction(0.6).deviceStateBytes(8 << 20)))
        {
            harness.sourceGuest.vcpus().start();
            final AtomicReference<io.pagestream.api.MigrationTarget> targetRef = new AtomicReference<>();
            targetRef.set(harness.startTarget(t -> t.listener(new MigrationListener()
            {
                public void onPhaseChange(final MigrationPhase previous, final MigrationPhase next)
                {
                    if (next == cancelIn)
                    {
                        targetRef.get().cancel();
                    }
                }
            })));
            harness.startSource(s -> s.maxBandwidthBytesPerSec(40_000_000).compression(Compression.NONE)
                .policy(figures -> figures.round() < 3 ? MigrationDecision.CONTINUE : MigrationDecision.STOP_AND_COPY));

            final MigrationReport targetReport = harness.target.completion().get(60, TimeUnit.SECONDS);
            final MigrationReport sourceReport = harness.source.completion().get(60, TimeUnit.SECONDS);
            assertEquals(MigrationResult.CANCELLED, targetReport.result(), targetReport.toString());
            assertTrue(targetReport.reason().contains(cancelIn.name()), targetReport.reason());
            assertEquals(MigrationResult.CANCELLED, sourceReport.result(), sourceReport.toString());
            assertTrue(sourceReport.reason().startsWith("target reported"), sourceReport.reason());
            assertEquals(MigrationPhase.CANCELLED, harness.target.readyToRun().get(5, TimeUnit.SECONDS));
            harness.assertGuestRunsOnSource();
        }
    }

    @Test
    @Timeout(60)
    void shouldKeepBusyGuestWritingAfterCancelInStopAndCopy() throws Exception
    {
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(64L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(10_000);
        try (MigrationHarness harness = new MigrationHarness(config))
        {
            harness.sourceGuest.vcpus().start();
            final AtomicReference<MigrationSource> sourceRef = new AtomicReference<>();
            harness.startTarget(t -> { });
            sourceRef.set(harness.startSource(s -> s.listener(cancelOnEntry(MigrationPhase.STOP_AND_COPY, sourceRef))));
            final MigrationReport report = harness.source.completion().get(60, TimeUnit.SECONDS);
            assertEquals(MigrationResult.CANCELLED, report.result(), report.toString());
            assertFalse(harness.sourceGuest.vcpus().isPaused());
            final long written = harness.sourceGuest.vcpus().pagesWritten();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (harness.sourceGuest.vcpus().pagesWritten() == written && System.nanoTime() < deadline)
            {
                Thread.sleep(5);
            }
            assertTrue(harness.sourceGuest.vcpus().pagesWritten() > written, "guest keeps running on the source");
        }
    }

    @Test
    @Timeout(60)
    void shouldFailWithClearReasonWhenTargetNeverAppears() throws Exception
    {
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(16L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(1_000);
        try (MigrationHarness harness = new MigrationHarness(config))
        {
            harness.sourceGuest.vcpus().start();
            final long start = System.nanoTime();
            harness.startSource(s -> s.connectTimeoutMs(1_000));
            final MigrationReport report = harness.source.completion().get(30, TimeUnit.SECONDS);
            final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

            assertEquals(MigrationResult.FAILED, report.result());
            assertEquals(ErrorCode.TARGET_UNREACHABLE, report.errorCode());
            assertTrue(report.reason().contains(harness.targetEndpoint), report.reason());
            assertTrue(elapsedMs < 10_000, "bounded: " + elapsedMs + " ms");
            assertFalse(harness.sourceGuest.vcpus().isPaused());
            assertFalse(harness.sourceGuest.isTracking());
        }
    }

    @Test
    @Timeout(60)
    void shouldRefuseTargetWithDifferentLayoutAndKeepSourceRunning() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(idleGuest(32L << 20));
            SyntheticGuest smaller = SyntheticGuest.createTarget(idleGuest(16L << 20)))
        {
            harness.startTarget(t -> t.guestMemory(smaller.memory()));
            harness.startSource(s -> { });
            final MigrationReport sourceReport = harness.source.completion().get(30, TimeUnit.SECONDS);
            final MigrationReport targetReport = harness.target.completion().get(30, TimeUnit.SECONDS);
            assertEquals(MigrationResult.FAILED, sourceReport.result());
            assertEquals(ErrorCode.LAYOUT_MISMATCH, sourceReport.errorCode(), sourceReport.reason());
            assertTrue(sourceReport.reason().contains("pageCount=8192"), sourceReport.reason());
            assertEquals(ErrorCode.LAYOUT_MISMATCH, targetReport.errorCode());
            assertFalse(harness.sourceGuest.vcpus().isPaused());
            assertFalse(harness.sourceGuest.isTracking());
        }
    }

    @Test
    @Timeout(120)
    void shouldMigrateWithApplicationDrivenInvokers() throws Exception
    {
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(64L << 20).workload(Workload.UNIFORM).dirtyRatePagesPerSec(5_000);
        try (MigrationHarness harness = new MigrationHarness(config))
        {
            harness.sourceGuest.vcpus().start();
            harness.startTarget(t -> t.threadingMode(ThreadingMode.INVOKER));
            harness.startSource(s -> s.threadingMode(ThreadingMode.INVOKER));
            assertTrue(null != harness.source.invoker() && null != harness.target.invoker());

            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!(harness.source.completion().isDone() && harness.target.completion().isDone()) &&
                System.nanoTime() < deadline)
            {
                if (harness.source.invoker().invoke() + harness.target.invoker().invoke() == 0)
                {
                    Thread.yield();
                }
            }
            final MigrationReport report = harness.source.completion().getNow(null);
            assertEquals(MigrationResult.COMPLETED, null == report ? null : report.result(), String.valueOf(report));
            assertEquals(MigrationResult.COMPLETED, harness.target.completion().getNow(null).result());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
        }
    }

    @Test
    @Timeout(120)
    void shouldStartNoThreadWithInvokersAndAnExternalDriver() throws Exception
    {
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(32L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(2_000);
        final PostCopySystemTest.ToggleLoss noLoss = new PostCopySystemTest.ToggleLoss();
        try (LossyDriver driver = new LossyDriver(noLoss, noLoss, noLoss);
            MigrationHarness harness = new MigrationHarness(config))
        {
            final java.util.Set<Long> before = new java.util.HashSet<>();
            Thread.getAllStackTraces().keySet().forEach(t -> before.add(t.threadId()));
            harness.startTarget(t -> t.threadingMode(ThreadingMode.INVOKER).aeronDirectoryName(driver.directory));
            harness.startSource(s -> s.threadingMode(ThreadingMode.INVOKER).aeronDirectoryName(driver.directory));
            final java.util.List<String> started = new java.util.ArrayList<>();
            for (final Thread t : Thread.getAllStackTraces().keySet())
            {
                if (!before.contains(t.threadId()) && t.isAlive())
                {
                    started.add(t.getName());
                }
            }
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!(harness.source.completion().isDone() && harness.target.completion().isDone()) &&
                System.nanoTime() < deadline)
            {
                if (harness.source.invoker().invoke() + harness.target.invoker().invoke() == 0)
                {
                    Thread.yield();
                }
            }
            assertEquals(MigrationResult.COMPLETED, harness.source.completion().getNow(null).result());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            assertTrue(started.stream().noneMatch(n -> n.contains("aeron") || n.contains("pagestream")),
                "threads started by two launches in INVOKER mode with an external driver: " + started);
        }
    }

    @Test
    @Timeout(120)
    void shouldStayBoundedAndCountBackPressureWhileTheTargetStopsConsuming() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(new SyntheticGuest.Config()
            .sizeBytes(256L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(10_000).fillFraction(0.9)))
        {
            // The target's agent is driven here and stops for 2 s mid-bulk; its driver, on a thread of its own, keeps
            // receiving until the receiver window is full: a host that is alive but not consuming.
            harness.startTarget(t -> t.threadingMode(ThreadingMode.INVOKER).driverOnAgentThread(false));
            harness.sourceGuest.vcpus().start();
            harness.startSource(s -> s.compression(Compression.NONE));
            final AgentInvoker target = harness.target.invoker();
            while (harness.source.progress().pagesTransferred() < 10_000)
            {
                target.invoke();
            }

            final long sourceThread = threadId("pagestream-source");
            final com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean)java.lang.management.ManagementFactory.getThreadMXBean();
            final long allocatedBefore = threads.getThreadAllocatedBytes(sourceThread);
            final long backPressureBefore = PageStream.counter(harness.source, CounterType.BACK_PRESSURE);
            final long sentBefore = harness.source.progress().pagesTransferred();
            Thread.sleep(2_000);
            final long sentDuringStall = harness.source.progress().pagesTransferred() - sentBefore;
            final long backPressure = PageStream.counter(harness.source, CounterType.BACK_PRESSURE) - backPressureBefore;
            final long allocated = threads.getThreadAllocatedBytes(sourceThread) - allocatedBefore;

            while (!harness.target.completion().isDone())
            {
                if (target.invoke() == 0)
                {
                    Thread.yield();
                }
            }
            final MigrationReport report = harness.source.completion().get(30, TimeUnit.SECONDS);
            assertEquals(MigrationResult.COMPLETED, report.result(), report.toString());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));

            // A stalled consumer holds the sender to its receiver window: a few hundred pages at most, not the guest.
            assertTrue(sentDuringStall < 2_000, "pages sent while the target consumed nothing: " + sentDuringStall);
            assertTrue(backPressure > 0, "back-pressure reported");
            assertTrue(allocated < 1_000_000, "the source agent allocated " + allocated + " bytes while stalled");
            System.out.println("stall: " + sentDuringStall + " pages sent, " + backPressure +
                " back-pressure events, " + allocated + " bytes allocated by the source agent in 2 s");
        }
    }

    private static long threadId(final String name)
    {
        for (final Thread t : Thread.getAllStackTraces().keySet())
        {
            if (t.getName().contains(name))
            {
                return t.getId();
            }
        }
        throw new IllegalStateException("no thread named " + name);
    }

    @Test
    @Timeout(120)
    void shouldHoldTheWireRateToTheBandwidthCap() throws Exception
    {
        final long capBytesPerSec = 40_000_000;
        try (MigrationHarness harness = new MigrationHarness(idleGuest(64L << 20)))
        {
            final MigrationReport[] reports = harness.migrate(t -> { },
                s -> s.maxBandwidthBytesPerSec(capBytesPerSec).downtimeTargetMs(1_000).compression(Compression.NONE), 90);
            final MigrationReport report = reports[0];
            assertEquals(MigrationResult.COMPLETED, report.result(), report.toString());
            final double achieved = report.bytesOnWire() * 1000.0 / report.totalTimeMs();
            assertTrue(report.bytesOnWire() > 30_000_000, "enough traffic to measure: " + report.bytesOnWire());
            assertTrue(achieved <= capBytesPerSec * 1.05, "achieved " + achieved + " B/s above cap " + capBytesPerSec);
            assertTrue(achieved >= capBytesPerSec * 0.5, "achieved " + achieved + " B/s far below cap");
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
        }
    }

    @Test
    @Timeout(300)
    void shouldMigrateSparseGuestLargerThan4GiB() throws Exception
    {
        final long sizeBytes = (4L << 30) + (512L << 20);
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(sizeBytes).workload(Workload.IDLE).fillFraction(0.01);
        try (MigrationHarness harness = new MigrationHarness(config))
        {
            final long lastPage = harness.sourceGuest.memory().pageCount() - 1;
            // Mark the last page, beyond 4 GiB, so indexing past int range is checked by content.
            org.agrona.UnsafeApi.putLong(harness.sourceGuest.memory().pageAddress(lastPage) + 8, 0xFEEDL);

            final MigrationReport[] reports = harness.migrate(t -> { }, s -> { }, 240);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertTrue(reports[0].zeroPages() > reports[0].rawPages() * 50, reports[0].toString());
            assertEquals(0xFEEDL, org.agrona.UnsafeApi.getLong(
                harness.targetGuest.memory().pageAddress(lastPage) + 8));
            assertEquals(MemoryDigest.digest(harness.sourceGuest.memory()),
                MemoryDigest.digest(harness.targetGuest.memory()));
        }
    }

    @Test
    @Timeout(120)
    void shouldCarryA16MiBDeviceStateIntact() throws Exception
    {
        final SyntheticGuest.Config config = idleGuest(32L << 20).deviceStateBytes(16 << 20);
        try (MigrationHarness harness = new MigrationHarness(config))
        {
            final MigrationReport[] reports = harness.migrate(t -> { }, s -> s.downtimeTargetMs(2_000), 90);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(16 << 20, reports[0].deviceStateBytes());
            assertEquals(16 << 20, harness.targetGuest.deviceState().lengthBytes());
            assertEquals(harness.sourceGuest.deviceState().checksum(), harness.targetGuest.deviceState().checksum());
        }
    }

    @Test
    @Timeout(60)
    void shouldRefuseDeviceStateLargerThanTheTargetAllowsAndResumeSource() throws Exception
    {
        final SyntheticGuest.Config config = idleGuest(16L << 20).deviceStateBytes(2 << 20);
        try (MigrationHarness harness = new MigrationHarness(config))
        {
            final MigrationReport[] reports = harness.migrate(t -> t.maxDeviceStateBytes(1 << 20), s -> { }, 30);
            assertEquals(MigrationResult.FAILED, reports[0].result());
            assertEquals(ErrorCode.DEVICE_STATE_FAILED, reports[0].errorCode(), reports[0].reason());
            assertTrue(reports[0].reason().contains("maxDeviceStateBytes 1048576"), reports[0].reason());
            assertFalse(harness.sourceGuest.vcpus().isPaused(), "paused for stop-and-copy, resumed on failure");
            assertTrue(reports[0].downtimeMs() >= 0);
        }
    }
}
