package io.pagestream.kernel;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.NativeGuestMemory;

import java.nio.file.Path;

/**
 * Guest memory mapped by the {@link MemoryKernel}, the way a hypervisor maps guest RAM: one mapping, committed page
 * by page as the guest first writes it (so a sparse guest costs what its data costs), seen as regions of at most
 * {@link NativeGuestMemory#MAX_REGION_BYTES}; unmapped on close.
 * <ul>
 * <li>{@link #anonymous}: private anonymous memory. With 2 MiB guest pages it is backed by reserved hugetlb pages
 * (MAP_HUGETLB; reserve them with {@code vm.nr_hugepages}); with 4 KiB pages it may ask for transparent huge
 * pages.</li>
 * <li>{@link #file}: a file, shared (writes reach the file) or private.</li>
 * </ul>
 * Threading: as {@link GuestMemory}.
 */
public final class MappedGuestMemory implements GuestMemory
{
    /** 2 MiB: the huge page size this class maps. */
    public static final int HUGE_PAGE_BYTES = 2 * 1024 * 1024;

    private final MemoryKernel kernel;
    private final long address;
    private final long sizeBytes;
    private final NativeGuestMemory regions;
    private final String description;
    private boolean closed;

    private MappedGuestMemory(
        final MemoryKernel kernel, final long address, final long sizeBytes, final int pageSize, final String description)
    {
        this(kernel, address, sizeBytes, pageSize, description, defaultRegions(sizeBytes, pageSize));
    }

    private MappedGuestMemory(
        final MemoryKernel kernel, final long address, final long sizeBytes, final int pageSize,
        final String description, final long[] lengths)
    {
        this.kernel = kernel;
        this.address = address;
        this.sizeBytes = sizeBytes;
        this.description = description;
        final long[] addresses = new long[lengths.length];
        long at = address;
        for (int i = 0; i < lengths.length; i++)
        {
            addresses[i] = at;
            at += lengths[i];
        }
        this.regions = (NativeGuestMemory)GuestMemory.wrap(pageSize, addresses, lengths);
    }

    private static long[] defaultRegions(final long sizeBytes, final int pageSize)
    {
        final long regionBytes = Math.max(NativeGuestMemory.MAX_REGION_BYTES, pageSize);
        final int count = (int)((sizeBytes + regionBytes - 1) / regionBytes);
        final long[] lengths = new long[count];
        for (int i = 0; i < count; i++)
        {
            lengths[i] = Math.min(regionBytes, sizeBytes - i * regionBytes);
        }
        return lengths;
    }

    /**
     * Private anonymous guest memory, zero, committed as it is first written.
     *
     * @param kernel               the memory kernel.
     * @param sizeBytes            size, a positive multiple of the page size.
     * @param pageSizeBytes        4096, or 2 MiB for hugetlb pages (which must be reserved: {@code vm.nr_hugepages}).
     * @param transparentHugePages with 4 KiB pages, ask the kernel to back the memory with transparent huge pages
     *                             (MADV_HUGEPAGE; counted, and skipped where the kernel has none).
     * @return the memory.
     * @throws IllegalArgumentException naming the bad argument, or saying how many huge pages are missing.
     */
    public static MappedGuestMemory anonymous(
        final MemoryKernel kernel, final long sizeBytes, final int pageSizeBytes, final boolean transparentHugePages)
    {
        final boolean hugeTlb = checkShape(kernel, sizeBytes, pageSizeBytes);
        if (hugeTlb && transparentHugePages)
        {
            throw new IllegalArgumentException("transparentHugePages is for 4 KiB pages; 2 MiB pages are hugetlb pages");
        }
        final long address;
        try
        {
            address = kernel.mapAnonymous(sizeBytes, hugeTlb);
        }
        catch (final KernelCallException ex)
        {
            if (hugeTlb)
            {
                throw new IllegalArgumentException("cannot map " + sizeBytes + " bytes of 2 MiB hugetlb pages (" +
                    ex.getMessage() + "): reserve at least " + (sizeBytes / HUGE_PAGE_BYTES) + " free huge pages, " +
                    "e.g. sysctl vm.nr_hugepages=" + (sizeBytes / HUGE_PAGE_BYTES) + " as root; free now: " +
                    HugePages.free(), ex);
            }
            throw ex;
        }
        if (transparentHugePages)
        {
            kernel.adviseHugePages(address, sizeBytes);
        }
        return new MappedGuestMemory(kernel, address, sizeBytes, pageSizeBytes,
            hugeTlb ? "anonymous, 2 MiB hugetlb pages" : transparentHugePages ?
            "anonymous, transparent huge pages asked for" : "anonymous");
    }

