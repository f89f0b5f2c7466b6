package io.pagestream.kernel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the kernel says about this process and machine in /proc, for tests to check against.
 */
final class ProcSelf
{
    private ProcSelf()
    {
    }

    /**
     * @param address an address inside a mapping.
     * @param field   a field of /proc/self/smaps given in kB, e.g. "Rss", "KernelPageSize".
     * @return the field of the mapping (VMA) holding {@code address}, in bytes.
     */
    static long smapsBytes(final long address, final String field)
    {
        final List<String> lines = readLines(Path.of("/proc/self/smaps"));
        boolean inside = false;
        for (final String line : lines)
        {
            final int dash = line.indexOf('-');
            final int space = line.indexOf(' ');
            if (dash > 0 && space > dash && isHex(line, 0, dash))
            {
                final long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                final long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inside = address >= start && address < end;
            }
            else if (inside && line.startsWith(field + ":"))
            {
                final String value = line.substring(field.length() + 1).trim();
                return Long.parseLong(value.substring(0, value.indexOf(' '))) * 1024;
            }
        }
        throw new IllegalStateException("no mapping holds 0x" + Long.toHexString(address) + " with " + field);
    }

    /**
     * @param field a field of /proc/meminfo, e.g. "HugePages_Free".
     * @return its number (kB fields are returned in kB).
     */
    static long meminfo(final String field)
    {
        for (final String line : readLines(Path.of("/proc/meminfo")))
        {
            if (line.startsWith(field + ":"))
            {
                return Long.parseLong(line.substring(field.length() + 1).trim().split(" ")[0]);
            }
        }
        throw new IllegalStateException("no " + field + " in /proc/meminfo");
    }

    private static boolean isHex(final String line, final int from, final int to)
    {
        for (int i = from; i < to; i++)
        {
            if (Character.digit(line.charAt(i), 16) < 0)
            {
                return false;
            }
        }
        return true;
    }

    private static List<String> readLines(final Path path)
    {
        try
        {
            return Files.readAllLines(path);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
