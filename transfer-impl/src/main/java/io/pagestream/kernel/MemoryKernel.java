package io.pagestream.kernel;

import java.nio.file.Path;

/**
 * The kernel's batch calls on memory that PageStream needs: populate a range, release it, ask for huge pages, learn
 * which pages are populated or which parts of a file hold data, and create and map memory.
 * <p>
 * {@link #create()} returns the Linux implementation reached through the FFM API when it can, else a portable one.
 * Where the kernel lacks a call (too old, not Linux, native access not permitted) an operation takes a fallback that
 * gives the same answer or a conservative one, and every call is counted by path in {@link #stats()}, never silent.
 * <p>
 * Arguments: addresses and lengths are bytes as {@code long}; an address must be aligned to, and a length a positive
 * multiple of, {@link #systemPageSize()} (or the huge page size where huge pages are asked for). A bad argument raises
 * {@link IllegalArgumentException} naming it; a failed call raises {@link KernelCallException} naming the call, the
 * address and length and the errno text.
 * <p>
 * Bitmaps are {@code long[]} owned by the caller: bit {@code i % 64} of word {@code i / 64} stands for page {@code i}
 * of the range, pages of the size the caller names. A method writes exactly the bits of its range (clearing the
 * others in it) and leaves bits past the range alone. Nothing here allocates per page.
 * <p>
 * Threading: implementations are thread-safe; calls from several threads run concurrently.
 */
public interface MemoryKernel
{
    /**
     * @return the kernel's base page size in bytes (4096 on x86_64; 4096, 16384 or 65536 on aarch64).
     */
    int systemPageSize();

    /**
     * Fault a range in for reading without writing it (MADV_POPULATE_READ): file pages are read in, never-written
     * anonymous pages map the shared zero page. Fallback: read one byte per page.
     *
     * @param address     start of the range.
     * @param lengthBytes length of the range.
     */
    void populateRead(long address, long lengthBytes);

    /**
     * Fault a range in for writing without changing its contents (MADV_POPULATE_WRITE): every page gets its own
     * writable frame. Fallback: an atomic add of zero on one word per page, which faults the page in for writing and
     * leaves the value alone even while other threads write it.
     *
     * @param address     start of the range.
     * @param lengthBytes length of the range.
     */
    void populateWrite(long address, long lengthBytes);

    /**
     * Release a range (MADV_DONTNEED). Afterwards private anonymous pages read as zero and file pages are read again
     * from the file.
     *
     * @param address     start of the range.
     * @param lengthBytes length of the range.
     * @return true if the kernel released it; false if this system cannot, and the memory and contents were kept.
     */
    boolean dontNeed(long address, long lengthBytes);

    /**
     * Release many ranges (MADV_DONTNEED) in as few calls as the kernel allows: process_madvise on this process,
     * up to 1,024 ranges a call with one TLB flush for them all, else one madvise per range.
     *
     * @param addresses   start of each range.
     * @param lengthsBytes length of each range.
     * @param count       ranges to release, from index 0.
     * @return true if the kernel released them; false if this system cannot, and memory and contents were kept.
     */
    boolean dontNeed(long[] addresses, long[] lengthsBytes, int count);

    /**
     * Ask for transparent huge pages in a range (MADV_HUGEPAGE).
     *
     * @param address     start of the range.
     * @param lengthBytes length of the range.
     * @return true if the kernel took the advice; false if it has no transparent huge pages and nothing was done.
     */
    boolean adviseHugePages(long address, long lengthBytes);

    /**
     * Which pages of a mapped range are populated: present in memory or swapped out. A page of {@code pageSizeBytes}
     * counts if any base page in it does. Paths: PAGEMAP_SCAN (one ioctl for many pages), else reading
     * /proc/self/pagemap (8 bytes per base page), else every page reported populated. Pages write-protected by a
     * userfaultfd with WP_UNPOPULATED (as {@link WriteProtectDirtyPageLog} does) carry page-table markers that the
     * kernel reports as swap entries: they count as populated, an answer that errs on the safe side.
     *
     * @param address       start of the range, aligned to {@code pageSizeBytes}.
     * @param lengthBytes   length of the range, a multiple of {@code pageSizeBytes}.
     * @param pageSizeBytes the page size bits stand for: a power of two, at least {@link #systemPageSize()}.
     * @param bitmap        at least {@code (lengthBytes / pageSizeBytes + 63) / 64} words.
     * @return the number of pages reported populated.
     */
    long populatedPages(long address, long lengthBytes, int pageSizeBytes, long[] bitmap);

    /**
     * Which pages of a mapped range are present in memory now: {@link #populatedPages} without the swapped-out ones
     * and without page-table markers (which the kernel reports like swap entries). Same paths and arguments.
     *
     * @param address       start of the range, aligned to {@code pageSizeBytes}.
     * @param lengthBytes   length of the range, a multiple of {@code pageSizeBytes}.
     * @param pageSizeBytes the page size bits stand for: a power of two, at least {@link #systemPageSize()}.
     * @param bitmap        at least {@code (lengthBytes / pageSizeBytes + 63) / 64} words.
     * @return the number of pages reported present.
     */
    long presentPages(long address, long lengthBytes, int pageSizeBytes, long[] bitmap);

