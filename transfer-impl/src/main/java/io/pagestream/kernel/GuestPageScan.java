package io.pagestream.kernel;

import io.pagestream.api.guest.GuestMemory;

/**
 * Which pages of guest memory may hold data, learned from the kernel without reading a page: reading a page that was
 * never written commits it on many kernels, so a sparse guest would cost its full size to inspect. A page may hold
 * data if it is populated in this process's page tables (present or swapped out), or if it lies in a file-backed
 * mapping (a file, a memfd, shared memory) at an offset where the file holds data. Every other page reads as zero:
 * a page of private anonymous memory that was never populated, a hole of a file.
 * <p>
 * The answer errs only on the side of data: where the kernel cannot tell (no PAGEMAP_SCAN and no /proc/self/pagemap,
 * a file that cannot be opened, /proc/self/maps unreadable, a mapping boundary inside a guest page) the pages count as
 * holding data, and the kernel's {@link MemoryKernel#stats()} count which path answered.
 * <p>
 * Memory is scanned a chunk of {@value #CHUNK_PAGES} pages at a time, the first time a page of the chunk is asked
 * about, so a scan never holds a duty cycle for long. Correctness needs one order from the caller: start tracking
 * writes before asking, so a page populated after its chunk was scanned is in the dirty log. A dirty log kept by the
 * kernel's write-protection leaves a page-table marker in every page it protects that was never populated, which
 * the kernel reports like a swapped-out page, so after it starts every page would look populated. With such a log
 * the caller scans everything just before tracking starts ({@link #scanAll()}) and then adds the pages present just
 * after ({@link #addPresent()}): a page first written between the two is present then, unless in those milliseconds
 * the kernel also swapped it out or was migrating it.
 * <p>
 * File pages that hold data but are not mapped yet would each cost a fault when read; {@link #readAhead(long, long)}
 * maps them in one MADV_POPULATE_READ per run before they are read.
 * <p>
 * Threading: one thread.
 */
public final class GuestPageScan
{
    /** What {@link #fileMappingsUnder(GuestMemory)} returns when /proc/self/maps cannot be read. */
    public static final int MAPPINGS_UNKNOWN = -1;
    /** Pages per chunk: a multiple of 64 and of a lane stripe (512 pages). */
    public static final int CHUNK_PAGES = 16384;
    /** Bitmap words per chunk. */
    public static final int CHUNK_WORDS = CHUNK_PAGES / 64;

    private final MemoryKernel kernel;
    private final GuestMemory memory;
    private final int pageSize;
    private final long pageCount;
    private final long[] regionFirstPage;
    private final MappedRanges files;
    private final long[] mayHoldData;
    private final long[] unmappedData;
    private final long[] scannedChunks;
    private final long[] populated = new long[CHUNK_WORDS];
    private final long[] fileData = new long[CHUNK_WORDS];
    private boolean readAheadEnabled = true;
    private long pagesScanned;
    private long pagesWithData;
    private long pagesReadAhead;
    private long readAheadCalls;
    private long unknownPages;

    /**
     * @param kernel the memory kernel.
     * @param memory guest memory, mapped before this scan is made.
     */
    public GuestPageScan(final MemoryKernel kernel, final GuestMemory memory)
    {
        this.kernel = kernel;
        this.memory = memory;
        this.pageSize = memory.pageSize();
        this.pageCount = memory.pageCount();
        final int regions = memory.regionCount();
        this.regionFirstPage = new long[regions + 1];
        for (int i = 0; i < regions; i++)
        {
            regionFirstPage[i + 1] = regionFirstPage[i] + memory.regionLengthBytes(i) / pageSize;
        }
        this.files = readMappings(memory);
        final int words = (int)((pageCount + 63) >>> 6);
        this.mayHoldData = new long[words];
        this.unmappedData = files.ranges().length > 0 ? new long[words] : null;
        this.scannedChunks = new long[(int)(((pageCount + CHUNK_PAGES - 1) / CHUNK_PAGES + 63) >>> 6)];
    }

    /**
     * @param pageIndex a guest page.
     * @return true if the page may hold data; false if it reads as zero without being read.
     */
    public boolean mayHoldData(final long pageIndex)
    {
        ensureScanned(pageIndex);
        return (mayHoldData[(int)(pageIndex >>> 6)] & (1L << pageIndex)) != 0;
    }

    /**
     * @param wordIndex a word of the page bitmap (pages {@code 64 * wordIndex} on).
     * @return the word of the may-hold-data bitmap, its chunk scanned first.
     */
    public long word(final int wordIndex)
    {
        ensureScanned((long)wordIndex << 6);
        return mayHoldData[wordIndex];
    }

