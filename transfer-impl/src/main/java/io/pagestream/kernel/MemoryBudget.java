package io.pagestream.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How much more memory this process may take: the kernel's {@code MemAvailable}, bounded by its memory cgroup's
 * limit less what the cgroup already uses (cgroup v2 {@code memory.max}/{@code memory.current}, or v1
 * {@code memory.limit_in_bytes}/{@code memory.usage_in_bytes}), and the free huge pages for hugetlb memory. Read
 * when asked, from /proc and /sys; a figure that cannot be read counts as no limit and is named in
 * {@link #describe()}. Immutable.
 */
public final class MemoryBudget
{
    private final long memAvailableBytes;
    private final long cgroupLimitBytes;
    private final long cgroupUsageBytes;
    private final String cgroup;
    private final long hugePagesFreeBytes;

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
        final String meminfo = read(Path.of("/proc/meminfo"));
        final long available = meminfoBytes(meminfo, "MemAvailable");
        final long hugeFree = meminfoBytes(meminfo, "HugePages_Free");
        final long hugeSize = meminfoBytes(meminfo, "Hugepagesize");
        long limit = -1;
        long usage = -1;
        String where = "";
        final String cgroups = read(Path.of("/proc/self/cgroup"));
        for (final String line : cgroups.split("\n"))
        {
            final String[] parts = line.split(":", 3);
            if (parts.length != 3)
            {
                continue;
            }
            if (parts[0].equals("0") && parts[1].isEmpty())
            {
                final Path dir = Path.of("/sys/fs/cgroup" + parts[2]);
                final long max = number(read(dir.resolve("memory.max")));
                if (max >= 0 && limit < 0)
                {
                    limit = max;
                    usage = number(read(dir.resolve("memory.current")));
                    where = "cgroup v2 " + parts[2];
                }
            }
            else if (("," + parts[1] + ",").contains(",memory,"))
            {
                final Path dir = Path.of("/sys/fs/cgroup/memory" + parts[2]);
                final long max = number(read(dir.resolve("memory.limit_in_bytes")));
                if (max >= 0)
                {
                    limit = max;
                    usage = number(read(dir.resolve("memory.usage_in_bytes")));
                    where = "cgroup v1 " + parts[2];
                }
            }
        }
        return new MemoryBudget(available, limit, usage, where,
            hugeFree >= 0 && hugeSize > 0 ? hugeFree / 1024 * hugeSize : -1);
    }

    /**
     * @param hugeTlb true for memory backed by huge pages (the hugetlb pool, not MemAvailable).
     * @return bytes this process may still take, {@link Long#MAX_VALUE} if nothing says.
     */
    public long availableBytes(final boolean hugeTlb)
    {
        long budget = hugeTlb ? (hugePagesFreeBytes < 0 ? Long.MAX_VALUE : hugePagesFreeBytes) :
            (memAvailableBytes < 0 ? Long.MAX_VALUE : memAvailableBytes);
        if (!hugeTlb && cgroupLimitBytes >= 0 && cgroupLimitBytes < (1L << 60))
        {
            budget = Math.min(budget, Math.max(0, cgroupLimitBytes - Math.max(0, cgroupUsageBytes)));
        }
        return budget;
    }

    /** @return the figures, for an error message. */
    public String describe()
    {
        return String.format(Locale.ROOT, "MemAvailable %s, %s, huge pages free %s",
            size(memAvailableBytes), cgroupLimitBytes < 0 || cgroupLimitBytes >= (1L << 60) ? "no memory cgroup limit" :
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
}
