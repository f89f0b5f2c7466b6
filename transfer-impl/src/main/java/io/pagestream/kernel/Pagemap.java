package io.pagestream.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * /proc/self/pagemap for one thread: the PAGEMAP_SCAN ioctl (Linux 6.7) with its argument and output vector, and
 * plain reads of 8-byte entries, all in memory allocated once.
 * <p>
 * PAGEMAP_SCAN is {@code _IOWR('f', 16, struct pm_scan_arg)} = 0xC0606610, from include/uapi/linux/fs.h:
 * <pre>
 * struct pm_scan_arg {              struct page_region {
 *   __u64 size;            //  0       __u64 start;       //  0
 *   __u64 flags;           //  8       __u64 end;         //  8, exclusive
 *   __u64 start;           // 16       __u64 categories;  // 16
 *   __u64 end;             // 24     };                   // 24 bytes
 *   __u64 walk_end;        // 32, written by the kernel: where the walk stopped
 *   __u64 vec;             // 40, address of struct page_region[vec_len]
 *   __u64 vec_len;         // 48
 *   __u64 max_pages;       // 56, 0 for no limit
 *   __u64 category_inverted;   // 64
 *   __u64 category_mask;       // 72, every category here must match
 *   __u64 category_anyof_mask; // 80, at least one of these must match
 *   __u64 return_mask;         // 88, categories reported in page_region
 * };                               // 96 bytes
 * </pre>
 * The ioctl returns the number of regions written; when the vector fills up before {@code end}, {@code walk_end} says
 * where to carry on. A pagemap entry, when read, is 8 bytes per base page: bit 63 present, bit 62 swapped, bit 61
 * file-backed or shared, bit 57 uffd write-protected.
 * <p>
 * Threading: not thread-safe; one instance per thread.
 */
final class Pagemap
{
    static final long PAGEMAP_SCAN = Libc.ioc(Libc.IOC_READ_WRITE, 'f', 16, 96);

    static final long PAGE_IS_WPALLOWED = 1 << 0;
    static final long PAGE_IS_WRITTEN = 1 << 1;
    static final long PAGE_IS_FILE = 1 << 2;
    static final long PAGE_IS_PRESENT = 1 << 3;
    static final long PAGE_IS_SWAPPED = 1 << 4;

    /** Write-protect the pages matched, atomically with finding them. */
    static final long PM_SCAN_WP_MATCHING = 1 << 0;
    /** Fail with EPERM on a page not registered for asynchronous userfaultfd write-protection. */
    static final long PM_SCAN_CHECK_WPASYNC = 1 << 1;

    /** Present in memory or swapped out. */
    static final long POPULATED = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;

    static final long ENTRY_PRESENT = 1L << 63;
    static final long ENTRY_SWAPPED = 1L << 62;

    /** Pagemap entries one read fetches: 4 KiB of them. */
    static final int READ_ENTRIES = 512;

    private static final MemorySegment PROC_SELF_PAGEMAP = Arena.global().allocateFrom("/proc/self/pagemap");

    private static final int REGION_BYTES = 24;

    private final MemorySegment arg;
    private final MemorySegment vec;
    private final MemorySegment entries;
    private final long argAddress;
    private final long entriesAddress;
    private final int regionCapacity;

    /**
     * @param arena          owns the memory; freed with it.
     * @param regionCapacity page regions one PAGEMAP_SCAN call may return.
     */
    Pagemap(final Arena arena, final int regionCapacity)
    {
        this.regionCapacity = regionCapacity;
        arg = arena.allocate(96, 8);
        vec = arena.allocate((long)REGION_BYTES * regionCapacity, 8);
        entries = arena.allocate(8L * READ_ENTRIES, 8);
        argAddress = arg.address();
        entriesAddress = entries.address();
    }

    /**
     * @return a read-only descriptor of /proc/self/pagemap, or {@code -errno}.
     */
    static int open()
    {
        return Descriptors.open(PROC_SELF_PAGEMAP.address(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
    }

    /**
     * One PAGEMAP_SCAN call over {@code [start, end)}; read the regions with {@link #regionStart(int)} and
     * {@link #regionEnd(int)} and carry on from {@link #walkEnd()} while it is short of {@code end}.
     *
     * @return regions written, or {@code -errno}.
     */
    int scan(
        final int pagemapFd,
        final long start,
        final long end,
        final long flags,
        final long categoryMask,
        final long anyOfMask,
        final long returnMask)
    {
        arg.set(JAVA_LONG, 0, 96L);
        arg.set(JAVA_LONG, 8, flags);
        arg.set(JAVA_LONG, 16, start);
        arg.set(JAVA_LONG, 24, end);
        arg.set(JAVA_LONG, 32, 0L);
        arg.set(JAVA_LONG, 40, vec.address());
        arg.set(JAVA_LONG, 48, (long)regionCapacity);
        arg.set(JAVA_LONG, 56, 0L);
        arg.set(JAVA_LONG, 64, 0L);
        arg.set(JAVA_LONG, 72, categoryMask);
        arg.set(JAVA_LONG, 80, anyOfMask);
        arg.set(JAVA_LONG, 88, returnMask);
        return Descriptors.ioctl(pagemapFd, PAGEMAP_SCAN, argAddress);
    }

    /**
     * @return the address the last scan stopped at; equal to its {@code end} when it covered the whole range.
     */
    long walkEnd()
    {
        return arg.get(JAVA_LONG, 32);
    }

    long regionStart(final int index)
    {
        return vec.get(JAVA_LONG, (long)index * REGION_BYTES);
    }

    long regionEnd(final int index)
    {
        return vec.get(JAVA_LONG, (long)index * REGION_BYTES + 8);
    }

    long regionCategories(final int index)
    {
        return vec.get(JAVA_LONG, (long)index * REGION_BYTES + 16);
    }

    /**
     * Read up to {@link #READ_ENTRIES} pagemap entries, starting with the one for {@code address}.
     *
     * @return entries read, or {@code -errno}.
     */
    int read(final int pagemapFd, final long address, final int count, final int systemPageSize)
    {
        final long offset = (address / systemPageSize) * 8;
        final long bytes = Descriptors.pread(pagemapFd, entriesAddress, 8L * Math.min(count, READ_ENTRIES), offset);
        return bytes < 0 ? (int)bytes : (int)(bytes >>> 3);
    }

    /**
     * Set the bits of populated pages in {@code [address, address + lengthBytes)}, by as many PAGEMAP_SCAN calls as
     * the output vector needs.
     *
     * @param shift log2 of the page size bits stand for.
     * @return pages newly set, or {@code -errno} of a failed scan.
     */
    long scanPopulated(final int fd, final long address, final long lengthBytes, final int shift, final long[] bitmap)
    {
        return scanAnyOf(fd, address, lengthBytes, shift, bitmap, POPULATED);
    }

    /**
     * Like {@link #scanPopulated}, for pages in any of the categories {@code anyOf}.
     */
    long scanAnyOf(
        final int fd, final long address, final long lengthBytes, final int shift, final long[] bitmap, final long anyOf)
    {
        final long end = address + lengthBytes;
        final long roundUp = (1L << shift) - 1;
        long start = address;
        long count = 0;
        while (start < end)
        {
            final int regions = scan(fd, start, end, 0, 0, anyOf, anyOf);
            if (regions < 0)
            {
                return regions;
            }
            for (int i = 0; i < regions; i++)
            {
                final long from = (regionStart(i) - address) >>> shift;
                final long to = (regionEnd(i) - address + roundUp) >>> shift;
                count += Bitmaps.setRange(bitmap, from, to);
            }
            final long walkEnd = walkEnd();
            if (walkEnd <= start)
            {
                throw new IllegalStateException("PAGEMAP_SCAN made no progress at 0x" + Long.toHexString(start));
            }
            start = walkEnd;
        }
        return count;
    }

    /**
     * Set the bits of populated pages in {@code [address, address + lengthBytes)} from 8-byte pagemap entries.
     *
     * @param shift log2 of the page size bits stand for.
     * @return pages newly set.
     * @throws KernelCallException if /proc/self/pagemap cannot be read.
     */
    long readPopulated(
        final int fd, final long address, final long lengthBytes, final int pageSize, final int shift,
        final long[] bitmap)
    {
        return readAnyOf(fd, address, lengthBytes, pageSize, shift, bitmap, ENTRY_PRESENT | ENTRY_SWAPPED);
    }

    /**
     * Like {@link #readPopulated}, for pages whose entry has any of the bits {@code anyOfEntryBits}.
     */
    long readAnyOf(
        final int fd, final long address, final long lengthBytes, final int pageSize, final int shift,
        final long[] bitmap, final long anyOfEntryBits)
    {
        final long basePages = lengthBytes / pageSize;
        long count = 0;
        for (long done = 0; done < basePages; )
        {
            final long pageAddress = address + done * pageSize;
            final int read = read(fd, pageAddress, (int)Math.min(READ_ENTRIES, basePages - done), pageSize);
            if (read <= 0)
            {
                throw KernelCallException.failed(KernelCallException.range(
                    "pread(/proc/self/pagemap)", pageAddress, lengthBytes - done * pageSize),
                    read == 0 ? -Errno.ENXIO : read);
            }
            for (int i = 0; i < read; i++)
            {
                if ((entry(i) & anyOfEntryBits) != 0)
                {
                    final long bit = ((done + i) * pageSize) >>> shift;
                    count += Bitmaps.setRange(bitmap, bit, bit + 1);
                }
            }
            done += read;
        }
        return count;
    }

    long entry(final int index)
    {
        return entries.get(JAVA_LONG, 8L * index);
    }

    int regionCapacity()
    {
        return regionCapacity;
    }
}