    /**
     * Scan the chunk holding a page if it was not scanned yet.
     *
     * @param pageIndex a guest page.
     */
    public void ensureScanned(final long pageIndex)
    {
        final int chunk = (int)(pageIndex / CHUNK_PAGES);
        final long bit = 1L << chunk;
        if ((scannedChunks[chunk >>> 6] & bit) == 0)
        {
            scannedChunks[chunk >>> 6] |= bit;
            scanChunk(chunk);
        }
    }

    /**
     * Scan every chunk not scanned yet, now: before a dirty log that marks never-populated pages starts tracking.
     */
    public void scanAll()
    {
        for (long page = 0; page < pageCount; page += CHUNK_PAGES)
        {
            ensureScanned(page);
        }
    }

    /**
     * Add the pages present in memory now (not those swapped out, nor page-table markers): after a dirty log that
     * marks never-populated pages started tracking, the pages populated since {@link #scanAll()}.
     */
    public void addPresent()
    {
        long page = 0;
        for (int r = 0; r < regionFirstPage.length - 1; r++)
        {
            final long end = regionFirstPage[r + 1];
            while (page < end)
            {
                final long to = Math.min(end, page + CHUNK_PAGES);
                kernel.presentPages(memory.pageAddress(page), (to - page) * pageSize, pageSize, populated);
                final int fromWord = (int)(page >>> 6);
                final int toWord = (int)((to + 63) >>> 6);
                pagesWithData -= bitCount(fromWord, toWord);
                orShifted(populated, to - page, mayHoldData, page, null);
                pagesWithData += bitCount(fromWord, toWord);
                page = to;
            }
        }
    }

    private long bitCount(final int fromWord, final int toWord)
    {
        long count = 0;
        for (int w = fromWord; w < toWord; w++)
        {
            count += Long.bitCount(mayHoldData[w]);
        }
        return count;
    }

    /**
     * Map, in one call per run, the pages of {@code [firstPage, firstPage + count)} that hold file data not yet
     * mapped here, so reading them costs no fault each. Pages already mapped, and anonymous memory, cost nothing.
     *
     * @param firstPage first page of the range.
     * @param count     pages in the range.
     */
    public synchronized void readAhead(final long firstPage, final long count)
    {
        if (null == unmappedData || !readAheadEnabled)
        {
            return;
        }
        final long end = Math.min(pageCount, firstPage + count);
        ensureScanned(firstPage);
        ensureScanned(end - 1);
        long page = firstPage;
        while (page < end)
        {
            page = nextSet(unmappedData, page, end);
            if (page >= end)
            {
                return;
            }
            final long regionEnd = regionFirstPage[regionOf(page) + 1];
            long runEnd = page + 1;
            while (runEnd < end && runEnd < regionEnd && (unmappedData[(int)(runEnd >>> 6)] & (1L << runEnd)) != 0)
            {
                runEnd++;
            }
            for (long p = page; p < runEnd; p++)
            {
                unmappedData[(int)(p >>> 6)] &= ~(1L << p);
            }
            try
            {
                kernel.populateRead(memory.pageAddress(page), (runEnd - page) * pageSize);
                readAheadCalls++;
                pagesReadAhead += runEnd - page;
            }
            catch (final KernelCallException ex)
            {
                readAheadEnabled = false; // the pages are read as they come, a fault each
                return;
            }
            page = runEnd;
        }
    }

    /** @return pages scanned so far. */
    public long pagesScanned()
    {
        return pagesScanned;
    }

    /** @return pages found that may hold data, of those scanned. */
    public long pagesWithData()
    {
        return pagesWithData;
    }

    /** @return pages mapped ahead of reading by {@link #readAhead(long, long)}. */
    public long pagesReadAhead()
    {
        return pagesReadAhead;
    }

    /** @return MADV_POPULATE_READ calls made by {@link #readAhead(long, long)}. */
    public long readAheadCalls()
    {
        return readAheadCalls;
    }

    /** @return pages counted as holding data only because the kernel could not tell. */
    public long unknownPages()
    {
        return unknownPages;
    }

    /** @return file-backed mappings that overlap a region of guest memory (not those in gaps between regions). */
    public int fileMappings()
    {
        return files.ranges().length;
    }

    /**
     * The file-backed mappings (a file, a memfd, shared memory) under guest memory, from /proc/self/maps, without
     * making a scan: what a fault path for private anonymous memory must refuse. A mapping in a gap between guest
     * regions is not guest memory and is not counted.
     *
     * @param memory guest memory, mapped.
     * @return the file-backed mappings overlapping a region of guest memory, or {@link #MAPPINGS_UNKNOWN} if
     *         /proc/self/maps cannot be read.
     */
    public static int fileMappingsUnder(final GuestMemory memory)
    {
        final MappedRanges ranges = readMappings(memory);
        return ranges.known() ? ranges.ranges().length : MAPPINGS_UNKNOWN;
    }

