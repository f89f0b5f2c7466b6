package io.pagestream.examples;

import io.pagestream.CutAtCommit;
import io.pagestream.LossyDriver;
import io.pagestream.PageStream;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationTarget;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.testing.SlowDeviceState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The source process killed (SIGKILL) during post-copy, while the target's guest runs and still lacks pages: the
 * target must report the guest lost, with its vCPUs stopped at a missing page, and never carry on over pages that
 * did not arrive.
 */
class SourceKilledIT
{

    private static Process demo(final String... args) throws Exception
    {
        return new ProcessBuilder(DemoJar.command(args)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /** A demo process whose output nobody reads (discarded, so it never blocks on a full pipe). */
    private static Process quietDemo(final String... args) throws Exception
    {
        return new ProcessBuilder(DemoJar.command(args)).redirectError(ProcessBuilder.Redirect.INHERIT)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    @ParameterizedTest
    @ValueSource(strings = { "userfaultfd", "software" })
    @Timeout(180)
    void shouldReportGuestLostWhenTheSourceDiesDuringPostcopy(final String faultPath) throws Exception
    {
        org.junit.jupiter.api.Assumptions.assumeTrue(
            !"userfaultfd".equals(faultPath) || io.pagestream.kernel.UserFaultFd.isAvailable(), "no userfaultfd here");
        final String endpoint = "127.0.0.1:" + DemoJar.freePort();
        final String shape = "--memory=256m";
        final Process target = demo("--role=target", "--listen=" + endpoint, "--urgent=127.0.0.1:" + DemoJar.freePort(),
            shape, "--workload=uniform", "--dirty-rate=50000", "--peer-timeout-ms=500", "--recovery-timeout-ms=2000",
            "--no-auth", "--fault-path=" + faultPath);
        final BufferedReader targetOut = new BufferedReader(
            new InputStreamReader(target.getInputStream(), StandardCharsets.UTF_8));
        assertTrue(targetOut.readLine().startsWith("READY"));

        // Post-copy after the bulk pass, with the push slow enough that many pages are still missing at the kill.
        final Process source = demo("--target=" + endpoint, "--control=127.0.0.1:" + DemoJar.freePort(), shape,
            "--workload=uniform", "--dirty-rate=100000", "--mode=postcopy", "--bandwidth=400mbit",
            "--peer-timeout-ms=500", "--recovery-timeout-ms=2000", "--no-auth");
        final List<String> lines = new ArrayList<>();
        String line;
        long killedAtNs = 0;
        while (null != (line = targetOut.readLine()))
        {
            lines.add(line);
            if (line.equals("RUNNING POSTCOPY"))
            {
                Thread.sleep(200); // let the guest run here for a moment first
                source.destroyForcibly();
                killedAtNs = System.nanoTime();
            }
        }
        assertTrue(target.waitFor(30, TimeUnit.SECONDS), "target process ended");
        assertTrue(killedAtNs != 0, "the target ran in post-copy before the kill: " + lines);
        final long reportedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAtNs);

        final String result = lines.stream().filter(l -> l.startsWith("RESULT")).findFirst().orElse("");
        assertTrue(result.startsWith("RESULT FAILED GUEST_LOST"), "target said: " + lines);
        // The kernel fault path holds the vCPUs at the missing pages; the software one makes awaitPage throw, which
        // stops them.
        final String stopped = "userfaultfd".equals(faultPath) ? "VCPUS BLOCKED" : "VCPUS STOPPED";
        assertTrue(lines.stream().anyMatch(l -> l.startsWith(stopped) && l.contains("never arrived")),
            "the target's vCPUs stopped at a missing page: " + lines);
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("DIGEST")), "no guest memory presented as migrated");
        assertEquals(1, target.exitValue());
        assertTrue(reportedMs < 15_000, "reported " + reportedMs + " ms after the kill");
        source.waitFor(10, TimeUnit.SECONDS);
    }

    /** An unauthenticated target in this JVM, on a port the kernel chooses. */
    private static MigrationTarget.Context localTarget(final SyntheticGuest guest)
    {
        return new MigrationTarget.Context().guestMemory(guest.memory()).deviceState(guest.deviceState())
            .listenEndpoint("127.0.0.1:0").allowUnauthenticated(true);
    }

