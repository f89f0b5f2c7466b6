package io.pagestream.examples;

import io.pagestream.PageStream;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.testing.SlowDeviceState;
import io.pagestream.synthetic.Workload;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A target process killed (SIGKILL) in each phase before the hand-over: the source notices within its peer timeout,
 * resumes its guest, stops tracking, and a second migration to a fresh target process succeeds.
 */
class TargetKilledIT
{
    private static final String MEMORY = "256m";
    private static final Path KEY_FILE = keyFile();

    private static Path keyFile()
    {
        try
        {
            final Path file = java.nio.file.Files.createTempFile("pagestream-killed", ".key");
            java.nio.file.Files.writeString(file, "a key shared by source and target");
            return file;
        }
        catch (final java.io.IOException ex)
        {
            throw new java.io.UncheckedIOException(ex);
        }
    }


    private static Process startTarget(final String endpoint) throws Exception
    {
        final Process process = new ProcessBuilder(DemoJar.command(
            "--role=target", "--listen=" + endpoint, "--memory=" + MEMORY, "--key-file=" + KEY_FILE))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
        final BufferedReader reader = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        final String line = reader.readLine();
        assertTrue(null != line && line.startsWith("READY"), "target said " + line);
        return process;
    }

    private static MigrationSource.Context context(final SyntheticGuest guest, final String endpoint) throws Exception
    {
        return new MigrationSource.Context()
            .guestMemory(guest.memory())
            .dirtyPageLog(guest.dirtyLog())
            .vcpuControl(guest.vcpus())
            .deviceState(guest.deviceState())
            .targetEndpoint(endpoint)
            .controlEndpoint("127.0.0.1:" + DemoJar.freePort())
            .secretKey(java.nio.file.Files.readAllBytes(KEY_FILE))
            .peerTimeoutMs(1_000)
            // Slow enough that the kill lands mid-bulk.
            .maxBandwidthBytesPerSec(50_000_000);
    }

