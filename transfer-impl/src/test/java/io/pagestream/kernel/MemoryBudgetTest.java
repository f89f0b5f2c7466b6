package io.pagestream.kernel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The admission check's figures: /proc/meminfo and cgroup files parsed, the cgroup hierarchy walked from the
 * process's cgroup up to the root (a directory tree stands in for /sys/fs/cgroup), the budget the least of what
 * applies, and this machine's read for real.
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

    private static void write(final Path dir, final String file, final long value) throws IOException
    {
        write(dir, file, value + "\n");
    }

    private static void write(final Path dir, final String file, final String text) throws IOException
    {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(file), text);
    }

    @Test
    void shouldTakeTheLevelLeavingTheLeastRoomWalkingUpTheCgroupV2Hierarchy(@TempDir final Path dir)
        throws IOException
    {
        final Path root = dir.resolve("cgroup");
        // Above the hierarchy's root: never read.
        write(dir, "memory.max", 1L << 20);
        write(dir, "memory.current", 0);
        // The root cgroup has no memory.max; /a leaves 512 MiB, /a/b 1 GiB, the process's own /a/b/c has no limit.
        write(root, "memory.current", 10L << 30);
        write(root.resolve("a"), "memory.max", 4L << 30);
        write(root.resolve("a"), "memory.current", 3584L << 20);
        write(root.resolve("a/b"), "memory.max", 2L << 30);
        write(root.resolve("a/b"), "memory.current", 1L << 30);
        write(root.resolve("a/b/c"), "memory.max", "max\n");
        write(root.resolve("a/b/c"), "memory.current", 100L << 20);

        final MemoryBudget parentBinds = MemoryBudget.read(MEMINFO, "0::/a/b/c\n", root);
        assertEquals(512L << 20, parentBinds.availableBytes(false), parentBinds.describe());
        assertTrue(parentBinds.describe().contains("cgroup v2 /a limit 4096.0 MiB with 3584.0 MiB in use"),
            parentBinds.describe());
        assertEquals(100L << 21, parentBinds.availableBytes(true), "huge pages come from their own pool");

        // The process's own level binds when it leaves the least room.
        write(root.resolve("a/b/c"), "memory.max", 228L << 20);
        final MemoryBudget ownBinds = MemoryBudget.read(MEMINFO, "0::/a/b/c\n", root);
        assertEquals(128L << 20, ownBinds.availableBytes(false), ownBinds.describe());
        assertTrue(ownBinds.describe().contains("cgroup v2 /a/b/c limit"), ownBinds.describe());

        // A level over its limit leaves nothing; a usage that cannot be read counts as none.
        write(root.resolve("a/b"), "memory.current", 3L << 30);
        assertEquals(0, MemoryBudget.read(MEMINFO, "0::/a/b/c\n", root).availableBytes(false));
        Files.delete(root.resolve("a/b/memory.current"));
        Files.delete(root.resolve("a/memory.current"));
        assertEquals(128L << 20, MemoryBudget.read(MEMINFO, "0::/a/b/c\n", root).availableBytes(false));
        write(root.resolve("a/b/c"), "memory.max", "max\n");
        final MemoryBudget noUsage = MemoryBudget.read(MEMINFO, "0::/a/b/c\n", root);
        assertEquals(2L << 30, noUsage.availableBytes(false), noUsage.describe());
        assertTrue(noUsage.describe().contains("cgroup v2 /a/b limit 2048.0 MiB with unknown in use"),
            noUsage.describe());

        // No limit on the way up: MemAvailable alone, whatever lies above the root; a path that climbs out of the
        // hierarchy is not followed.
        final MemoryBudget unlimited = MemoryBudget.read(MEMINFO, "0::/x/y\n", root);
        assertEquals(22_000_000L * 1024, unlimited.availableBytes(false), unlimited.describe());
        assertTrue(unlimited.describe().contains("no memory cgroup limit"), unlimited.describe());
        assertEquals(22_000_000L * 1024, MemoryBudget.read(MEMINFO, "0::/../..\n", root).availableBytes(false));
    }

    @Test
    void shouldWalkTheCgroupV1MemoryHierarchyToo(@TempDir final Path root) throws IOException
    {
        final Path memory = root.resolve("memory");
        write(memory, "memory.limit_in_bytes", 9223372036854771712L); // v1's "no limit" at the root
        write(memory, "memory.usage_in_bytes", 8L << 30);
        write(memory.resolve("pods"), "memory.limit_in_bytes", 1L << 30);
        write(memory.resolve("pods"), "memory.usage_in_bytes", 768L << 20);
        write(memory.resolve("pods/vm1"), "memory.limit_in_bytes", 9223372036854771712L);
        write(memory.resolve("pods/vm1"), "memory.usage_in_bytes", 200L << 20);
        final String cgroups = "12:pids:/pods/vm1\n4:cpu,memory:/pods/vm1\n0::/pods/vm1\n";

        final MemoryBudget budget = MemoryBudget.read(MEMINFO, cgroups, root);
        assertEquals(256L << 20, budget.availableBytes(false), budget.describe());
        assertTrue(budget.describe().contains("cgroup v1 /pods limit 1024.0 MiB"), budget.describe());

        // Both hierarchies mounted (hybrid): the tighter of the two binds.
        write(root.resolve("pods"), "memory.max", 512L << 20);
        write(root.resolve("pods"), "memory.current", 384L << 20);
        assertEquals(128L << 20, MemoryBudget.read(MEMINFO, cgroups, root).availableBytes(false));
    }

    @Test
    void shouldReadThisMachine()
    {
        final MemoryBudget now = MemoryBudget.now();
        System.out.println("memory budget here: " + now.describe());
        assertTrue(now.availableBytes(false) > 0 && now.availableBytes(false) < Long.MAX_VALUE, now.describe());
    }
}