    /** A new source process migrates its guest of {@code memory} into {@code target}, to the end. */
    private static void migrateToTheEnd(final MigrationTarget target, final String memory) throws Exception
    {
        final Process source = quietDemo("--target=" + target.listenEndpoint(), "--control=127.0.0.1:0",
            "--memory=" + memory, "--no-auth");
        final MigrationReport report = target.completion().get(120, TimeUnit.SECONDS);
        assertEquals(MigrationResult.COMPLETED, report.result(), report.toString());
        assertTrue(source.waitFor(60, TimeUnit.SECONDS));
        assertEquals(3, source.exitValue(), "completed, not verified by this target: exit code 3");
    }

    private static void assertNeverRan(final MigrationTarget target)
    {
        final MigrationPhase ran = target.readyToRun().getNow(null);
        assertTrue(ran != MigrationPhase.POSTCOPY && ran != MigrationPhase.COMPLETE,
            "the target never ran the guest: " + ran);
    }

    /**
     * The source process is SIGKILLed while the target (here, in this JVM) is in {@code phase}, before any hand-over:
     * the target reports PEER_LOST within its peer timeout and never runs the guest; a new target then takes a
     * migration from a new source process to the end.
     */
    @ParameterizedTest(name = "source killed in {0}")
    @EnumSource(value = MigrationPhase.class, names = { "BULK", "ITERATE" })
    @Timeout(180)
    void shouldNeverRunTheGuestWhenTheSourceDiesBeforeTheHandOver(final MigrationPhase phase) throws Exception
    {
        final SyntheticGuest.Config shape = new SyntheticGuest.Config().sizeBytes(256L << 20);
        try (SyntheticGuest guest = SyntheticGuest.createTarget(shape);
            MigrationTarget target = PageStream.launchTarget(localTarget(guest).postcopyEnabled(true)
                .peerTimeoutMs(1_000)))
        {
            // Slow enough, and dirtying enough, that each phase lasts a while.
            final Process source = quietDemo("--target=" + target.listenEndpoint(), "--control=127.0.0.1:0",
                "--memory=256m", "--workload=hotset", "--dirty-rate=40000", "--mode=precopy",
                "--bandwidth=" + (phase == MigrationPhase.ITERATE ? "2gbit" : "400mbit"),
                "--peer-timeout-ms=1000", "--no-auth");
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (target.progress().phase() != phase && System.nanoTime() < deadline)
            {
                Thread.sleep(1);
            }
            final MigrationPhase killedIn = target.progress().phase();
            source.destroyForcibly();
            final long killedAtNs = System.nanoTime();
            assertEquals(phase, killedIn, "killed in the phase meant");
            final MigrationReport report = target.completion().get(30, TimeUnit.SECONDS);
            final long reportedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAtNs);
            assertEquals(MigrationResult.FAILED, report.result(), report.toString());
            assertEquals(ErrorCode.PEER_LOST, report.errorCode(), report.toString());
            assertNeverRan(target);
            assertTrue(reportedMs < 5_000, "reported " + reportedMs + " ms after the kill");
            source.waitFor(10, TimeUnit.SECONDS);
        }