    /**
     * The target process is SIGKILLed once the source has committed (its COMMIT dropped at the source's driver, so
     * the target said COMPLETE but never resumed): the source reports COMPLETED and keeps its guest paused for good,
     * never resuming it on its own; the paused copy is the state the target would have resumed, whole, for the VMM,
     * which alone can know the target is gone.
     */
    @org.junit.jupiter.api.Test
    @Timeout(120)
    void shouldKeepTheCommittedGuestPausedWhenTheTargetDiesBeforeItsCommitArrives() throws Exception
    {
        final io.pagestream.CutAtCommit cut = new io.pagestream.CutAtCommit();
        try (SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config()
            .sizeBytes(256L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(10_000));
            io.pagestream.LossyDriver driver = new io.pagestream.LossyDriver(cut, io.pagestream.LossyDriver.NO_LOSS,
                io.pagestream.LossyDriver.NO_LOSS))
        {
            guest.vcpus().start();
            final String endpoint = "127.0.0.1:" + DemoJar.freePort();
            final Process doomed = startTarget(endpoint);
            final Thread killer = new Thread(() ->
            {
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!cut.cut && System.nanoTime() < deadline)
                {
                    java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                }
                doomed.destroyForcibly();
            }, "target-killer");
            killer.start();
            final MigrationReport report;
            try (MigrationSource source = PageStream.launchSource(context(guest, endpoint)
                .aeronDirectoryName(driver.directory).maxBandwidthBytesPerSec(0)))
            {
                report = source.completion().get(60, TimeUnit.SECONDS);
            }
            killer.join(10_000);
            assertTrue(cut.cut, "COMMIT was sent and dropped");
            assertTrue(doomed.waitFor(10, TimeUnit.SECONDS));
            assertEquals(MigrationResult.COMPLETED, report.result(), "the source committed: " + report);
            assertTrue(guest.vcpus().isPaused(), "and never resumes its copy on its own");
            final long written = guest.vcpus().pagesWritten();
            Thread.sleep(100);
            assertEquals(written, guest.vcpus().pagesWritten(), "the paused copy is not running");
        }
    }

    /**
     * The target process is SIGKILLed as the source enters {@code phase} (300 ms into BULK, 200 ms into
     * STOP_AND_COPY while the source's device is still saving): the source notices within its peer timeout, resumes
     * its guest, stops tracking; the target never ran it; and a second migration to a fresh target process succeeds.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "target killed in {0}")
    @org.junit.jupiter.params.provider.EnumSource(value = MigrationPhase.class,
        names = { "SETUP", "BULK", "ITERATE", "STOP_AND_COPY" })
    @Timeout(180)
    void shouldRevertWhenTheTargetProcessDiesAndMigrateAgainAfterwards(final MigrationPhase phase) throws Exception
    {
        final boolean iterate = phase == MigrationPhase.ITERATE; // uniform writes: rounds follow the bulk pass
        try (SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config().sizeBytes(256L << 20)
            .workload(iterate ? Workload.UNIFORM : Workload.HOTSET).dirtyRatePagesPerSec(iterate ? 20_000 : 10_000)))
        {
            guest.vcpus().start();
            final String endpoint = "127.0.0.1:" + DemoJar.freePort();
            final Process doomed = startTarget(endpoint);
            final long[] killedAtNs = new long[1];
            final java.util.concurrent.CountDownLatch killed = new java.util.concurrent.CountDownLatch(1);
            final Runnable kill = () ->
            {
                killedAtNs[0] = System.nanoTime();
                doomed.destroyForcibly();
                killed.countDown();
            };
            final MigrationReport report;
            final MigrationSource.Context context = context(guest, endpoint).listener(new MigrationListener()
            {
                public void onPhaseChange(final MigrationPhase previous, final MigrationPhase next)
                {
                    if (next == phase)
                    {
                        final long delayMs = phase == MigrationPhase.BULK ? 300 :
                            phase == MigrationPhase.STOP_AND_COPY ? 200 : 0;
                        new Thread(() ->
                        {
                            java.util.concurrent.locks.LockSupport.parkNanos(
                                TimeUnit.MILLISECONDS.toNanos(delayMs));
                            kill.run();
                        }).start();
                    }
                }
            });
            if (iterate)
            {
                context.maxBandwidthBytesPerSec(0).downtimeTargetMs(20); // rounds, not the bulk pass, take the time
            }
            if (phase == MigrationPhase.STOP_AND_COPY)
            {
                // The device takes 800 ms to save: the guest stays paused long enough to kill in.
                context.deviceState(SlowDeviceState.slowToSave(guest.deviceState(), 800)).maxBandwidthBytesPerSec(0);
            }
            if (phase == MigrationPhase.SETUP)
            {
                kill.run(); // the source starts in SETUP: the target dies as it starts, before the handshake
            }
            try (MigrationSource source = PageStream.launchSource(context.connectTimeoutMs(2_000)))
            {
                report = source.completion().get(60, TimeUnit.SECONDS);
            }
            assertTrue(killed.await(10, TimeUnit.SECONDS), "the source reached " + phase + ": " + report);
            final long noticedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAtNs[0]);
            assertTrue(doomed.waitFor(10, TimeUnit.SECONDS));

            assertEquals(MigrationResult.FAILED, report.result(), report.toString());
            assertEquals(phase == MigrationPhase.SETUP ? ErrorCode.TARGET_UNREACHABLE : ErrorCode.PEER_LOST,
                report.errorCode(), report.toString());
            assertTrue(noticedMs < 5_000, "noticed " + noticedMs + " ms after the kill");
            assertFalse(guest.vcpus().isPaused(), "the guest runs on the source again");
            assertFalse(guest.isTracking());
            final long written = guest.vcpus().pagesWritten();
            Thread.sleep(100);
            assertTrue(guest.vcpus().pagesWritten() > written, "guest still running on the source");

            final String second = "127.0.0.1:" + DemoJar.freePort();
            final Process fresh = startTarget(second);
            try (MigrationSource source = PageStream.launchSource(context(guest, second).maxBandwidthBytesPerSec(0)))
            {
                final MigrationReport again = source.completion().get(120, TimeUnit.SECONDS);
                assertEquals(MigrationResult.COMPLETED, again.result(), again.toString());
            }
            assertTrue(fresh.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, fresh.exitValue(), "the fresh target completed");
        }
    }
}