    /**
     * A file mapped as guest memory.
     *
     * @param kernel        the memory kernel.
     * @param file          the file, at least {@code sizeBytes} long (a hugetlbfs file for 2 MiB pages).
     * @param sizeBytes     size, a positive multiple of the page size.
     * @param pageSizeBytes the guest page size.
     * @param shared        MAP_SHARED (writes reach the file) or MAP_PRIVATE (copy on write).
     * @return the memory.
     */
    public static MappedGuestMemory file(
        final MemoryKernel kernel, final Path file, final long sizeBytes, final int pageSizeBytes, final boolean shared)
    {
        checkShape(kernel, sizeBytes, pageSizeBytes);
        final long address = kernel.mapFile(file, 0, sizeBytes, shared);
        return new MappedGuestMemory(kernel, address, sizeBytes, pageSizeBytes,
            (shared ? "shared" : "private") + " file " + file);
    }

    /**
     * Part of a file mapped as guest memory of given regions, e.g. the page area of a snapshot.
     *
     * @param kernel        the memory kernel.
     * @param file          the file.
     * @param offsetBytes   where the guest's first page lies in the file, a multiple of the page size.
     * @param regionLengths the guest's regions in bytes, in order, each a positive multiple of the page size.
     * @param pageSizeBytes the guest page size.
     * @param shared        MAP_SHARED or MAP_PRIVATE (copy on write, the file never written).
     * @return the memory.
     */
    public static MappedGuestMemory file(
        final MemoryKernel kernel, final Path file, final long offsetBytes, final long[] regionLengths,
        final int pageSizeBytes, final boolean shared)
    {
        long sizeBytes = 0;
        for (final long length : regionLengths)
        {
            if (length <= 0 || length % pageSizeBytes != 0)
            {
                throw new IllegalArgumentException("region lengths must be positive multiples of the page size " +
                    pageSizeBytes + ": " + length);
            }
            sizeBytes += length;
        }
        if (pageSizeBytes < kernel.systemPageSize() || pageSizeBytes % kernel.systemPageSize() != 0 ||
            regionLengths.length == 0)
        {
            throw new IllegalArgumentException("pageSizeBytes must be a multiple of the system page size " +
                kernel.systemPageSize() + " and there must be a region: " + pageSizeBytes);
        }
        final long address = kernel.mapFile(file, offsetBytes, sizeBytes, shared);
        return new MappedGuestMemory(kernel, address, sizeBytes, pageSizeBytes,
            (shared ? "shared" : "private") + " file " + file + " from offset " + offsetBytes, regionLengths.clone());
    }

    private static boolean checkShape(final MemoryKernel kernel, final long sizeBytes, final int pageSizeBytes)
    {
        final int base = kernel.systemPageSize();
        if (pageSizeBytes != base && pageSizeBytes != HUGE_PAGE_BYTES)
        {
            throw new IllegalArgumentException("pageSizeBytes must be the system page size " + base + " or 2 MiB (" +
                HUGE_PAGE_BYTES + "): " + pageSizeBytes);
        }
        if (sizeBytes <= 0 || sizeBytes % pageSizeBytes != 0)
        {
            throw new IllegalArgumentException("sizeBytes must be a positive multiple of the page size " +
                pageSizeBytes + ": " + sizeBytes);
        }
        return pageSizeBytes == HUGE_PAGE_BYTES;
    }

    /** @return how the memory is mapped, for reports. */
    public String description()
    {
        return description;
    }

    /** @return the start of the mapping. */
    public long address()
    {
        return address;
    }

    /** {@inheritDoc} */
    public int pageSize()
    {
        return regions.pageSize();
    }

    /** {@inheritDoc} */
    public long pageCount()
    {
        return regions.pageCount();
    }

    /** {@inheritDoc} */
    public long sizeBytes()
    {
        return sizeBytes;
    }

    /** {@inheritDoc} */
    public int regionCount()
    {
        return regions.regionCount();
    }

    /** {@inheritDoc} */
    public long regionAddress(final int regionIndex)
    {
        return regions.regionAddress(regionIndex);
    }

    /** {@inheritDoc} */
    public long regionLengthBytes(final int regionIndex)
    {
        return regions.regionLengthBytes(regionIndex);
    }

    /** {@inheritDoc} */
    public long pageAddress(final long pageIndex)
    {
        return regions.pageAddress(pageIndex);
    }

    /** Unmap. Idempotent. */
    public void close()
    {
        if (!closed)
        {
            closed = true;
            kernel.unmap(address, sizeBytes);
        }
    }
}
