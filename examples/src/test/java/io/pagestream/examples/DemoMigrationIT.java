package io.pagestream.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the README's main command on the packaged jar: a real two-process migration, then checks the JSON report.
 */
class DemoMigrationIT
{
    private static final List<String> KEYS = List.of("result", "reason", "verified", "mode", "guestBytes", "pageSize",
        "lanes", "laneThreads", "deviceSaveUs", "sourcePeakRssBytes", "targetPeakRssBytes", "unreadZeroPages", "dirtyLog",
        "faultPath", "totalTimeMs", "downtimeMs", "downtimeTargetMs", "rounds", "switchRound", "maxThrottle", "decision",
        "adjustments", "settings",
        "pagesSent",
        "bytesOnWire", "pagesByEncoding", "zero", "delta", "lz4", "raw", "postcopy", "faults", "faultP50Us",
        "faultP99Us", "faultMaxUs", "postcopyMs", "pages", "urgentPages", "recoveries");

    private static Process run(final Path report, final String... args) throws Exception
    {
        final List<String> command = DemoJar.command(args);
        command.add("--report-json=" + report);
        return new ProcessBuilder(command).inheritIO().start();
    }

    private static long number(final String json, final String key)
    {
        final Matcher m = Pattern.compile("\"" + key + "\": (-?\\d+)").matcher(json);
        assertTrue(m.find(), key + " missing in " + json);
        return Long.parseLong(m.group(1));
    }

    @Test
    @Timeout(300)
    void shouldMigrateBusyGuestBetweenTwoProcessesAndReportVerified() throws Exception
    {
        final Path report = Files.createTempFile("pagestream-demo", ".json");
        final Process demo = run(report, "--memory=256m", "--workload=hotset", "--dirty-rate=20000");
        assertTrue(demo.waitFor(240, TimeUnit.SECONDS), "demo finished");
        assertEquals(0, demo.exitValue(), "demo exit code");

        final String json = Files.readString(report, StandardCharsets.UTF_8);
        final List<String> keys = new ArrayList<>();
        final Matcher m = Pattern.compile("\"(\\w+)\":").matcher(json);
        while (m.find())
        {
            keys.add(m.group(1));
        }
        assertEquals(KEYS, keys, "exactly the documented keys, in order");
        assertTrue(json.contains("\"result\": \"COMPLETED\""), json);
        assertTrue(json.contains("\"verified\": true"), json);
        assertTrue(json.contains("\"mode\": \"precopy\""), json);
        assertEquals(256L << 20, number(json, "guestBytes"));
        assertTrue(number(json, "downtimeMs") <= number(json, "downtimeTargetMs"), json);
        assertTrue(number(json, "pagesSent") >= (256L << 20) / 4096, json);
        assertTrue(number(json, "zero") > 0 && number(json, "raw") > 0, json);
        assertTrue(number(json, "sourcePeakRssBytes") > 0 && number(json, "targetPeakRssBytes") > 0, json);
        assertTrue(number(json, "unreadZeroPages") > 0, "the guest's untouched pages were not read: " + json);
        assertTrue(json.contains("\"dirtyLog\": \"userfaultfd\""), "the kernel keeps the dirty log here: " + json);
    }

