package io.pagestream.examples;

import io.pagestream.PageStream;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.junit.jupiter.api.Test;
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
 * A target process killed (SIGKILL) in the middle of a migration: the source notices within its peer timeout,
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

    @Test
    @Timeout(180)
    void shouldRevertWhenTheTargetProcessDiesAndMigrateAgainAfterwards() throws Exception
    {
        try (SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config()
            .sizeBytes(256L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(10_000)))
        {
            guest.vcpus().start();
            final String endpoint = "127.0.0.1:" + DemoJar.freePort();
            final Process doomed = startTarget(endpoint);
            final long[] killedAtNs = new long[1];
            final MigrationReport report;
            try (MigrationSource source = PageStream.launchSource(context(guest, endpoint).listener(
                new MigrationListener()
                {
                    public void onPhaseChange(final MigrationPhase previous, final MigrationPhase next)
                    {
                        if (next == MigrationPhase.BULK)
                        {
                            new Thread(() ->
                            {
                                try
                                {
                                    Thread.sleep(300);
                                }
                                catch (final InterruptedException ignore)
                                {
                                    // kill anyway
                                }
                                killedAtNs[0] = System.nanoTime();
                                doomed.destroyForcibly();
                            }).start();
                        }
                    }
                })))
            {
                report = source.completion().get(60, TimeUnit.SECONDS);
            }
            final long noticedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAtNs[0]);
            assertTrue(doomed.waitFor(10, TimeUnit.SECONDS));

            assertEquals(MigrationResult.FAILED, report.result(), report.toString());
            assertEquals(ErrorCode.PEER_LOST, report.errorCode(), report.reason());
            assertTrue(noticedMs < 5_000, "noticed " + noticedMs + " ms after the kill");
            assertFalse(guest.vcpus().isPaused());
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
