package io.pagestream.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = { "userfaultfd", "software" })
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
