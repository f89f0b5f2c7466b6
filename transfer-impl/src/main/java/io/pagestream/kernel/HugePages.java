package io.pagestream.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The kernel's pool of 2 MiB hugetlb pages ({@code /proc/meminfo}, {@code /proc/sys/vm/nr_hugepages}): how many are
 * free, and, for root, growing the pool. Threading: stateless.
 */
public final class HugePages
{
    private static final Path MEMINFO = Path.of("/proc/meminfo");
    private static final Path NR_HUGEPAGES = Path.of("/proc/sys/vm/nr_hugepages");

    private HugePages()
    {
    }

    /** @return free 2 MiB huge pages in the pool, or -1 if it cannot be read. */
    public static long free()
    {
        return meminfo("HugePages_Free:");
    }

    /** @return huge pages in the pool, or -1 if it cannot be read. */
    public static long total()
    {
        return meminfo("HugePages_Total:");
    }

    /**
     * Grow the pool so at least {@code pages} are free, if this process may (root). The kernel may grant fewer than
     * asked when memory is fragmented.
     *
     * @param pages free huge pages wanted.
     * @return true if that many are free now.
     */
    public static boolean ensureFree(final long pages)
    {
        final long free = free();
        if (free < 0)
        {
            return false;
        }
        if (free >= pages)
        {
            return true;
        }
        try
        {
            Files.writeString(NR_HUGEPAGES, Long.toString(total() + pages - free));
        }
        catch (final IOException | SecurityException ex)
        {
            return false;
        }
        return free() >= pages;
    }

    /**
     * Shrink the pool by up to {@code pages} free pages (give back what {@link #ensureFree(long)} added).
     *
     * @param pages huge pages to release.
     */
    public static void release(final long pages)
    {
        final long total = total();
        if (total < 0 || pages <= 0)
        {
            return;
        }
        try
        {
            Files.writeString(NR_HUGEPAGES, Long.toString(Math.max(0, total - pages)));
        }
        catch (final IOException | SecurityException ignore)
        {
            // not root: nothing was added either
        }
    }

    private static long meminfo(final String key)
    {
        try
        {
            for (final String line : Files.readAllLines(MEMINFO, StandardCharsets.ISO_8859_1))
            {
                if (line.startsWith(key))
                {
                    return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
                }
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            return -1;
        }
        return -1;
    }
}