        // The next migration: a fresh target, a new source process, to the end.
        try (SyntheticGuest guest = SyntheticGuest.createTarget(shape);
            MigrationTarget target = PageStream.launchTarget(localTarget(guest)))
        {
            migrateToTheEnd(target, "256m");
        }
    }

    /**
     * The source process is SIGKILLed in SETUP, before its hello reached the target: the target saw nothing, keeps
     * listening (no report, the guest not run), and the same target then takes a migration from a new source to the
     * end.
     */
    @Test
    @Timeout(180)
    void shouldKeepListeningWhenTheSourceDiesBeforeItsHelloAndTakeTheNextOne() throws Exception
    {
        try (SyntheticGuest guest = SyntheticGuest.createTarget(new SyntheticGuest.Config().sizeBytes(64L << 20));
            MigrationTarget target = PageStream.launchTarget(localTarget(guest).peerTimeoutMs(1_000)))
        {
            final Process doomed = quietDemo("--target=" + target.listenEndpoint(), "--control=127.0.0.1:0",
                "--memory=64m", "--no-auth");
            Thread.sleep(100); // its JVM is still starting: nothing sent yet
            doomed.destroyForcibly();
            assertTrue(doomed.waitFor(10, TimeUnit.SECONDS));
            Thread.sleep(2_000); // twice the peer timeout
            assertEquals(MigrationPhase.SETUP, target.progress().phase(), "still listening");
            assertFalse(target.completion().isDone(), "nothing to report: no migration started");
            assertFalse(target.readyToRun().isDone(), "the guest not run");

            migrateToTheEnd(target, "64m");
        }
    }

    /**
     * The source process is SIGKILLed during the hand-over: while the target restores the device state (stop-and-copy,
     * before it says COMPLETE), or once COMMIT is on its way but dropped at the target's driver (after COMPLETE). The
     * target cannot know whether the source committed, so it never runs the guest: PEER_LOST, or COMMIT_UNKNOWN after
     * {@code recoveryTimeoutMs} for the embedder to resolve.
     */
    @ParameterizedTest(name = "source killed {0}")
    @ValueSource(strings = { "in stop-and-copy", "after COMPLETE, before COMMIT" })
    @Timeout(180)
    void shouldNeverRunTheGuestWhenTheSourceDiesDuringTheHandOver(final String when) throws Exception
    {
        final boolean commitLost = when.startsWith("after");
        final CutAtCommit cut = new CutAtCommit();
        try (SyntheticGuest guest = SyntheticGuest.createTarget(new SyntheticGuest.Config().sizeBytes(64L << 20));
            LossyDriver driver = new LossyDriver(LossyDriver.NO_LOSS, cut, LossyDriver.NO_LOSS);
            // In stop-and-copy the restore takes 800 ms, before the target says COMPLETE: the kill lands in it.
            MigrationTarget target = PageStream.launchTarget(localTarget(guest)
                .deviceState(SlowDeviceState.slowToRestore(guest.deviceState(), commitLost ? 0 : 800))
                .peerTimeoutMs(1_000).recoveryTimeoutMs(2_000)
                .aeronDirectoryName(commitLost ? driver.directory : null)))
        {
            final Process source = quietDemo("--target=" + target.listenEndpoint(), "--control=127.0.0.1:0",
                "--memory=64m", "--workload=hotset", "--mode=precopy", "--peer-timeout-ms=1000", "--no-auth");
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline &&
                (commitLost ? !cut.cut : target.progress().phase() != MigrationPhase.STOP_AND_COPY))
            {
                Thread.sleep(0, 200_000);
            }
            source.destroyForcibly();
            assertTrue(commitLost ? cut.cut : target.progress().phase() == MigrationPhase.STOP_AND_COPY,
                "killed " + when);
            final MigrationReport report = target.completion().get(30, TimeUnit.SECONDS);
            assertEquals(MigrationResult.FAILED, report.result(), report.toString());
            assertTrue(report.errorCode() == ErrorCode.COMMIT_UNKNOWN ||
                (!commitLost && report.errorCode() == ErrorCode.PEER_LOST), report.toString());
            assertNeverRan(target);
            System.out.println("source killed " + when + ": " + report);
            source.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    @Timeout(120)
    void shouldRefuseASourceWithADifferentKeyAndKeepItsGuestRunning() throws Exception
    {
        final Path targetKey = java.nio.file.Files.createTempFile("pagestream-target", ".key");
        final Path sourceKey = java.nio.file.Files.createTempFile("pagestream-source", ".key");
        java.nio.file.Files.writeString(targetKey, "the target's secret, 32 bytes!!");
        java.nio.file.Files.writeString(sourceKey, "the source's secret, different!!");
        final String endpoint = "127.0.0.1:" + DemoJar.freePort();
        final Process target = demo("--role=target", "--listen=" + endpoint, "--urgent=127.0.0.1:" + DemoJar.freePort(),
            "--memory=64m", "--key-file=" + targetKey);
        final BufferedReader targetOut = new BufferedReader(
            new InputStreamReader(target.getInputStream(), StandardCharsets.UTF_8));
        assertTrue(targetOut.readLine().startsWith("READY"));

        final Path report = java.nio.file.Files.createTempFile("pagestream-demo-wrong-key", ".json");
        final Process source = new ProcessBuilder(DemoJar.command("--target=" + endpoint,
            "--control=127.0.0.1:" + DemoJar.freePort(), "--memory=64m", "--key-file=" + sourceKey,
            "--report-json=" + report)).redirectErrorStream(true).start();
        final String sourceOutput = new String(source.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(source.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, source.exitValue(), sourceOutput);
        assertTrue(sourceOutput.contains("AUTHENTICATION_FAILED") && sourceOutput.contains("failed authentication"),
            sourceOutput);
        assertTrue(sourceOutput.contains("guest on source   running"), sourceOutput);

        final List<String> lines = new ArrayList<>();
        String line;
        while (null != (line = targetOut.readLine()))
        {
            lines.add(line);
        }
        assertTrue(target.waitFor(30, TimeUnit.SECONDS));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("RESULT FAILED AUTHENTICATION_FAILED")), lines.toString());
        assertEquals(1, target.exitValue());
    }
}
