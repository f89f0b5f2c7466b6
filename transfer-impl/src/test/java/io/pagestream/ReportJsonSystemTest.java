package io.pagestream;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.guest.VcpuControl;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import io.pagestream.testing.SlowDeviceState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The library writes its report as JSON on both sides (reportFile), with a schema version, the migration id both
 * sides agree on, the error code, the cause's text down its chain, and the device state's save and restore times.
 */
class ReportJsonSystemTest
{
    private static SyntheticGuest.Config guest()
    {
        return new SyntheticGuest.Config().sizeBytes(32L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(2_000)
            .fillFraction(0.5).seed(5);
    }

    private static String value(final String json, final String key)
    {
        final Matcher m = Pattern.compile("\"" + key + "\": (\"[^\"]*\"|-?[0-9.]+)").matcher(json);
        assertTrue(m.find(), key + " missing in " + json);
        return m.group(1).replace("\"", "");
    }

    @Test
    @Timeout(60)
    void shouldWriteBothReportsAsJsonWithOneMigrationId(@TempDir final Path dir) throws Exception
    {
        final Path sourceFile = dir.resolve("source.json");
        final Path targetFile = dir.resolve("target.json");
        try (MigrationHarness harness = new MigrationHarness(guest()))
        {
            harness.sourceGuest.vcpus().start();
            // A device that takes 20 ms to restore: the target's report names what the restore took.
            final MigrationReport[] reports = harness.migrate(t -> t.reportFile(targetFile)
                .deviceState(SlowDeviceState.slowToRestore(harness.targetGuest.deviceState(), 20)),
                s -> s.reportFile(sourceFile), 30);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            // Written before the future completed: both files are there now.
            final String source = Files.readString(sourceFile, StandardCharsets.UTF_8);
            final String target = Files.readString(targetFile, StandardCharsets.UTF_8);
            assertEquals(reports[0].toJson(), source);
            assertEquals(reports[1].toJson(), target);
            assertEquals("1", value(source, "schemaVersion"));
            assertEquals("source", value(source, "role"));
            assertEquals("target", value(target, "role"));
            assertNotEquals("0", value(source, "migrationId"));
            assertEquals(value(source, "migrationId"), value(target, "migrationId"));
            assertEquals(Long.toHexString(harness.source.migrationId()), value(source, "migrationId"));
            assertEquals("COMPLETED", value(target, "result"));
            assertEquals("", value(source, "errorCode"));
            assertEquals(String.valueOf(reports[0].pagesSent()), value(source, "pagesSent"));
            assertTrue(reports[1].deviceRestoreUs() >= 20_000, reports[1].toString());
            assertEquals(String.valueOf(reports[1].deviceRestoreUs()), value(target, "deviceRestoreUs"));
            assertEquals(String.valueOf(reports[0].deviceSaveUs()), value(source, "deviceSaveUs"));
            assertTrue(reports[0].downtimeMs() >= 20, "the restore, before COMPLETE, is downtime: " + reports[0]);
            assertEquals("0", value(target, "staleDiscardUs"), "no post-copy, nothing discarded");
            assertEquals("0", value(source, "deviceRestoreUs"), "the target's figure");
            assertTrue(source.trim().startsWith("{") && source.trim().endsWith("}"), source);
            assertEquals(Files.list(dir).count(), 2, "no partial file left behind");
        }
    }

    @Test
    @Timeout(60)
    void shouldKeepTheCauseOfAFailedCallbackInTheReportAndItsJson(@TempDir final Path dir) throws Exception
    {
        final Path sourceFile = dir.resolve("source.json");
        try (MigrationHarness harness = new MigrationHarness(guest()))
        {
            final VcpuControl real = harness.sourceGuest.vcpus();
            final VcpuControl failing = new VcpuControl()
            {
                public void pause()
                {
                    throw new IllegalStateException("the VMM could not pause vCPU 3",
                        new java.io.IOException("KVM_RUN returned EINTR \"twice\""));
                }

                public void resume()
                {
                    real.resume();
                }

                public void throttle(final double fraction)
                {
                    real.throttle(fraction);
                }
            };
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { },
                s -> s.vcpuControl(failing).reportFile(sourceFile), 30);
            final MigrationReport report = reports[0];
            assertEquals(MigrationResult.FAILED, report.result(), report.toString());
            assertEquals(ErrorCode.HYPERVISOR_CALLBACK_FAILED, report.errorCode(), report.toString());
            assertTrue(report.cause().contains("java.lang.IllegalStateException: the VMM could not pause vCPU 3") &&
                report.cause().contains("<- java.io.IOException: KVM_RUN returned EINTR \"twice\""), report.cause());
            final String json = Files.readString(sourceFile, StandardCharsets.UTF_8);
            assertEquals("HYPERVISOR_CALLBACK_FAILED", value(json, "errorCode"));
            assertTrue(json.contains("KVM_RUN returned EINTR \\\"twice\\\""), "escaped: " + json);
            harness.assertGuestRunsOnSource();
        }
    }
}
