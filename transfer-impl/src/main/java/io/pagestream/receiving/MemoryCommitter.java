package io.pagestream.receiving;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.GuestPageScan;
import io.pagestream.kernel.KernelCallException;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.protocol.PageMapFlyweight;
import org.agrona.DirectBuffer;

/**
 * Target memory, committed in batches and only for data.
 * <ul>
 * <li>The source's DATA_MAP frames say which pages of each range carry data. Before the first page of a window of
 * {@value #WINDOW_PAGES} pages is written, the data pages of the window are committed with one MADV_POPULATE_WRITE
 * per run of them instead of one page fault each. Zero pages are never committed: fresh memory already reads as
 * zero.</li>
 * <li>Which pages may hold old bytes is asked of the kernel ({@link GuestPageScan}: populated pages, a file's data
 * extents); a zero page there is cleared, anywhere else it is left alone. So mapping an existing file, or memory
 * that was used before, is safe: its stale bytes are cleared where the source has zeros.</li>
 * </ul>
 * Even a lone data page is committed with its own call: measured here (8 GiB, 5% of pages holding data at random,
 * four interleaved pairs), committing every run was faster than leaving single pages to fault (median 1.38 s against
 * 1.48 s), since a fault taken inside a copy costs more than a system call.
 * <p>
 * Population runs inline on the target's agent thread, just ahead of the pages of each window: on two cores there is
 * no free core for a helper thread (the agent and the media driver already use both), and a batch is 50-100x cheaper
 * than faulting page by page wherever it runs.
 * <p>
 * Threading: the target conductor's thread.
 */
final class MemoryCommitter
{
    /** Pages committed at a time: 2 MiB of 4 KiB pages. */
    static final int WINDOW_PAGES = 512;

    private final GuestMemory memory;
    private final MemoryKernel kernel;
    private final GuestPageScan scan;
    private final long pageCount;
    private final int pageSize;
    private final long[] regionFirstPage;
    private final long[] dataMap;
    private final long[] preparedWindows;
    private final PageMapFlyweight mapFlyweight = new PageMapFlyweight();
    private boolean populating = true;
    private boolean mapped;
    private long pagesCommitted;
    private long populateCalls;
    private long dataMapFrames;
    private long stalePagesCleared;

    /**
     * @param memory       target guest memory.
     * @param kernel       the memory kernel.
     * @param memoryZeroed false to take every page for one that may hold old bytes (no scan).
     */
    MemoryCommitter(final GuestMemory memory, final MemoryKernel kernel, final boolean memoryZeroed)
    {
        this.memory = memory;
        this.kernel = kernel;
        this.pageCount = memory.pageCount();
        this.pageSize = memory.pageSize();
        this.scan = memoryZeroed ? new GuestPageScan(kernel, memory) : null;
        this.dataMap = new long[(int)((pageCount + 63) >>> 6)];
        this.preparedWindows = new long[(int)(((pageCount + WINDOW_PAGES - 1) / WINDOW_PAGES + 63) >>> 6)];
        final int regions = memory.regionCount();
        this.regionFirstPage = new long[regions + 1];
        for (int i = 0; i < regions; i++)
        {
            regionFirstPage[i + 1] = regionFirstPage[i] + memory.regionLengthBytes(i) / pageSize;
        }
    }

    /**
     * A DATA_MAP chunk: remember which pages carry data.
     *
     * @param buffer holding the frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onDataMap(final DirectBuffer buffer, final int offset, final int length)
    {
        final PageMapFlyweight map = mapFlyweight;
        map.wrapForRead(buffer, offset);
        map.validate(length, pageCount, 0); // chunks come in any order, once from each lane
        final int firstWord = map.firstWord();
        final int count = map.wordCount();
        for (int i = 0; i < count; i++)
        {
            dataMap[firstWord + i] |= map.word(i);
        }
        mapped = true;
        dataMapFrames++;
    }

    /**
     * A page is about to be written: commit the data pages of its window first, if not done yet.
     *
     * @param pageIndex a valid page index.
     */
    void beforeWrite(final long pageIndex)
    {
        final long window = pageIndex / WINDOW_PAGES;
        final int word = (int)(window >>> 6);
        final long bit = 1L << window;
        if ((preparedWindows[word] & bit) != 0)
        {
            return;
        }
        preparedWindows[word] |= bit;
        if (null != scan)
        {
            scan.ensureScanned(pageIndex); // learn which pages held bytes before any is written here
        }
        if (mapped && populating)
        {
            commitWindow(window * WINDOW_PAGES, Math.min(pageCount, (window + 1) * WINDOW_PAGES));
        }
    }

    /**
     * @param pageIndex a page the source says is zero, not written here before in this migration.
     * @return true if it may hold old bytes and must be cleared; false if it already reads as zero.
     */
    boolean mayHoldOldBytes(final long pageIndex)
    {
        if (null == scan || scan.mayHoldData(pageIndex))
        {
            stalePagesCleared++;
            return true;
        }
        return false;
    }

    /** @return pages committed in batches. */
    long pagesCommitted()
    {
        return pagesCommitted;
    }

    /** @return MADV_POPULATE_WRITE calls (or their fallbacks) made. */
    long populateCalls()
    {
        return populateCalls;
    }

    /** @return DATA_MAP frames taken. */
    long dataMapFrames()
    {
        return dataMapFrames;
    }

    /** @return zero pages cleared because they may have held old bytes. */
    long stalePagesCleared()
    {
        return stalePagesCleared;
    }

    /** @return the memory kernel. */
    MemoryKernel kernel()
    {
        return kernel;
    }

    private void commitWindow(final long firstPage, final long endPage)
    {
        long page = firstPage;
        int region = regionOf(firstPage);
        while (page < endPage)
        {
            final int w = (int)(page >>> 6);
            final long bits = dataMap[w] & (-1L << page);
            if (bits == 0)
            {
                page = ((long)w + 1) << 6;
                continue;
            }
            page = ((long)w << 6) + Long.numberOfTrailingZeros(bits);
            if (page >= endPage)
            {
                return;
            }
            while (page >= regionFirstPage[region + 1])
            {
                region++;
            }
            final long runLimit = Math.min(endPage, regionFirstPage[region + 1]);
            long runEnd = page + 1;
            while (runEnd < runLimit && (dataMap[(int)(runEnd >>> 6)] & (1L << runEnd)) != 0)
            {
                runEnd++;
            }
            try
            {
                kernel.populateWrite(memory.pageAddress(page), (runEnd - page) * pageSize);
            }
            catch (final KernelCallException ex)
            {
                populating = false; // out of memory to commit ahead, say: the pages fault in as they are written
                return;
            }
            populateCalls++;
            pagesCommitted += runEnd - page;
            page = runEnd;
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
}
