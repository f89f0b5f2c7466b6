package io.pagestream.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo's snapshot and clone modes on the packaged jar: a live snapshot with an incremental on top, restored and
 * mapped in a second process and compared with the memory at the pause; a truncated file refused; a clone verified
 * with both guests running.
 */
class DemoSnapshotIT
{
    private static String run(final int expectedExit, final String... args) throws Exception
    {
        final Path output = Files.createTempFile("pagestream-demo", ".out");
        try
        {
            final List<String> command = DemoJar.command(args);
            final Process demo = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(output.toFile()).start();
            assertTrue(demo.waitFor(240, TimeUnit.SECONDS), "demo finished");
            final String text = Files.readString(output, StandardCharsets.UTF_8);
            System.out.println(text);
            assertEquals(expectedExit, demo.exitValue(), text);
            return text;
        }
        finally
        {
            Files.deleteIfExists(output);
        }
    }

    private static Path dir() throws Exception
    {
        final Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) ? Files.createTempDirectory(shm, "demo-snap") :
            Files.createTempDirectory("demo-snap");
    }

    @Test
    @Timeout(300)
    void shouldSnapshotIncrementallyRestoreInAnotherProcessAndRefuseATruncatedFile() throws Exception
    {
        final Path dir = dir();
        final Path base = dir.resolve("base.snap");
        final Path inc = dir.resolve("inc.snap");
        try
        {
            final String out = run(0, "--memory=256m", "--to-file=" + inc, "--parent=" + base);
            assertTrue(out.contains("verified          true"), out);
            assertTrue(out.contains(base + ": full"), out);
            assertTrue(out.contains(inc + ": incremental to "), out);
            assertTrue(out.contains("[restore] RESTORED ") && out.contains("[restore] MAPPED "), out);
            assertTrue(out.contains("running (a snapshot is not a move)"), out);

            try (RandomAccessFile raf = new RandomAccessFile(base.toFile(), "rw"))
            {
                raf.setLength(raf.length() - 100);
            }
            final String refused = run(1, "--from-file=" + inc);
            assertTrue(refused.contains("SNAPSHOT_INVALID") && refused.contains("needs its parent") &&
                refused.contains("incomplete"), refused);
        }
        finally
        {
            Files.deleteIfExists(inc);
            Files.deleteIfExists(base);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    @Timeout(300)
    void shouldCloneAndVerifyWithBothGuestsRunning() throws Exception
    {
        final String out = run(0, "--memory=256m", "--clone");
        assertTrue(out.contains("verified          true"), out);
        assertTrue(out.contains("cloned as "), out);
        assertTrue(out.contains("the source guest runs on"), out);
        assertTrue(out.contains("memory at the switchover"), out);
    }
}