    private static MappedRanges readMappings(final GuestMemory memory)
    {
        final int regions = memory.regionCount();
        final long[] starts = new long[regions];
        final long[] ends = new long[regions];
        for (int i = 0; i < regions; i++)
        {
            starts[i] = memory.regionAddress(i);
            ends[i] = starts[i] + memory.regionLengthBytes(i);
        }
        return MappedRanges.read(starts, ends);
    }

    private void scanChunk(final int chunk)
    {
        final long first = (long)chunk * CHUNK_PAGES;
        final long end = Math.min(pageCount, first + CHUNK_PAGES);
        long page = first;
        int region = regionOf(first);
        while (page < end)
        {
            final long to = Math.min(end, regionFirstPage[region + 1]);
            scanRange(page, to);
            page = to;
            region++;
        }
        pagesScanned += end - first;
        final int firstWord = (int)(first >>> 6);
        final int endWord = (int)((end + 63) >>> 6);
        for (int w = firstWord; w < endWord; w++)
        {
            pagesWithData += Long.bitCount(mayHoldData[w]);
        }
    }

    private void scanRange(final long firstPage, final long endPage)
    {
        final long pages = endPage - firstPage;
        if (!files.known())
        {
            unknownPages += Bitmaps.setRange(mayHoldData, firstPage, endPage);
            return;
        }
        final long address = memory.pageAddress(firstPage);
        final long length = pages * pageSize;
        kernel.populatedPages(address, length, pageSize, populated);
        orShifted(populated, pages, mayHoldData, firstPage, null);
        for (final MappedRanges.Range range : files.ranges())
        {
            final long low = Math.max(range.start, address);
            final long high = Math.min(range.end, address + length);
            if (low >= high)
            {
                continue;
            }
            final long fromPage = firstPage + (low - address) / pageSize;
            final long toPage = firstPage + (high - address + pageSize - 1) / pageSize;
            final long alignedLow = address + (fromPage - firstPage) * pageSize;
            final long alignedHigh = address + (toPage - firstPage) * pageSize;
            final long fileOffset = range.fileOffset + (alignedLow - range.start);
            if (alignedLow < range.start || alignedHigh > range.end || fileOffset % pageSize != 0)
            {
                unknownPages += Bitmaps.setRange(mayHoldData, fromPage, toPage); // a mapping edge inside a page
                continue;
            }
            final long count = toPage - fromPage;
            try
            {
                kernel.dataPages(range.file, fileOffset, count * pageSize, pageSize, fileData);
            }
            catch (final KernelCallException ex)
            {
                unknownPages += Bitmaps.setRange(mayHoldData, fromPage, toPage); // the file cannot be opened
                continue;
            }
            orShifted(fileData, count, mayHoldData, fromPage, unmappedData);
        }
    }

    private int regionOf(final long pageIndex)
    {
        int low = 0;
        int high = regionFirstPage.length - 2;
        while (low < high)
        {
            final int mid = (low + high + 1) >>> 1;
            if (regionFirstPage[mid] <= pageIndex)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }
        return low;
    }

    /**
     * OR bits {@code [0, count)} of {@code source} into {@code target} from bit {@code targetBit}; where a bit was
     * clear in {@code target} and is set in {@code source}, set it in {@code fresh} too (if not null).
     */
    static void orShifted(
        final long[] source, final long count, final long[] target, final long targetBit, final long[] fresh)
    {
        final int shift = (int)(targetBit & 63);
        for (long i = 0; i < count; i += 64)
        {
            long word = source[(int)(i >>> 6)];
            final long bits = count - i;
            if (bits < 64)
            {
                word &= (1L << bits) - 1;
            }
            if (word == 0)
            {
                continue;
            }
            final int index = (int)((targetBit + i) >>> 6);
            final long low = word << shift;
            if (null != fresh)
            {
                fresh[index] |= low & ~target[index];
            }
            target[index] |= low;
            if (shift != 0)
            {
                final long high = word >>> (64 - shift);
                if (high != 0)
                {
                    if (null != fresh)
                    {
                        fresh[index + 1] |= high & ~target[index + 1];
                    }
                    target[index + 1] |= high;
                }
            }
        }
    }

    private static long nextSet(final long[] bitmap, final long fromBit, final long toBit)
    {
        int w = (int)(fromBit >>> 6);
        long word = bitmap[w] & (-1L << fromBit);
        final int lastWord = (int)((toBit - 1) >>> 6);
        while (word == 0)
        {
            if (++w > lastWord)
            {
                return toBit;
            }
            word = bitmap[w];
        }
        return Math.min(toBit, ((long)w << 6) + Long.numberOfTrailingZeros(word));
    }
}
