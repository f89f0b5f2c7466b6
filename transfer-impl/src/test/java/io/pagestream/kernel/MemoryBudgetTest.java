package io.pagestream.kernel;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The admission check's figures: /proc/meminfo and cgroup files parsed, the budget the least of what applies, and
 * this machine's read for real.
 */
class MemoryBudgetTest
{
    private static final String MEMINFO = "MemTotal:       24576000 kB\nMemFree:        20000000 kB\n" +
        "MemAvailable:   22000000 kB\nHugePages_Total:     512\nHugePages_Free:      100\nHugepagesize:       2048 kB\n";

    @Test
    void shouldParseMeminfoAndCgroupFiles()
    {
        assertEquals(22_000_000L * 1024, MemoryBudget.meminfoBytes(MEMINFO, "MemAvailable"));
        assertEquals(100, MemoryBudget.meminfoBytes(MEMINFO, "HugePages_Free"));
        assertEquals(-1, MemoryBudget.meminfoBytes(MEMINFO, "Nonexistent"));
        assertEquals(Long.MAX_VALUE, MemoryBudget.number("max\n"));
        assertEquals(1073741824L, MemoryBudget.number("1073741824\n"));
        assertEquals(-1, MemoryBudget.number(""));
    }

    @Test
    void shouldTakeTheLeastOfMemAvailableAndTheCgroupsRoom()
    {
        final MemoryBudget limited = new MemoryBudget(20L << 30, 1L << 30, 300L << 20, "cgroup v1 /x", 100L << 21);
        assertEquals((1L << 30) - (300L << 20), limited.availableBytes(false));
        assertEquals(100L << 21, limited.availableBytes(true), "huge pages come from their own pool");
        assertTrue(limited.describe().contains("cgroup v1 /x limit 1024.0 MiB with 300.0 MiB in use"),
            limited.describe());
        final MemoryBudget unlimited = new MemoryBudget(20L << 30, 9223372036854771712L, 5L << 30, "cgroup v1 /", -1);
        assertEquals(20L << 30, unlimited.availableBytes(false), "v1's 'no limit' is a huge number");
        assertEquals(Long.MAX_VALUE, unlimited.availableBytes(true));
        final MemoryBudget overrun = new MemoryBudget(20L << 30, 1L << 30, 2L << 30, "cgroup v2 /y", -1);
        assertEquals(0, overrun.availableBytes(false));
    }

    @Test
    void shouldReadThisMachine()
    {
        final MemoryBudget now = MemoryBudget.now();
        System.out.println("memory budget here: " + now.describe());
        assertTrue(now.availableBytes(false) > 0 && now.availableBytes(false) < Long.MAX_VALUE, now.describe());
    }
}