    @Test
    @Timeout(300)
    void shouldMigrateAGuestOfTwoMebibytePagesExactly() throws Exception
    {
        // The demo reserves the huge pages itself as root; elsewhere this run cannot happen, and says so.
        final long before = Math.max(0, io.pagestream.kernel.HugePages.total());
        org.junit.jupiter.api.Assumptions.assumeTrue(io.pagestream.kernel.HugePages.ensureFree(128),
            "128 free 2 MiB huge pages cannot be had here (needs root)");
        io.pagestream.kernel.HugePages.release(Math.max(0, io.pagestream.kernel.HugePages.total() - before));
        final Path report = Files.createTempFile("pagestream-demo-2m", ".json");
        final Process demo = run(report, "--memory=128m", "--page-size=2m", "--workload=hotset", "--dirty-rate=50");
        assertTrue(demo.waitFor(240, TimeUnit.SECONDS), "demo finished");
        final String json = Files.readString(report, StandardCharsets.UTF_8);
        assertEquals(0, demo.exitValue(), json);
        assertTrue(json.contains("\"verified\": true"), json);
        assertEquals(2L << 20, number(json, "pageSize"), json);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    @Timeout(300)
    void shouldMigrateOverThreeLanesAndSaySo(final boolean laneThreads) throws Exception
    {
        final Path report = Files.createTempFile("pagestream-demo-lanes", ".json");
        final Process demo = laneThreads ?
            run(report, "--memory=256m", "--workload=hotset", "--lanes=3", "--lane-threads") :
            run(report, "--memory=256m", "--workload=hotset", "--lanes=3");
        assertTrue(demo.waitFor(240, TimeUnit.SECONDS), "demo finished");
        final String json = Files.readString(report, StandardCharsets.UTF_8);
        assertEquals(0, demo.exitValue(), json);
        assertTrue(json.contains("\"verified\": true"), json);
        assertEquals(3, number(json, "lanes"), json);
        assertEquals(laneThreads ? 2 : 0, number(json, "laneThreads"), json);
    }

    @Test
    @Timeout(300)
    void shouldSwitchToPostcopyWhenTheGuestOutrunsTheLinkAndVerifyExactly() throws Exception
    {
        // The done-means run, scaled down: the guest dirties memory faster than the capped link carries it.
        final Path report = Files.createTempFile("pagestream-demo-hybrid", ".json");
        final Process demo = run(report, "--memory=128m", "--workload=uniform", "--dirty-rate=100000",
            "--bandwidth=400mbit");
        assertTrue(demo.waitFor(240, TimeUnit.SECONDS), "demo finished");
        final String json = Files.readString(report, StandardCharsets.UTF_8);
        assertEquals(0, demo.exitValue(), json);
        assertTrue(json.contains("\"result\": \"COMPLETED\""), json);
        assertTrue(json.contains("\"verified\": true"), json);
        assertTrue(json.contains("\"mode\": \"hybrid\"") || json.contains("\"mode\": \"postcopy\""), json);
        assertTrue(number(json, "faults") > 0, json);
        assertTrue(number(json, "faultP99Us") >= number(json, "faultP50Us") && number(json, "faultP50Us") > 0, json);
        assertTrue(number(json, "switchRound") >= 0, json);
        assertTrue(json.contains("\"faultPath\": \"userfaultfd\""), "the kernel's fault path by default: " + json);

        // The same with the cooperative fault path: the vCPUs ask PageStream before each write.
        final Path softwareReport = Files.createTempFile("pagestream-demo-software", ".json");
        final Process software = run(softwareReport, "--memory=128m", "--workload=uniform", "--dirty-rate=100000",
            "--bandwidth=400mbit", "--fault-path=software", "--dirty-log=software");
        assertTrue(software.waitFor(240, TimeUnit.SECONDS), "demo finished");
        final String softwareJson = Files.readString(softwareReport, StandardCharsets.UTF_8);
        assertEquals(0, software.exitValue(), softwareJson);
        assertTrue(softwareJson.contains("\"verified\": true"), softwareJson);
        assertTrue(softwareJson.contains("\"faultPath\": \"software\"") &&
            softwareJson.contains("\"dirtyLog\": \"software\""), softwareJson);
        assertTrue(number(softwareJson, "faults") > 0, softwareJson);

        // Pre-copy alone on the same settings cannot converge: it stops at its bound, the guest still on the source.
        final Path precopyReport = Files.createTempFile("pagestream-demo-precopy", ".json");
        final Process precopy = run(precopyReport, "--memory=128m", "--workload=uniform", "--dirty-rate=100000",
            "--bandwidth=400mbit", "--mode=precopy", "--max-time-ms=6000");
        assertTrue(precopy.waitFor(240, TimeUnit.SECONDS), "demo finished");
        final String failed = Files.readString(precopyReport, StandardCharsets.UTF_8);
        assertEquals(1, precopy.exitValue(), failed);
        assertTrue(failed.contains("\"result\": \"FAILED\""), failed);
        assertTrue(failed.contains("not converged"), failed);
        assertEquals(-1, number(failed, "switchRound"), failed);
    }

    @Test
    @Timeout(120)
    void shouldMigrateWithATagOnEveryFrame() throws Exception
    {
        final Path report = Files.createTempFile("pagestream-demo-auth", ".json");
        final Process demo = run(report, "--memory=128m", "--workload=hotset", "--security=auth");
        assertTrue(demo.waitFor(100, TimeUnit.SECONDS), "demo finished");
        final String json = Files.readString(report, StandardCharsets.UTF_8);
        assertEquals(0, demo.exitValue(), json);
        assertTrue(json.contains("\"verified\": true"), json);

        final Path sealed = Files.createTempFile("pagestream-demo-encrypt", ".json");
        final Process encrypted = run(sealed, "--memory=128m", "--workload=hotset", "--security=encrypt");
        assertTrue(encrypted.waitFor(100, TimeUnit.SECONDS), "demo finished");
        final String sealedJson = Files.readString(sealed, StandardCharsets.UTF_8);
        assertEquals(0, encrypted.exitValue(), sealedJson);
        assertTrue(sealedJson.contains("\"verified\": true"), sealedJson);

        final Process refused = run(Files.createTempFile("pagestream-demo-bad", ".json"), "--memory=64m",
            "--security=rot13");
        assertTrue(refused.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, refused.exitValue(), "an unknown level is a usage error");
    }

    @Test
    @Timeout(120)
    void shouldFailCleanlyWhenTheTargetIsNotThere() throws Exception
    {
        final Path report = Files.createTempFile("pagestream-demo-missing", ".json");
        final Process demo = run(report, "--memory=64m", "--workload=hotset", "--target=127.0.0.1:9", "--no-auth",
            "--max-time-ms=5000");
        assertTrue(demo.waitFor(90, TimeUnit.SECONDS), "demo finished");
        assertEquals(1, demo.exitValue());
        final String json = Files.readString(report, StandardCharsets.UTF_8);
        assertTrue(json.contains("\"result\": \"FAILED\""), json);
        assertTrue(json.contains("no target connected at 127.0.0.1:9"), json);
        assertTrue(json.contains("\"verified\": false"), json);

        // Against an external target, the demo will not run without a shared key unless told so.
        final Process refused = run(Files.createTempFile("pagestream-demo-nokey", ".json"), "--memory=64m",
            "--target=127.0.0.1:9");
        assertTrue(refused.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, refused.exitValue(), "a usage error");
    }

    @Test
    @Timeout(60)
    void shouldRefuseABadOptionFromTheJarInOneLineBeforeStartingAnything() throws Exception
    {
        final long start = System.nanoTime();
        final Process demo = new ProcessBuilder(DemoJar.command("--compression", "foo")).start();
        final String err = new String(demo.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        final String out = new String(demo.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(demo.waitFor(30, TimeUnit.SECONDS));
        final long ms = (System.nanoTime() - start) / 1_000_000;
        System.out.println("--compression foo: exit " + demo.exitValue() + " after " + ms + " ms (JVM start " +
            "included): " + err.strip());
        assertEquals(2, demo.exitValue(), err + out);
        assertEquals("pagestream-demo: --compression: 'foo' is not valid; expected one of auto, none, delta, lz4 " +
            "(--help for usage)", err.strip());
        assertTrue(out.isEmpty(), "nothing started, nothing printed: " + out);
        assertTrue(ms < 5_000, "refused at once: " + ms + " ms");
    }

    @Test
    @Timeout(180)
    void shouldTakeManagementCommandsOnStandardInput() throws Exception
    {
        final Path report = Files.createTempFile("pagestream-demo-control", ".json");
        final List<String> command = DemoJar.command("--memory=256m", "--workload=hotset",
            "--fill=0.9", "--compression=none", "--bandwidth=20MB", "--mode=precopy", "--control-stdin",
            "--report-json=" + report);
        final Process demo = new ProcessBuilder(command).redirectErrorStream(true).start();
        final java.io.BufferedReader lines = new java.io.BufferedReader(
            new java.io.InputStreamReader(demo.getInputStream(), StandardCharsets.UTF_8));
        final java.io.Writer commands = new java.io.OutputStreamWriter(demo.getOutputStream(), StandardCharsets.UTF_8);
        final StringBuilder seen = new StringBuilder();
        String line;
        int stage = 0;
        while (null != (line = lines.readLine()))
        {
            seen.append(line).append('\n');
            if (stage == 0 && line.contains("BULK"))
            {
                commands.write("hold\ncap bogus\ncap 200MB\n");
                commands.flush();
                stage = 1;
            }
            else if (stage == 1 && line.contains("SWITCHOVER HELD") && line.matches(".*left\\s+0 pages.*"))
            {
                commands.write("release\n");
                commands.flush();
                stage = 2;
            }
        }
        assertTrue(demo.waitFor(60, TimeUnit.SECONDS));
        final String out = seen.toString();
        assertEquals(0, demo.exitValue(), out);
        assertEquals(2, stage, out);
        assertTrue(out.contains("control: refused: not a rate: 'bogus'"), out);
        assertTrue(out.contains("control: applied maxBandwidth 200000000 B/s (200.0 MB/s)"), out);
        assertTrue(out.contains("control: applied switchover held"), out);
        assertTrue(out.contains("control: applied switchover released"), out);
        final String json = Files.readString(report, StandardCharsets.UTF_8);
        assertEquals(3, number(json, "adjustments"), json);
        assertTrue(json.contains("\"verified\": true"), json);
    }

    private static String stat(final Path dir) throws Exception
    {
        final Process stat = new ProcessBuilder(DemoJar.java(),
            "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow",
            "-cp", DemoJar.JAR, "io.pagestream.examples.PageStat",
            "--dir", dir.toString()).redirectErrorStream(true).start();
        final String out = new String(stat.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(stat.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, stat.exitValue(), out);
        return out;
    }

    @Test
    @Timeout(180)
    void shouldShowALiveMigrationsCountersToAnotherProcessAndKeepThemAfter() throws Exception
    {
        final Path dir = Files.createTempDirectory("pagestream-stat-it").resolve("driver");
        final Path report = Files.createTempFile("pagestream-demo-stat", ".json");
        final Process demo = run(report, "--memory=256m", "--workload=idle", "--fill=0.9", "--compression=none",
            "--bandwidth=20MB", "--driver-dir=" + dir);
        String live = "";
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && demo.isAlive())
        {
            if (Files.exists(dir.resolve("cnc.dat")))
            {
                live = stat(dir);
                if (live.contains("PRECOPY") && live.matches("(?s).*pages sent\\s+[1-9][0-9,]*.*"))
                {
                    break;
                }
            }
            Thread.sleep(200);
        }
        System.out.println("live: " + live);
        assertTrue(live.contains("driver running"), live);
        assertTrue(live.matches("(?s).*source state\\s+PRECOPY .*"), live);
        assertTrue(live.matches("(?s).*bandwidth cap B/s\\s+20,000,000 .*"), live);
        assertTrue(live.matches("(?s).*pages remaining\\s+[1-9][0-9,]* .*"), live);
        assertTrue(demo.waitFor(120, TimeUnit.SECONDS), "demo finished");
        assertEquals(0, demo.exitValue());
        final String after = stat(dir);
        System.out.println("after: " + after);
        assertTrue(after.contains("driver stopped"), after);
        assertTrue(after.matches("(?s).*source state\\s+DONE .*"), "kept with the last values: " + after);
        assertTrue(after.matches("(?s).*pages sent\\s+65,536 .*"), after);
        assertTrue(stat(Path.of(dir + "-target")).matches("(?s).*target state\\s+DONE .*"));
    }

    @Test
    @Timeout(60)
    void shouldEstimateWithoutStartingAMigration() throws Exception
    {
        final Path report = Files.createTempFile("pagestream-demo-estimate", ".json");
        final Process demo = run(report, "--estimate-only", "--memory=128m", "--workload=hotset", "--bandwidth=100MB",
            "--no-auth");
        assertTrue(demo.waitFor(45, TimeUnit.SECONDS), "estimate finished");
        assertEquals(0, demo.exitValue());
        final String json = Files.readString(report, StandardCharsets.UTF_8);
        assertTrue(number(json, "predictedTotalTimeMs") > 0 && number(json, "predictedDowntimeMs") >= 0, json);
        assertTrue(json.contains("\"predictedMode\": \"PRECOPY\""), json);
        assertEquals(100_000_000L, number(json, "linkBytesPerSec"));
        assertEquals(32768L, number(json, "pageCount"));
    }
}
