package io.pagestream.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static io.pagestream.kernel.KernelCallException.failed;
import static io.pagestream.kernel.KernelCallException.range;

/**
 * {@link MemoryKernel} on Linux through the FFM API ({@link Libc}).
 * <p>
 * What the kernel offers is probed once, at construction, on a page mapped for the purpose: MADV_POPULATE_* (Linux
 * 5.14), PAGEMAP_SCAN (6.7) and readable /proc/self/pagemap. A call that later finds its mechanism missing (ENOTTY or
 * EINVAL where the arguments were already checked) takes the fallback, and the path of every call is counted in
 * {@link #stats()}. MADV_DONTNEED over many ranges goes through {@link BatchedDontNeed}, a file's data pages through
 * {@link FileExtents}.
 * <p>
 * Threading: thread-safe. Each thread has its own PAGEMAP_SCAN buffers, allocated on its first scan.
 */
final class LinuxMemoryKernel implements MemoryKernel
{
    private static final int HUGE_2MB = 2 << 20;

    private final int pageSize = Libc.PAGE_SIZE;
    private final KernelStats stats = new KernelStats("linux-ffm " + Libc.ARCH);
    private final boolean populateAdvice;
    private final boolean pagemapRead;
    private volatile boolean pagemapScan;
    private final ThreadLocal<Pagemap> pagemaps = ThreadLocal.withInitial(() -> new Pagemap(Arena.ofAuto(), 512));

