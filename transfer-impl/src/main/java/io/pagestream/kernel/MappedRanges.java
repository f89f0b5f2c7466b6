package io.pagestream.kernel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The file-backed mappings of this process, from {@code /proc/self/maps}: where a page that is not populated in the
 * page tables may still hold data, because it reads through to a file, a memfd or shared memory. Private anonymous
 * mappings (inode 0, and private {@code /anon_hugepage}) are left out: there a page that is not populated reads as
 * zero. Only mappings that overlap a region of interest are kept: one that lies in a gap between guest regions is
 * not guest memory. Read once, when a scan is made; mappings made later are not seen, which is why a scan is made
 * after the guest memory it covers was mapped.
 * <p>
 * Threading: immutable once read.
 */
final class MappedRanges
{
    /** One file-backed mapping. */
    static final class Range
    {
        final long start;
        final long end;
        final long fileOffset;
        final boolean shared;
        final Path file;

        Range(final long start, final long end, final long fileOffset, final boolean shared, final Path file)
        {
            this.start = start;
            this.end = end;
            this.fileOffset = fileOffset;
            this.shared = shared;
            this.file = file;
        }
    }

    private static final Path MAPS = Path.of("/proc/self/maps");
    private static final String DELETED = " (deleted)";

    private final Range[] ranges;
    private final boolean known;

    private MappedRanges(final Range[] ranges, final boolean known)
    {
        this.ranges = ranges;
        this.known = known;
    }

    /**
     * @param regionStarts the first address of each region of interest (guest memory's regions, in any order).
     * @param regionEnds   the end of each region, at the same index.
     * @return the file-backed mappings overlapping a region; those in the gaps between regions are left out, since
     *         they are not guest memory. Unknown if /proc/self/maps cannot be read.
     */
    static MappedRanges read(final long[] regionStarts, final long[] regionEnds)
    {
        return read(MAPS, regionStarts, regionEnds);
    }

    /**
     * @param maps         a file in the format of /proc/PID/maps.
     * @param regionStarts the first address of each region of interest.
     * @param regionEnds   the end of each region, at the same index.
     * @return the file-backed mappings overlapping a region; unknown if the file cannot be read.
     */
    static MappedRanges read(final Path maps, final long[] regionStarts, final long[] regionEnds)
    {
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(maps, StandardCharsets.ISO_8859_1);
        }
        catch (final IOException | UncheckedIOException | SecurityException ex)
        {
            return new MappedRanges(new Range[0], false);
        }
        return parse(lines, regionStarts, regionEnds);
    }

    /**
     * @param lines        lines in the format of /proc/PID/maps.
     * @param regionStarts the first address of each region of interest.
     * @param regionEnds   the end of each region, at the same index.
     * @return the file-backed mappings among them overlapping a region.
     */
    static MappedRanges parse(final List<String> lines, final long[] regionStarts, final long[] regionEnds)
    {
        final ArrayList<Range> found = new ArrayList<>();
        for (final String line : lines)
        {
            final Range range = parseLine(line);
            if (null != range && overlapsAny(range, regionStarts, regionEnds))
            {
                found.add(range);
            }
        }
        return new MappedRanges(found.toArray(new Range[0]), true);
    }

    private static boolean overlapsAny(final Range range, final long[] regionStarts, final long[] regionEnds)
    {
        for (int i = 0; i < regionStarts.length; i++)
        {
            if (Long.compareUnsigned(range.end, regionStarts[i]) > 0 &&
                Long.compareUnsigned(range.start, regionEnds[i]) < 0)
            {
                return true;
            }
        }
        return false;
    }

    private static Range parseLine(final String line)
    {
        // start-end perms offset dev inode [path]; the path may hold spaces.
        final String[] fields = line.trim().split("\\s+", 6);
        if (fields.length < 5)
        {
            return null;
        }
        final int dash = fields[0].indexOf('-');
        final long inode;
        final long start;
        final long end;
        final long offset;
        try
        {
            start = Long.parseUnsignedLong(fields[0], 0, dash, 16);
            end = Long.parseUnsignedLong(fields[0], dash + 1, fields[0].length(), 16);
            offset = Long.parseUnsignedLong(fields[2], 16);
            inode = Long.parseLong(fields[4]);
        }
        catch (final NumberFormatException | IndexOutOfBoundsException ex)
        {
            return null;
        }
        final boolean shared = fields[1].length() > 3 && fields[1].charAt(3) == 's';
        final String path = fields.length == 6 ? fields[5] : "";
        if (inode == 0 || (!shared && path.startsWith("/anon_hugepage")))
        {
            return null; // private anonymous memory: a page not populated reads as zero
        }
        final Path file = path.startsWith("/") && !path.endsWith(DELETED) ? Path.of(path) :
            Path.of("/proc/self/map_files/" + Long.toHexString(start) + "-" + Long.toHexString(end));
        return new Range(start, end, offset, shared, file);
    }

    /** @return false if /proc/self/maps could not be read: no page may then be taken for a hole. */
    boolean known()
    {
        return known;
    }

    /** @return the file-backed mappings found, in address order. */
    Range[] ranges()
    {
        return ranges;
    }
}
