package io.pagestream.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.LinkedBlockingQueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo waits for its target process's lines, and stops waiting, naming the exit code, as soon as that process is
 * gone without the line (it used to wait out the whole timeout, 60 s for READY, after the target failed to launch).
 */
class AwaitTargetLineTest
{
    @Test
    @Timeout(20)
    void shouldGiveUpAtOnceWhenTheTargetProcessExitedWithoutTheLine() throws Exception
    {
        final Process dead = new ProcessBuilder("sh", "-c", "exit 7").start();
        dead.waitFor();
        final long startNs = System.nanoTime();
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> DemoMigration.awaitLine(dead, new LinkedBlockingQueue<>(), "READY", 60));
        assertTrue(ex.getMessage().contains("exited with code 7 before printing READY"), ex.getMessage());
        assertTrue(System.nanoTime() - startNs < 5_000_000_000L, "well before the 60 s timeout");
    }

    @Test
    @Timeout(20)
    void shouldStillReturnTheLinesAnExitedProcessPrinted() throws Exception
    {
        final Process done = new ProcessBuilder("sh", "-c", "exit 0").start();
        done.waitFor();
        final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        lines.add("RESULT COMPLETED - 0");
        lines.add("MEMORY 1 2 3");
        assertEquals("MEMORY 1 2 3", DemoMigration.awaitLine(done, lines, "MEMORY", 60));
    }
}