    /**
     * @param allowPagemapScan    false to take the /proc/self/pagemap read path even where PAGEMAP_SCAN works.
     * @param allowPopulateAdvice false to populate by touching even where MADV_POPULATE_* works.
     */
    LinuxMemoryKernel(final boolean allowPagemapScan, final boolean allowPopulateAdvice)
    {
        final long page = Libc.mmap(
            0, pageSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        if (page < 0)
        {
            throw failed(range("mmap(probe)", 0, pageSize), page);
        }
        try
        {
            populateAdvice = Libc.madvise(page, pageSize, Libc.MADV_POPULATE_WRITE) == 0 && allowPopulateAdvice;
            PortableMemoryKernel.touch(page, pageSize, pageSize, true);
            boolean scan = false;
            boolean read = false;
            final int fd = Pagemap.open();
            if (fd >= 0)
            {
                final Pagemap pagemap = pagemaps.get();
                scan = pagemap.scan(fd, page, page + pageSize, 0, 0, Pagemap.POPULATED, Pagemap.POPULATED) == 1;
                read = pagemap.read(fd, page, 1, pageSize) == 1 && (pagemap.entry(0) & Pagemap.ENTRY_PRESENT) != 0;
                Descriptors.close(fd);
            }
            pagemapScan = scan && allowPagemapScan;
            pagemapRead = read;
        }
        finally
        {
            Libc.munmap(page, pageSize);
        }
        stats.prefer(populateAdvice ? KernelStats.Path.POPULATE_MADVISE : KernelStats.Path.POPULATE_TOUCH);
        stats.prefer(KernelStats.Path.DONTNEED_MADVISE);
        stats.prefer(KernelStats.Path.HUGEPAGE_MADVISE);
        stats.prefer(pagemapScan ? KernelStats.Path.POPULATED_PAGEMAP_SCAN :
            pagemapRead ? KernelStats.Path.POPULATED_PAGEMAP_READ : KernelStats.Path.POPULATED_ASSUME_ALL);
        stats.prefer(KernelStats.Path.DATA_SEEK);
        stats.prefer(KernelStats.Path.MEMFD_CREATE);
        stats.prefer(KernelStats.Path.MAP_MMAP);
        stats.prefer(KernelStats.Path.UNMAP_MUNMAP);
    }

    private final BatchedDontNeed batchedDontNeed = new BatchedDontNeed(pageSize, stats);

    /** {@inheritDoc} */
    public int systemPageSize()
    {
        return pageSize;
    }

    /** {@inheritDoc} */
    public void populateRead(final long address, final long lengthBytes)
    {
        populate("madvise(MADV_POPULATE_READ)", address, lengthBytes, Libc.MADV_POPULATE_READ, false);
    }

    /** {@inheritDoc} */
    public void populateWrite(final long address, final long lengthBytes)
    {
        populate("madvise(MADV_POPULATE_WRITE)", address, lengthBytes, Libc.MADV_POPULATE_WRITE, true);
    }

    private void populate(
        final String call, final long address, final long lengthBytes, final int advice, final boolean write)
    {
        Checks.addressRange(call, address, lengthBytes, pageSize);
        if (populateAdvice)
        {
            final int result = Libc.madvise(address, lengthBytes, advice);
            if (result == 0)
            {
                stats.record(KernelStats.Path.POPULATE_MADVISE);
                return;
            }
            // EINVAL with checked arguments: a VM_PFNMAP or VM_IO range the advice does not cover; touch instead.
            if (result != -Errno.EINVAL)
            {
                throw failed(range(call, address, lengthBytes), result);
            }
        }
        PortableMemoryKernel.touch(address, lengthBytes, pageSize, write);
        stats.record(KernelStats.Path.POPULATE_TOUCH);
    }

    /** {@inheritDoc} */
    public boolean dontNeed(final long address, final long lengthBytes)
    {
        final String call = "madvise(MADV_DONTNEED)";
        Checks.addressRange(call, address, lengthBytes, pageSize);
        final int result = Libc.madvise(address, lengthBytes, Libc.MADV_DONTNEED);
        if (result != 0)
        {
            throw failed(range(call, address, lengthBytes), result);
        }
        stats.record(KernelStats.Path.DONTNEED_MADVISE);
        return true;
    }

    /** {@inheritDoc} */
    public boolean dontNeed(final long[] addresses, final long[] lengthsBytes, final int count)
    {
        int done = 0;
        if (batchedDontNeed.isAvailable())
        {
            done = batchedDontNeed.dontNeed(addresses, lengthsBytes, count);
        }
        for (int i = done; i < count; i++)
        {
            dontNeed(addresses[i], lengthsBytes[i]);
        }
        return true;
    }

    /** {@inheritDoc} */
    public boolean adviseHugePages(final long address, final long lengthBytes)
    {
        final String call = "madvise(MADV_HUGEPAGE)";
        Checks.addressRange(call, address, lengthBytes, pageSize);
        final int result = Libc.madvise(address, lengthBytes, Libc.MADV_HUGEPAGE);
        if (result == 0)
        {
            stats.record(KernelStats.Path.HUGEPAGE_MADVISE);
            return true;
        }
        // EINVAL: a kernel built without transparent huge pages, or a mapping they cannot back.
        if (result == -Errno.EINVAL)
        {
            stats.record(KernelStats.Path.HUGEPAGE_SKIPPED);
            return false;
        }
        throw failed(range(call, address, lengthBytes), result);
    }

    /** {@inheritDoc} */
    public long populatedPages(final long address, final long lengthBytes, final int pageSizeBytes, final long[] bitmap)
    {
        return mappedPages("populatedPages", address, lengthBytes, pageSizeBytes, bitmap, true);
    }

    /** {@inheritDoc} */
    public long presentPages(final long address, final long lengthBytes, final int pageSizeBytes, final long[] bitmap)
    {
        return mappedPages("presentPages", address, lengthBytes, pageSizeBytes, bitmap, false);
    }

    private long mappedPages(
        final String call,
        final long address,
        final long lengthBytes,
        final int pageSizeBytes,
        final long[] bitmap,
        final boolean swappedToo)
    {
        Checks.pageSize(call, pageSizeBytes, pageSize);
        Checks.addressRange(call, address, lengthBytes, pageSizeBytes);
        final long pages = lengthBytes / pageSizeBytes;
        Checks.bitmap(call, bitmap, pages);
        Bitmaps.clearPrefix(bitmap, pages);

        final int fd = pagemapScan || pagemapRead ? Pagemap.open() : -Errno.ENOENT;
        if (fd < 0)
        {
            stats.record(KernelStats.Path.POPULATED_ASSUME_ALL);
            return Bitmaps.setRange(bitmap, 0, pages);
        }
        try
        {
            final Pagemap pagemap = pagemaps.get();
            final int shift = Integer.numberOfTrailingZeros(pageSizeBytes);
            if (pagemapScan)
            {
                final long count = pagemap.scanAnyOf(fd, address, lengthBytes, shift, bitmap,
                    swappedToo ? Pagemap.POPULATED : Pagemap.PAGE_IS_PRESENT);
                if (count >= 0)
                {
                    stats.record(KernelStats.Path.POPULATED_PAGEMAP_SCAN);
                    return count;
                }
                if (count != -Errno.ENOTTY && count != -Errno.EINVAL)
                {
                    throw failed(range("ioctl(PAGEMAP_SCAN)", address, lengthBytes), count);
                }
                pagemapScan = false;
                stats.prefer(pagemapRead ? KernelStats.Path.POPULATED_PAGEMAP_READ :
                    KernelStats.Path.POPULATED_ASSUME_ALL);
                Bitmaps.clearPrefix(bitmap, pages);
            }
            if (!pagemapRead)
            {
                stats.record(KernelStats.Path.POPULATED_ASSUME_ALL);
                return Bitmaps.setRange(bitmap, 0, pages);
            }
            final long count = pagemap.readAnyOf(fd, address, lengthBytes, pageSize, shift, bitmap,
                swappedToo ? Pagemap.ENTRY_PRESENT | Pagemap.ENTRY_SWAPPED : Pagemap.ENTRY_PRESENT);
            stats.record(KernelStats.Path.POPULATED_PAGEMAP_READ);
            return count;
        }
        finally
        {
            Descriptors.close(fd);
        }
    }

    /** {@inheritDoc} */
    public long dataPages(
        final int fd, final long offsetBytes, final long lengthBytes, final int pageSizeBytes, final long[] bitmap)
    {
        final String call = "dataPages";
        Checks.pageSize(call, pageSizeBytes, pageSize);
        Checks.fileRange(call, offsetBytes, lengthBytes, pageSizeBytes);
        final long pages = lengthBytes / pageSizeBytes;
        Checks.bitmap(call, bitmap, pages);
        Bitmaps.clearPrefix(bitmap, pages);

        return FileExtents.dataPages(fd, offsetBytes, lengthBytes, pageSizeBytes, bitmap, stats);
    }

    /** {@inheritDoc} */
    public long dataPages(
        final Path file, final long offsetBytes, final long lengthBytes, final int pageSizeBytes, final long[] bitmap)
    {
        final int fd = open(file, Libc.O_RDONLY);
        try
        {
            return dataPages(fd, offsetBytes, lengthBytes, pageSizeBytes, bitmap);
        }
        finally
        {
            Descriptors.close(fd);
        }
    }

    /** {@inheritDoc} */
    public int memfdCreate(final String name, final long sizeBytes, final boolean hugeTlb)
    {
        final String call = "memfd_create(" + name + (hugeTlb ? ", MFD_HUGETLB|MFD_HUGE_2MB)" : ")");
        Checks.length(call, sizeBytes, hugeTlb ? HUGE_2MB : pageSize);
        final int fd;
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cName = arena.allocateFrom(name);
            fd = Descriptors.memfdCreate(cName.address(),
                Libc.MFD_CLOEXEC | (hugeTlb ? Libc.MFD_HUGETLB | Libc.MAP_HUGE_2MB : 0));
        }
        if (fd == -Errno.ENOSYS)
        {
            stats.record(KernelStats.Path.MEMFD_UNAVAILABLE);
            throw KernelCallException.unsupported(call, "ENOSYS: neither the C library nor the kernel has it");
        }
        if (fd < 0)
        {
            throw failed(call, fd);
        }
        final int result = Descriptors.ftruncate(fd, sizeBytes);
        if (result != 0)
        {
            Descriptors.close(fd);
            throw failed("ftruncate(memfd " + name + ", " + sizeBytes + ")", result);
        }
        stats.record(KernelStats.Path.MEMFD_CREATE);
        return fd;
    }

