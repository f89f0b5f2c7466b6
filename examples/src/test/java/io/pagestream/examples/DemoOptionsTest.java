package io.pagestream.examples;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every bad option of the demo is a usage error: exit 2, one line naming the option and what it accepts, before any
 * process or thread starts (the checks run before the demo does anything else, so a run here that got past them
 * would start a target process and take seconds, not return 2).
 */
class DemoOptionsTest
{
    private static String[] run(final int expectedExit, final String... args)
    {
        final StringWriter err = new StringWriter();
        final StringWriter out = new StringWriter();
        final CommandLine commandLine = DemoMigration.commandLine();
        commandLine.setErr(new PrintWriter(err, true));
        commandLine.setOut(new PrintWriter(out, true));
        final int exit = commandLine.execute(args);
        assertEquals(expectedExit, exit, String.join(" ", args) + " -> " + err + out);
        return new String[]{err.toString(), out.toString()};
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--compression=foo|--compression|auto, none, delta, lz4",
        "--mode=bogus|--mode|auto, precopy, postcopy",
        "--mtu=100|--mtu|multiple of 32 from 4096 to 65504",
        "--downtime-ms=-5|--downtime-ms|from 1",
        "--memory=0|--memory|positive size",
        "--memory=fast|--memory|positive size",
        "--memory=1001k|--memory|whole number of 4k pages",
        "--bandwidth=fast|--bandwidth|1gbit",
        "--bandwidth=1kbit|--bandwidth|at least 64 KiB/s",
        "--page-size=8k|--page-size|4k or 2m",
        "--workload=busy|--workload|idle, hotset, uniform, sequential",
        "--dirty-log=kvm|--dirty-log|auto, userfaultfd, software",
        "--fault-path=magic|--fault-path|auto, userfaultfd, software",
        "--fill=1.5|--fill|from 0 to 1",
        "--vcpus=0|--vcpus|from 1 to 256",
        "--lanes=17|--lanes|from 1 to 16",
        "--lane-threads|--lane-threads|--lanes 2 or more",
        "--security=rot13|--security|none, auth, encrypt",
        "--role=observer|--role|source, target",
        "--target=nohost|--target|host:port",
        "--listen=127.0.0.1:99999|--listen|host:port",
        "--device-state=2g|--device-state|at most 1g",
        "--key-file=/nonexistent/key|--key-file|readable file",
        "--dirty-rate=-1|--dirty-rate|from 0 to",
        "--max-rounds=x|--max-rounds|x",
        "--targets=0|--targets|from 1 to 17",
        "--follower-loss=0.1|--follower-loss|--targets 2 or more",
        "--loss=0.9|--loss|from 0 to 0.5",
    })
    void shouldRefuseABadOptionInOneLineWithExitTwo(final String arg, final String option, final String expected)
    {
        final long start = System.nanoTime();
        final String err = run(2, arg, "--no-auth")[0];
        final long ms = (System.nanoTime() - start) / 1_000_000;
        assertEquals(1, err.strip().lines().count(), "one line: " + err);
        assertTrue(err.contains(option), "names the option: " + err);
        assertTrue(err.contains(expected), "says what is accepted (" + expected + "): " + err);
        assertFalse(err.contains("\tat "), "no stack trace: " + err);
        assertTrue(ms < 1_000, "refused in " + ms + " ms");
    }

    @Test
    void shouldRefuseContradictions()
    {
        assertTrue(run(2, "--mode=postcopy", "--no-postcopy", "--no-auth")[0].contains("contradict"));
        assertTrue(run(2, "--security=auth", "--no-auth")[0].contains("--security"));
        assertTrue(run(2, "--parent=a.snap", "--no-auth")[0].contains("--to-file too"));
        assertTrue(run(2, "--to-file=a.snap", "--parent=a.snap", "--no-auth")[0].contains("another file"));
        assertTrue(run(2, "--to-file=a.snap", "--clone", "--no-auth")[0].contains("run no migration"));
        assertTrue(run(2, "--from-file=a.snap", "--target=127.0.0.1:9", "--no-auth")[0].contains("run no migration"));
        assertTrue(run(2, "--to-file=a.snap", "--from-file=b.snap", "--no-auth")[0].contains("not both"));
        assertTrue(run(2, "--clone", "--role=target", "--no-auth")[0].contains("--clone"));
        assertTrue(run(2, "--targets=3", "--target=127.0.0.1:9", "--no-auth")[0].contains("--targets"));
    }

    @Test
    void shouldPrintAVersion()
    {
        final String out = run(0, "--version")[1];
        assertTrue(out.startsWith("pagestream-demo "), out);
        assertTrue(out.contains("Java " + Runtime.version().feature()), out);
        assertTrue(out.contains("kernel paths: "), out);
    }

    @Test
    void shouldListExitCodesInHelp()
    {
        final String out = run(0, "--help")[1];
        assertTrue(out.contains("Exit codes:") && out.contains("2   usage error"), out);
    }
}
