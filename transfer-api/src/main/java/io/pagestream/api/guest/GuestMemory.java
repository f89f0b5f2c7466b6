package io.pagestream.api.guest;

import java.nio.file.Path;

/**
 * A guest's RAM: one or more page-aligned regions of native memory, addressed by a global page index.
 * <p>
 * Page {@code 0} is the first page of region {@code 0}; pages number on through the regions in order. The page size
 * is fixed for the life of the object and is a power of two from 4 KiB to 1 GiB (2 MiB huge pages work).
 * Guest memory may be far larger than 2 GiB: indices and sizes are {@code long}.
 * <p>
 * Threading: immutable after construction and safe to share; the memory it describes is written concurrently by the
 * guest, which is expected. {@link #close()} frees memory only if this object allocated it.
 */
public interface GuestMemory extends AutoCloseable
{
    /**
     * @return the page size in bytes, a power of two.
     */
    int pageSize();

    /**
     * @return the number of pages across all regions.
     */
    long pageCount();

    /**
     * @return total bytes across all regions, equal to {@code pageCount() * pageSize()}.
     */
    long sizeBytes();

    /**
     * @return the number of regions.
     */
    int regionCount();

    /**
     * @param regionIndex from 0 to {@code regionCount() - 1}.
     * @return the native address of the region's first byte.
     */
    long regionAddress(int regionIndex);

    /**
     * @param regionIndex from 0 to {@code regionCount() - 1}.
     * @return the region's length in bytes, a multiple of the page size.
     */
    long regionLengthBytes(int regionIndex);

    /**
     * Native address of the first byte of a page.
     *
     * @param pageIndex from 0 to {@code pageCount() - 1}.
     * @return the page's address.
     * @throws IndexOutOfBoundsException if the index is outside guest memory.
     */
    long pageAddress(long pageIndex);

    /**
     * Free the memory if this object allocated or mapped it; wrapped memory is left alone. Idempotent.
     */
    void close();

    /**
     * Anonymous native memory, zero-filled and committed lazily by the OS as pages are first written, like a VMM's
     * anonymous guest RAM. Split into regions of at most 1 GiB.
     *
     * @param sizeBytes    total size, a positive multiple of {@code pageSizeBytes}.
     * @param pageSizeBytes page size, a power of two from 4096.
     * @return memory freed by {@link #close()}.
     */
    static GuestMemory allocate(final long sizeBytes, final int pageSizeBytes)
    {
        return NativeGuestMemory.allocate(sizeBytes, pageSizeBytes);
    }

    /**
     * Shared memory backed by a file (a {@code memory-backend-file}, typically on /dev/shm or hugetlbfs).
     * The file is created or extended sparsely to {@code sizeBytes}; existing contents are kept.
     *
     * @param file          the backing file.
     * @param sizeBytes     total size, a positive multiple of {@code pageSizeBytes}.
     * @param pageSizeBytes page size, a power of two from 4096.
     * @return memory unmapped (file kept) by {@link #close()}.
     */
    static GuestMemory mapFile(final Path file, final long sizeBytes, final int pageSizeBytes)
    {
        return NativeGuestMemory.mapFile(file, sizeBytes, pageSizeBytes);
    }

    /**
     * Describe memory the hypervisor already owns. Nothing is copied and {@link #close()} frees nothing.
     *
     * @param pageSizeBytes page size, a power of two from 4096.
     * @param addresses     region start addresses, each aligned to the page size.
     * @param lengthsBytes  region lengths, each a positive multiple of the page size.
     * @return a view of the regions, in the order given.
     */
    static GuestMemory wrap(final int pageSizeBytes, final long[] addresses, final long[] lengthsBytes)
    {
        return NativeGuestMemory.wrap(pageSizeBytes, addresses, lengthsBytes);
    }
}