    /** {@inheritDoc} */
    public void closeFd(final int fd)
    {
        final int result = Descriptors.close(fd);
        if (result != 0)
        {
            throw failed("close(" + fd + ")", result);
        }
    }

    /** {@inheritDoc} */
    public long mapAnonymous(final long lengthBytes, final boolean hugeTlb)
    {
        // Huge pages are reserved at mmap, so a shortage fails here (ENOMEM) instead of as SIGBUS on first touch.
        final String call = hugeTlb ? "mmap(MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_2MB)" :
            "mmap(MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE)";
        Checks.length(call, lengthBytes, hugeTlb ? HUGE_2MB : pageSize);
        final int flags = Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS |
            (hugeTlb ? Libc.MAP_HUGETLB | Libc.MAP_HUGE_2MB : Libc.MAP_NORESERVE);
        return map(call, lengthBytes, flags, -1, 0);
    }

    /** {@inheritDoc} */
    public long mapFile(final int fd, final long offsetBytes, final long lengthBytes, final boolean shared)
    {
        final String call = (shared ? "mmap(MAP_SHARED) fd=" : "mmap(MAP_PRIVATE|MAP_NORESERVE) fd=") + fd +
            " offsetBytes=" + offsetBytes;
        Checks.fileRange(call, offsetBytes, lengthBytes, pageSize);
        // A private mapping is charged in full against the commit limit unless MAP_NORESERVE: a 64 GiB snapshot
        // mapped on a 24 GiB host would be refused though only the pages written are ever copied.
        return map(call, lengthBytes, shared ? Libc.MAP_SHARED : Libc.MAP_PRIVATE | Libc.MAP_NORESERVE, fd,
            offsetBytes);
    }

