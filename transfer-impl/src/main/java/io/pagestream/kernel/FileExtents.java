package io.pagestream.kernel;

import static io.pagestream.kernel.KernelCallException.failed;

/**
 * Which pages of a file hold data, from its extents, for the Linux memory kernel: lseek with SEEK_DATA and SEEK_HOLE
 * walks the data extents without reading a byte; a file system or kernel without SEEK_DATA takes the portable fallback
 * (every page up to the end of the file holds data), counted.
 * <p>
 * Threading: stateless; any thread.
 */
final class FileExtents
{
    private FileExtents()
    {
    }

    /**
     * Arguments are checked by the caller and the bitmap's prefix is cleared.
     *
     * @param fd            an open file.
     * @param offsetBytes   where the range starts in the file.
     * @param lengthBytes   the range's length.
     * @param pageSizeBytes the page size the bitmap counts in.
     * @param bitmap        receives a bit per page of the range that holds data.
     * @param stats         counts the path taken.
     * @return pages marked.
     * @throws KernelCallException if lseek fails other than for a missing SEEK_DATA.
     */
    static long dataPages(
        final int fd,
        final long offsetBytes,
        final long lengthBytes,
        final int pageSizeBytes,
        final long[] bitmap,
        final KernelStats stats)
    {
        final long count = seekExtents(fd, offsetBytes, lengthBytes, pageSizeBytes, bitmap);
        if (count >= 0)
        {
            stats.record(KernelStats.Path.DATA_SEEK);
            return count;
        }
        // EINVAL: a file system or kernel without SEEK_DATA; anything else is a real failure.
        if (count != -Errno.EINVAL)
        {
            throw failed("lseek(SEEK_DATA) fd=" + fd + " offsetBytes=" + offsetBytes, count);
        }
        final long size = Descriptors.lseek(fd, 0, Libc.SEEK_END);
        if (size < 0)
        {
            throw failed("lseek(SEEK_END) fd=" + fd, size);
        }
        stats.record(KernelStats.Path.DATA_ASSUME_ALL);
        return PortableMemoryKernel.assumeData(offsetBytes, lengthBytes, pageSizeBytes, size, bitmap);
    }

    private static long seekExtents(
        final int fd, final long offsetBytes, final long lengthBytes, final int pageSizeBytes, final long[] bitmap)
    {
        final int shift = Integer.numberOfTrailingZeros(pageSizeBytes);
        final long end = offsetBytes + lengthBytes;
        long position = offsetBytes;
        long count = 0;
        while (position < end)
        {
            final long data = Descriptors.lseek(fd, position, Libc.SEEK_DATA);
            if (data == -Errno.ENXIO)
            {
                break; // no data at or after position
            }
            if (data < 0)
            {
                return data;
            }
            if (data >= end)
            {
                break;
            }
            final long hole = Descriptors.lseek(fd, data, Libc.SEEK_HOLE);
            if (hole < 0)
            {
                return hole;
            }
            final long to = Math.min(hole, end);
            count += Bitmaps.setRange(
                bitmap, (data - offsetBytes) >>> shift, (to - offsetBytes + pageSizeBytes - 1) >>> shift);
            position = hole;
        }
        return count;
    }
}
