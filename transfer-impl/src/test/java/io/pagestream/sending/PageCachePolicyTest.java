package io.pagestream.sending;

import io.pagestream.pages.PageBitmap;
import io.pagestream.api.PageCachePolicy;
import io.pagestream.synthetic.Workload;
import org.agrona.BufferUtil;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.EnumMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CLOCK against LRU on the synthetic workloads' send streams: each round sends, in page order, the pages the guest
 * dirtied during the previous round; a hit is a page whose last version is still cached. The cache holds a quarter
 * more than the hot set, far less than a round's pages.
 */
class PageCachePolicyTest
{
    private static final int PAGES = 65_536;
    private static final int PAGE_SIZE = 4096;
    private static final int HOT_PAGES = PAGES / 50;
    private static final int WRITES_PER_ROUND = 8_000;
    private static final int ROUNDS = 30;

    private static double hitRate(final Workload workload, final PageCachePolicy policy, final long capacityBytes)
    {
        final PageCache cache = new PageCache(capacityBytes, PAGE_SIZE, PAGES, policy);
        final ByteBuffer page = BufferUtil.allocateDirectAligned(PAGE_SIZE, 64);
        final long address = BufferUtil.address(page);
        final Random random = new Random(7);
        final PageBitmap dirty = new PageBitmap(PAGES);
        long sequential = 0;
        long hits = 0;
        long lookups = 0;
        for (int round = 0; round < ROUNDS; round++)
        {
            for (int w = 0; w < WRITES_PER_ROUND; w++)
            {
                final long pageIndex;
                switch (workload)
                {
                    case HOTSET:
                        pageIndex = random.nextDouble() < 0.9 ? random.nextInt(HOT_PAGES) : random.nextInt(PAGES);
                        break;
                    case SEQUENTIAL:
                        pageIndex = sequential++ % PAGES;
                        break;
                    default:
                        pageIndex = random.nextInt(PAGES);
                }
                dirty.set(pageIndex);
            }
            for (long p = dirty.takeNext(0); p >= 0; p = dirty.takeNext(p + 1))
            {
                lookups++;
                if (cache.lookup(p) != 0)
                {
                    hits++;
                }
                cache.put(p, address);
            }
        }
        return (double)hits / lookups;
    }

    @Test
    void shouldKeepTheHotSetWhereLruThrashes()
    {
        final long capacity = (long)(HOT_PAGES * 1.25) * PAGE_SIZE;
        final Map<Workload, double[]> rates = new EnumMap<>(Workload.class);
        for (final Workload workload : new Workload[]{ Workload.HOTSET, Workload.UNIFORM, Workload.SEQUENTIAL })
        {
            rates.put(workload, new double[]{
                hitRate(workload, PageCachePolicy.CLOCK, capacity), hitRate(workload, PageCachePolicy.LRU, capacity) });
        }
        System.out.println("page cache hit rate, " + capacity / PAGE_SIZE + " slots, " + PAGES + " pages:");
        rates.forEach((w, r) -> System.out.printf("  %-10s CLOCK %5.1f%%  LRU %5.1f%%%n", w, r[0] * 100, r[1] * 100));

        final double[] hot = rates.get(Workload.HOTSET);
        assertTrue(hot[0] > hot[1] + 0.2, "CLOCK keeps the hot set: " + hot[0] + " vs LRU " + hot[1]);
        for (final double[] r : rates.values())
        {
            assertTrue(r[0] >= r[1] - 0.02, "CLOCK never clearly worse: " + r[0] + " vs " + r[1]);
        }
    }
}