    /** {@inheritDoc} */
    public long mapFile(final Path file, final long offsetBytes, final long lengthBytes, final boolean shared)
    {
        Checks.fileRange("mmap(" + file + ")", offsetBytes, lengthBytes, pageSize);
        PortableMemoryKernel.checkFileLength(file, offsetBytes + lengthBytes);
        final int fd = open(file, shared ? Libc.O_RDWR : Libc.O_RDONLY);
        try
        {
            return mapFile(fd, offsetBytes, lengthBytes, shared);
        }
        finally
        {
            Descriptors.close(fd);
        }
    }

    private long map(final String call, final long lengthBytes, final int flags, final int fd, final long offset)
    {
        final long address = Libc.mmap(0, lengthBytes, Libc.PROT_READ | Libc.PROT_WRITE, flags, fd, offset);
        if (address < 0)
        {
            throw failed(call + " lengthBytes=" + lengthBytes, address);
        }
        stats.record(KernelStats.Path.MAP_MMAP);
        return address;
    }

    /** {@inheritDoc} */
    public void unmap(final long address, final long lengthBytes)
    {
        Checks.addressRange("munmap", address, lengthBytes, pageSize);
        final int result = Libc.munmap(address, lengthBytes);
        if (result != 0)
        {
            throw failed(range("munmap", address, lengthBytes), result);
        }
        stats.record(KernelStats.Path.UNMAP_MUNMAP);
    }

    /** {@inheritDoc} */
    public void touchFromNative(final long address)
    {
        Libc.touch(address);
    }

    /** {@inheritDoc} */
    public KernelStats stats()
    {
        return stats;
    }

    private static int open(final Path file, final int flags)
    {
        final int fd;
        try (Arena arena = Arena.ofConfined())
        {
            fd = Descriptors.open(arena.allocateFrom(file.toString()).address(), flags | Libc.O_CLOEXEC, 0);
        }
        if (fd < 0)
        {
            throw failed("open(" + file + ")", fd);
        }
        return fd;
    }
}
