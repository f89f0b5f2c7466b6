package io.pagestream.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * This process's resident memory from {@code /proc/self/status}: the peak ({@code VmHWM}) and the current
 * ({@code VmRSS}), for reports. Threading: stateless.
 */
public final class ProcessMemory
{
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory()
    {
    }

    /** @return the peak resident memory of this process in bytes, or -1 where the kernel does not say. */
    public static long peakResidentBytes()
    {
        return status("VmHWM:");
    }

    /** @return the resident memory of this process in bytes now, or -1 where the kernel does not say. */
    public static long residentBytes()
    {
        return status("VmRSS:");
    }

    /**
     * @param memory guest memory mapped in this process.
     * @return its pages populated in the page tables now (present or swapped), as the kernel reports them; every
     * page where the kernel cannot tell.
     */
    public static long populatedPages(final io.pagestream.api.guest.GuestMemory memory)
    {
        final MemoryKernel kernel = MemoryKernel.create();
        long count = 0;
        long[] bitmap = new long[0];
        for (int r = 0; r < memory.regionCount(); r++)
        {
            final long pages = memory.regionLengthBytes(r) / memory.pageSize();
            if (bitmap.length < (pages + 63) / 64)
            {
                bitmap = new long[(int)((pages + 63) / 64)];
            }
            count += kernel.populatedPages(memory.regionAddress(r), memory.regionLengthBytes(r), memory.pageSize(),
                bitmap);
        }
        return count;
    }

    /**
     * @param bytes a size, or a negative value for unknown.
     * @return it in MiB or GiB, or "unknown".
     */
    public static String format(final long bytes)
    {
        if (bytes < 0)
        {
            return "unknown";
        }
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.2f GiB", bytes / (double)(1L << 30)) :
            String.format(Locale.ROOT, "%.0f MiB", bytes / (double)(1L << 20));
    }

    private static long status(final String key)
    {
        try
        {
            for (final String line : Files.readAllLines(STATUS, StandardCharsets.ISO_8859_1))
            {
                if (line.startsWith(key))
                {
                    final String[] parts = line.substring(key.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024; // the kernel reports kB
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