    /**
     * Which pages of a range of an open file hold data, as opposed to holes (lseek SEEK_DATA / SEEK_HOLE); pages past
     * the end of the file are holes. Moves the descriptor's file offset. Fallback: every page up to the end of the
     * file is data. File systems without SEEK_HOLE support of their own (hugetlbfs among them) report the whole file
     * as data; {@link #populatedPages} of a mapping of it tells which pages are mapped there.
     *
     * @param fd            an open file descriptor.
     * @param offsetBytes   start of the range in the file, aligned to {@code pageSizeBytes}.
     * @param lengthBytes   length of the range, a multiple of {@code pageSizeBytes}.
     * @param pageSizeBytes the page size bits stand for: a power of two, at least {@link #systemPageSize()}.
     * @param bitmap        at least {@code (lengthBytes / pageSizeBytes + 63) / 64} words.
     * @return the number of pages holding data.
     */
    long dataPages(int fd, long offsetBytes, long lengthBytes, int pageSizeBytes, long[] bitmap);

    /**
     * {@link #dataPages(int, long, long, int, long[])} on a file opened read-only for the call.
     *
     * @param file          the file.
     * @param offsetBytes   start of the range in the file, aligned to {@code pageSizeBytes}.
     * @param lengthBytes   length of the range, a multiple of {@code pageSizeBytes}.
     * @param pageSizeBytes the page size bits stand for: a power of two, at least {@link #systemPageSize()}.
     * @param bitmap        at least {@code (lengthBytes / pageSizeBytes + 63) / 64} words.
     * @return the number of pages holding data.
     */
    long dataPages(Path file, long offsetBytes, long lengthBytes, int pageSizeBytes, long[] bitmap);

    /**
     * Create anonymous shared memory with a file descriptor (memfd_create with MFD_CLOEXEC) and size it, sparsely.
     * No fallback: raises {@link KernelCallException} with {@link KernelCallException#isUnsupported()} where
     * there is none.
     *
     * @param name        a name for /proc/self/fd, for debugging.
     * @param sizeBytes   size in bytes, a multiple of the page size (2 MiB if {@code hugeTlb}).
     * @param hugeTlb     back it with 2 MiB hugetlbfs pages (MFD_HUGETLB | MFD_HUGE_2MB).
     * @return the file descriptor, to be closed with {@link #closeFd(int)}.
     */
    int memfdCreate(String name, long sizeBytes, boolean hugeTlb);

    /**
     * Close a file descriptor returned by {@link #memfdCreate}.
     *
     * @param fd the descriptor.
     */
    void closeFd(int fd);

    /**
     * Map private anonymous memory, read-write, zero-filled, committed page by page as it is first touched
     * (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE). The portable fallback commits and zeroes it at once and has no
     * huge pages.
     *
     * @param lengthBytes length, a multiple of the page size (2 MiB if {@code hugeTlb}).
     * @param hugeTlb     use reserved 2 MiB hugetlb pages (MAP_HUGETLB | MAP_HUGE_2MB, without MAP_NORESERVE: the
     *                    pages are reserved at once, so a shortage fails here and never as SIGBUS on first touch).
     * @return the address, to be released with {@link #unmap(long, long)}.
     */
    long mapAnonymous(long lengthBytes, boolean hugeTlb);

    /**
     * Map an open file or memfd read-write. No fallback for descriptors.
     *
     * @param fd          an open descriptor, readable, and writable if {@code shared}.
     * @param offsetBytes offset in the file, a multiple of the page size.
     * @param lengthBytes length, a multiple of the page size; the file must be at least this long past the offset.
     * @param shared      MAP_SHARED (writes reach the file and every other mapping of it) or MAP_PRIVATE
     *                    (copy-on-write, MAP_NORESERVE: charged only for the pages written, like guest RAM).
     * @return the address, to be released with {@link #unmap(long, long)}.
     */
    long mapFile(int fd, long offsetBytes, long lengthBytes, boolean shared);

    /**
     * Map a file read-write, opened for the call. Fallback: {@code FileChannel.map}.
     *
     * @param file        the file, at least {@code offsetBytes + lengthBytes} long.
     * @param offsetBytes offset in the file, a multiple of the page size.
     * @param lengthBytes length, a multiple of the page size.
     * @param shared      MAP_SHARED or MAP_PRIVATE (copy-on-write; the file is never written).
     * @return the address, to be released with {@link #unmap(long, long)}.
     */
    long mapFile(Path file, long offsetBytes, long lengthBytes, boolean shared);

    /**
     * Release a mapping made by this kernel's {@code map} methods (munmap).
     *
     * @param address     the address a map method returned.
     * @param lengthBytes the length it was given.
     */
    void unmap(long address, long lengthBytes);

    /**
     * Touch (read one byte of) the page at an address from native code. A Java thread that blocks in the kernel on a
     * page a userfaultfd handler has yet to install stops every safepoint of the JVM until the page arrives, and so
     * every other Java thread, including the handler: a deadlock whenever the handler is Java, as PageStream's
     * kernel fault path is. A Java thread that may touch such memory first touches each page through this method,
     * where the wait happens in native state and the JVM carries on. A VMM's vCPU threads run guest code natively and
     * need none of this.
     *
     * @param address any address inside the page.
     */
    void touchFromNative(long address);

    /**
     * @return the per-operation counts of native and fallback paths, live.
     */
    KernelStats stats();

    /**
     * @return the Linux implementation through the FFM API if this is Linux on x86_64 or aarch64 and native access
     * is permitted, else the portable one; either with fresh {@link #stats()}.
     */
    static MemoryKernel create()
    {
        return Libc.AVAILABLE ? new LinuxMemoryKernel(true, true) : new PortableMemoryKernel(Libc.UNAVAILABLE_REASON);
    }
}
