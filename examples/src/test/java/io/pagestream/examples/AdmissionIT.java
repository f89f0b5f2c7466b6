package io.pagestream.examples;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Admission up front: a target process whose memory cgroup cannot hold the guest's populated pages refuses it in the
 * handshake, before any page moves; both sides report INSUFFICIENT_MEMORY with the figures, and the guest keeps
 * running on the source. A sparse guest larger than the limit but whose populated pages fit is admitted.
 */
class AdmissionIT
{

    private static Process demo(final String... args) throws Exception
    {
        return new ProcessBuilder(DemoJar.command(args)).redirectErrorStream(true).start();
    }

    /** A v1 or v2 memory cgroup with a limit, or null where this process may not make one. */
    private static Path limitedCgroup(final long limitBytes)
    {
        final String name = "pagestream-admission-" + UUID.randomUUID();
        for (final String[] kind : new String[][]{
            {"/sys/fs/cgroup/memory", "memory.limit_in_bytes"}, {"/sys/fs/cgroup", "memory.max"}})
        {
            final Path root = Path.of(kind[0]);
            if (!Files.isDirectory(root) || !Files.exists(root.resolve("cgroup.procs")) ||
                (kind[1].equals("memory.max") && !Files.exists(root.resolve("cgroup.subtree_control"))))
            {
                continue;
            }
            try
            {
                final Path dir = Files.createDirectory(root.resolve(name));
                Files.writeString(dir.resolve(kind[1]), Long.toString(limitBytes));
                return dir;
            }
            catch (final Exception ex)
            {
                // not ours to make here: try the other kind
            }
        }
        return null;
    }

    private static BufferedReader output(final Process process)
    {
        return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    private static List<String> drain(final BufferedReader reader) throws Exception
    {
        final List<String> lines = new ArrayList<>();
        try (reader)
        {
            String line;
            while (null != (line = reader.readLine()))
            {
                lines.add(line);
            }
        }
        return lines;
    }

    /** The demo's target role, moved into the cgroup once it listens (its start-up is not charged to it). */
    private record Target(Process process, BufferedReader out)
    {
    }

    private static Target targetIn(final Path cgroup, final String endpoint, final String... options) throws Exception
    {
        final List<String> args = new ArrayList<>(List.of("--role=target", "--listen=" + endpoint,
            "--urgent=127.0.0.1:" + DemoJar.freePort(), "--workload=idle", "--no-auth"));
        args.addAll(List.of(options));
        final Process process = demo(args.toArray(new String[0]));
        final BufferedReader out = output(process);
        String first;
        while (null != (first = out.readLine()) && !first.startsWith("READY"))
        {
            System.out.println("[target] " + first);
        }
        Files.writeString(cgroup.resolve("cgroup.procs"), Long.toString(process.pid()));
        return new Target(process, out);
    }

    @Test
    @Timeout(240)
    void shouldRefuseAGuestTheTargetCannotHoldBeforeAnyPageMoves() throws Exception
    {
        final Path cgroup = limitedCgroup(1L << 30);
        Assumptions.assumeTrue(null != cgroup, "no memory cgroup can be made here (needs root and cgroup v1 or v2)");
        Process target = null;
        try
        {
            final String endpoint = "127.0.0.1:" + DemoJar.freePort();
            final Path targetReport = Files.createTempFile("pagestream-admission-target", ".json");
            final Target started = targetIn(cgroup, endpoint, "--memory=3g", "--report-json=" + targetReport);
            target = started.process();

            // 3 GiB at 90% data: 2.7 GiB would arrive into a process limited to 1 GiB.
            final Path report = Files.createTempFile("pagestream-admission-source", ".json");
            final Process source = demo("--target=" + endpoint, "--control=127.0.0.1:" + DemoJar.freePort(), "--memory=3g",
                "--fill=0.9", "--workload=hotset", "--no-auth", "--report-json=" + report);
            final String sourceOutput = String.join("\n", drain(output(source)));
            assertTrue(source.waitFor(120, TimeUnit.SECONDS));
            System.out.println(sourceOutput);
            assertEquals(1, source.exitValue(), sourceOutput);
            final String json = Files.readString(report, StandardCharsets.UTF_8);
            assertTrue(json.contains("\"result\": \"FAILED\"") && json.contains("INSUFFICIENT_MEMORY") &&
                json.contains("cannot hold this guest") && json.contains("limit 1024.0 MiB"), json);
            assertTrue(json.contains("\"pagesSent\": 0,"), "refused before any page moved: " + json);
            assertTrue(sourceOutput.contains("guest on source   running"), sourceOutput);

            final List<String> targetLines = drain(started.out());
            assertTrue(target.waitFor(30, TimeUnit.SECONDS));
            assertTrue(targetLines.stream().anyMatch(l -> l.startsWith("RESULT FAILED INSUFFICIENT_MEMORY")),
                targetLines.toString());
            final String targetJson = Files.readString(targetReport, StandardCharsets.UTF_8);
            assertTrue(targetJson.contains("\"errorCode\": \"INSUFFICIENT_MEMORY\"") &&
                targetJson.contains("\"role\": \"target\""), targetJson);
        }
        finally
        {
            if (null != target)
            {
                target.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(cgroup);
        }
    }

    @Test
    @Timeout(240)
    void shouldAdmitASparseGuestLargerThanTheLimitWhosePagesFit() throws Exception
    {
        final Path cgroup = limitedCgroup(1L << 30);
        Assumptions.assumeTrue(null != cgroup, "no memory cgroup can be made here (needs root and cgroup v1 or v2)");
        Process target = null;
        try
        {
            final String endpoint = "127.0.0.1:" + DemoJar.freePort();
            final Target started = targetIn(cgroup, endpoint, "--memory=4g");
            target = started.process();
            // 4 GiB guest, 5% data: 205 MiB arrive.
            final Process source = demo("--target=" + endpoint, "--control=127.0.0.1:" + DemoJar.freePort(), "--memory=4g",
                "--fill=0.05", "--workload=idle", "--no-auth");
            final String sourceOutput = String.join("\n", drain(output(source)));
            assertTrue(source.waitFor(120, TimeUnit.SECONDS));
            assertEquals(3, source.exitValue(), "completed, not verified (external target): " + sourceOutput);
            assertTrue(sourceOutput.contains("COMPLETED"), sourceOutput);
            drain(started.out());
            assertTrue(target.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, target.exitValue());
        }
        finally
        {
            if (null != target)
            {
                target.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(cgroup);
        }
    }
}
