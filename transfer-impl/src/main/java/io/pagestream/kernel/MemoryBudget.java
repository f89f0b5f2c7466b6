package io.pagestream.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How much more memory this process may take: the kernel's {@code MemAvailable}, bounded by the room its memory
 * cgroups leave, and the free huge pages for hugetlb memory. A cgroup's limit binds its descendants too, so the
 * room is the least, over the process's own cgroup and each ancestor up to the hierarchy's root, of that level's
 * limit less what it already uses (cgroup v2 {@code memory.max}/{@code memory.current}; v1
 * {@code memory.limit_in_bytes}/{@code memory.usage_in_bytes}); a level without a limit, or whose files cannot be
 * read, does not bind. Read when asked, from /proc and /sys; a figure that cannot be read counts as no limit and is
 * named in {@link #describe()}. Immutable.
 */
public final class MemoryBudget
{
    /** Where the cgroup hierarchies are mounted: v2 here, v1's memory controller in {@code memory} below it. */
    public static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");
    /** A limit at or above this is none (cgroup v1 writes "no limit" as a number near 2^63). */
    private static final long NO_LIMIT = 1L << 60;

    private final long memAvailableBytes;
    private final long cgroupLimitBytes;
    private final long cgroupUsageBytes;
    private final String cgroup;
    private final long hugePagesFreeBytes;

    /**
     * @param memAvailableBytes  MemAvailable, or -1 if unknown.
     * @param cgroupLimitBytes   the limit of the cgroup level that leaves the least room, or -1 for none.
     * @param cgroupUsageBytes   what that level uses, or -1 if unknown.
     * @param cgroup             that level, in words (for {@link #describe()}).
     * @param hugePagesFreeBytes free huge pages in bytes, or -1 if unknown.
     */
    MemoryBudget(final long memAvailableBytes, final long cgroupLimitBytes, final long cgroupUsageBytes,
        final String cgroup, final long hugePagesFreeBytes)
    {
        this.memAvailableBytes = memAvailableBytes;
        this.cgroupLimitBytes = cgroupLimitBytes;
        this.cgroupUsageBytes = cgroupUsageBytes;
        this.cgroup = cgroup;
        this.hugePagesFreeBytes = hugePagesFreeBytes;
    }

    /** @return this process's budget now. */
    public static MemoryBudget now()
    {
        return read(read(Path.of("/proc/meminfo")), read(Path.of("/proc/self/cgroup")), CGROUP_ROOT);
    }

    /**
     * @param meminfo    the text of /proc/meminfo.
     * @param cgroups    the text of /proc/self/cgroup: the process's cgroup in each hierarchy.
     * @param cgroupRoot where the hierarchies are mounted ({@link #CGROUP_ROOT}; a directory tree in tests).
     * @return the budget those give.
     */
    static MemoryBudget read(final String meminfo, final String cgroups, final Path cgroupRoot)
    {
        final long available = meminfoBytes(meminfo, "MemAvailable");
        final long hugeFree = meminfoBytes(meminfo, "HugePages_Free");
        final long hugeSize = meminfoBytes(meminfo, "Hugepagesize");
        final Level tightest = new Level();
        for (final String line : cgroups.split("\n"))
        {
            final String[] parts = line.split(":", 3);
            if (parts.length != 3 || !parts[2].startsWith("/"))
            {
                continue;
            }
            if (parts[0].equals("0") && parts[1].isEmpty())
            {
                walk(cgroupRoot, parts[2], "memory.max", "memory.current", "cgroup v2 ", tightest);
            }
            else if (("," + parts[1] + ",").contains(",memory,"))
            {
                walk(cgroupRoot.resolve("memory"), parts[2], "memory.limit_in_bytes", "memory.usage_in_bytes",
                    "cgroup v1 ", tightest);
            }
        }
        return new MemoryBudget(available, tightest.limitBytes, tightest.usageBytes, tightest.where,
            hugeFree >= 0 && hugeSize > 0 ? hugeFree * hugeSize : -1);
    }

    /**
     * From the process's cgroup up to the hierarchy's root, keep in {@code tightest} the level whose limit leaves
     * the least room, if it leaves less than what {@code tightest} holds already.
     */
    private static void walk(
        final Path hierarchy,
        final String cgroupPath,
        final String limitFile,
        final String usageFile,
        final String label,
        final Level tightest)
    {
        final Path top = hierarchy.normalize();
        Path dir = top.resolve(cgroupPath.substring(1)).normalize();
        if (!dir.startsWith(top))
        {
            return;
        }
        while (null != dir && dir.startsWith(top))
        {
            final long limit = number(read(dir.resolve(limitFile)));
            if (limit >= 0 && limit < NO_LIMIT)
            {
                final long usage = number(read(dir.resolve(usageFile)));
                final long room = room(limit, usage);
                if (tightest.limitBytes < 0 || room < room(tightest.limitBytes, tightest.usageBytes))
                {
                    tightest.limitBytes = limit;
                    tightest.usageBytes = usage;
                    final String relative = top.relativize(dir).toString();
                    tightest.where = label + "/" + relative;
                }
            }
            dir = dir.getParent();
        }
    }

    private static long room(final long limitBytes, final long usageBytes)
    {
        return Math.max(0, limitBytes - Math.max(0, usageBytes));
    }

    /**
     * @param hugeTlb true for memory backed by huge pages (the hugetlb pool, not MemAvailable).
     * @return bytes this process may still take, {@link Long#MAX_VALUE} if nothing says.
     */
    public long availableBytes(final boolean hugeTlb)
    {
        long budget = hugeTlb ? (hugePagesFreeBytes < 0 ? Long.MAX_VALUE : hugePagesFreeBytes) :
            (memAvailableBytes < 0 ? Long.MAX_VALUE : memAvailableBytes);
        if (!hugeTlb && cgroupLimitBytes >= 0 && cgroupLimitBytes < NO_LIMIT)
        {
            budget = Math.min(budget, room(cgroupLimitBytes, cgroupUsageBytes));
        }
        return budget;
    }

    /** @return the figures, for an error message. */
    public String describe()
    {
        return String.format(Locale.ROOT, "MemAvailable %s, %s, huge pages free %s",
            size(memAvailableBytes), cgroupLimitBytes < 0 || cgroupLimitBytes >= NO_LIMIT ? "no memory cgroup limit" :
                cgroup + " limit " + size(cgroupLimitBytes) + " with " + size(cgroupUsageBytes) + " in use",
            size(hugePagesFreeBytes));
    }

    static long meminfoBytes(final String meminfo, final String key)
    {
        for (final String line : meminfo.split("\n"))
        {
            if (line.startsWith(key + ":"))
            {
                final String[] words = line.substring(key.length() + 1).trim().split("\\s+");
                try
                {
                    final long value = Long.parseLong(words[0]);
                    return words.length > 1 && words[1].equalsIgnoreCase("kB") ? value * 1024 : value;
                }
                catch (final NumberFormatException ex)
                {
                    return -1;
                }
            }
        }
        return -1;
    }

    static long number(final String text)
    {
        final String t = text.trim();
        if (t.equals("max"))
        {
            return Long.MAX_VALUE;
        }
        try
        {
            return t.isEmpty() ? -1 : Long.parseLong(t);
        }
        catch (final NumberFormatException ex)
        {
            return -1;
        }
    }

    private static String read(final Path file)
    {
        try
        {
            return Files.readString(file, StandardCharsets.US_ASCII);
        }
        catch (final IOException | RuntimeException ex)
        {
            return "";
        }
    }

    private static String size(final long bytes)
    {
        return bytes < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    /** The cgroup level leaving the least room found so far, while walking. */
    private static final class Level
    {
        long limitBytes = -1;
        long usageBytes = -1;
        String where = "";
    }
}
