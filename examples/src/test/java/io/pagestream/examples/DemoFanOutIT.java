package io.pagestream.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo's fan-out on the packaged jar: one guest to three target processes at once, one of them losing 5% of its
 * data frames, all verified; and a follower process killed mid-bulk, after which the target and the other follower
 * still complete and verify.
 */
class DemoFanOutIT
{
    private static final Pattern FOLLOWER_PID = Pattern.compile("^follower 2 process (\\d+) listening");

    @Test
    @Timeout(300)
    void shouldMigrateToThreeTargetsWithLossOnOneAndVerifyEach() throws Exception
    {
        final Process demo = new ProcessBuilder(DemoJar.command("--memory=256m", "--targets=3",
            "--follower-loss=0.05")).redirectErrorStream(true).start();
        final String out = new String(demo.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        System.out.println(out);
        assertTrue(demo.waitFor(240, TimeUnit.SECONDS));
        assertEquals(0, demo.exitValue(), out);
        assertTrue(out.contains("follower 1        verified") && out.contains("follower 2        verified"), out);
        assertTrue(out.contains("followers         2 of 2 verified"), out);
        assertTrue(out.contains("verified          true"), out);
        assertTrue(out.contains("(its driver drops 5% of data frames)"), out);
    }

    @Test
    @Timeout(300)
    void shouldCompleteForTheTargetAndTheOtherFollowerWhenOneIsKilledMidBulk() throws Exception
    {
        final String text = runAndKill(FOLLOWER_PID);
        assertTrue(text.contains("result            COMPLETED"), text);
        assertTrue(text.contains("target memory equals the source's final memory"), text);
        assertTrue(text.contains("follower 1        verified"), text);
        assertTrue(text.contains("follower 2        LOST"), text);
        assertTrue(text.contains("followers         1 of 2 verified"), text);
    }

    @Test
    @Timeout(300)
    void shouldPromoteAFollowerWhenTheTargetIsKilledMidBulk() throws Exception
    {
        final String text = runAndKill(TARGET_PID);
        assertTrue(text.contains("result            COMPLETED"), text);
        assertTrue(text.contains("a follower took over from a lost target"), text);
        assertTrue(text.contains("target LOST before its report"), text);
        assertTrue(text.contains("[follower 1] RESULT COMPLETED - completed (a follower promoted to target"), text);
        assertTrue(text.contains("follower 1        verified") && text.contains("follower 2        verified"), text);
        assertTrue(text.contains("followers         2 of 2 verified"), text);
    }

    private static final Pattern TARGET_PID = Pattern.compile("^target process (\\d+) listening");

    /**
     * Run a fan-out to three processes and kill the one the pattern finds once the bulk pass is under way.
     *
     * @return the demo's output; its exit code is 1 (not every process verified, and it says so).
     */
    private static String runAndKill(final Pattern victim) throws Exception
    {
        final Process demo = new ProcessBuilder(DemoJar.command("--memory=256m", "--targets=3",
            "--bandwidth=30MB", "--mode=precopy", "--peer-timeout-ms=2000")).redirectErrorStream(true).start();
        final StringBuilder out = new StringBuilder();
        long killed = -1;
        try (BufferedReader reader = new BufferedReader(
            new InputStreamReader(demo.getInputStream(), StandardCharsets.UTF_8)))
        {
            long victimPid = -1;
            String line;
            while (null != (line = reader.readLine()))
            {
                out.append(line).append('\n');
                final Matcher m = victim.matcher(line);
                if (m.find())
                {
                    victimPid = Long.parseLong(m.group(1));
                }
                // A progress line of the bulk pass: the migration is under way; kill now.
                if (killed < 0 && victimPid > 0 && line.startsWith("  ") && line.contains("BULK"))
                {
                    ProcessHandle.of(victimPid).ifPresent(ProcessHandle::destroyForcibly);
                    killed = victimPid;
                }
            }
        }
        System.out.println(out);
        assertTrue(demo.waitFor(240, TimeUnit.SECONDS));
        assertTrue(killed > 0, "a process was killed mid-bulk: " + out);
        assertEquals(1, demo.exitValue(), "not every process verified, and the exit code says so: " + out);
        return out.toString();
    }
}
