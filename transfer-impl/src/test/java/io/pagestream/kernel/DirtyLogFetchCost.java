package io.pagestream.kernel;

import io.pagestream.api.guest.GuestMemory;
import org.agrona.UnsafeApi;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Prints what one {@link WriteProtectDirtyPageLog#fetchAndClear(long[])} costs on anonymous guest memory of 1 GiB and
 * 8 GiB (MAP_NORESERVE, 1 GiB regions) with 1% and 10% of pages written, scattered at random or in runs of 64 pages.
 * A manual measurement, not a test: run with the test classpath and
 * {@code --enable-native-access=ALL-UNNAMED --add-opens java.base/jdk.internal.misc=ALL-UNNAMED}; it touches up to
 * 10% of 8 GiB.
 * <p>
 * Arguments: sizes in GiB (default "1,8"), percentages (default "1,10").
 */
public final class DirtyLogFetchCost
{
    private static final int PAGE = 4096;
    private static final long GIB = 1L << 30;
    private static final int REPEATS = 7;

    private DirtyLogFetchCost()
    {
    }

    /**
     * @param args optional sizes in GiB and percentages, comma-separated.
     */
    public static void main(final String[] args)
    {
        final int[] sizes = parse(args.length > 0 ? args[0] : "1,8");
        final int[] percents = parse(args.length > 1 ? args[1] : "1,10");
        final MemoryKernel kernel = MemoryKernel.create();
        System.out.println("userfaultfd features offered: 0x" + Long.toHexString(UserFaultFd.availableFeatures()));
        for (final int gib : sizes)
        {
            final long size = gib * GIB;
            final long address = kernel.mapAnonymous(size, false);
            final long[] addresses = new long[gib];
            final long[] lengths = new long[gib];
            for (int i = 0; i < gib; i++)
            {
                addresses[i] = address + i * GIB;
                lengths[i] = GIB;
            }
            final GuestMemory memory = GuestMemory.wrap(PAGE, addresses, lengths);
            final long[] bitmap = new long[(int)(memory.pageCount() / 64)];
            try (WriteProtectDirtyPageLog log = new WriteProtectDirtyPageLog(memory))
            {
                long start = System.nanoTime();
                log.startTracking();
                System.out.printf("%d GiB: startTracking (register + write-protect, WP_UNPOPULATED markers) %.2f ms%n",
                    gib, (System.nanoTime() - start) / 1e6);
                System.out.printf("%d GiB: empty fetch, median of %d: %.3f ms (%d regions)%n",
                    gib, REPEATS, medianFetchMs(log, bitmap, memory, null), gib);
                for (final int percent : percents)
                {
                    for (final int run : new int[]{ 1, 64 })
                    {
                        final long[] pages = choose(memory.pageCount(), percent, run, 31L * gib + percent + run);
                        start = System.nanoTime();
                        write(memory, pages);
                        final double writeMs = (System.nanoTime() - start) / 1e6;
                        final long scansBefore = log.scans();
                        Arrays.fill(bitmap, 0);
                        start = System.nanoTime();
                        final long found = log.fetchAndClear(bitmap);
                        final double firstMs = (System.nanoTime() - start) / 1e6;
                        if (found != pages.length)
                        {
                            throw new IllegalStateException("fetched " + found + " of " + pages.length);
                        }
                        final long scans = log.scans() - scansBefore;
                        final double steadyMs = medianFetchMs(log, bitmap, memory, pages);
                        System.out.printf("%d GiB, %2d%% written (%s): %7d pages; writes %.1f ms; " +
                            "fetch after first touch %.3f ms (%d scans); fetch after rewrite, median of %d: %.3f ms " +
                            "= %.0f ns/written page%n",
                            gib, percent, run == 1 ? "scattered" : "runs of " + run, pages.length, writeMs, firstMs,
                            scans, REPEATS, steadyMs, steadyMs * 1e6 / pages.length);
                        softwareBeside(memory, pages, bitmap);
                    }
                }
            }
            finally
            {
                kernel.unmap(address, size);
            }
        }
        System.out.println(kernel.stats().describe());
    }

    /**
     * The software log on the same writes, in the same run: what marking costs the writers (an atomic OR per write,
     * paid by the vCPU threads) and what a fetch costs (every word swapped).
     */
    private static void softwareBeside(final GuestMemory memory, final long[] pages, final long[] bitmap)
    {
        final io.pagestream.synthetic.SoftwareDirtyLog soft =
            new io.pagestream.synthetic.SoftwareDirtyLog(memory.pageCount());
        soft.startTracking();
        final long[] fetch = new long[REPEATS];
        final long[] mark = new long[REPEATS];
        for (int i = 0; i < REPEATS; i++)
        {
            long start = System.nanoTime();
            for (final long page : pages)
            {
                soft.markDirty(page);
            }
            mark[i] = System.nanoTime() - start;
            Arrays.fill(bitmap, 0);
            start = System.nanoTime();
            soft.fetchAndClear(bitmap);
            fetch[i] = System.nanoTime() - start;
        }
        Arrays.sort(fetch);
        Arrays.sort(mark);
        System.out.printf("    software log, same run: fetch %.3f ms, marking %.1f ns/write (paid by the writers)%n",
            fetch[REPEATS / 2] / 1e6, (double)mark[REPEATS / 2] / pages.length);
    }

    private static double medianFetchMs(
        final WriteProtectDirtyPageLog log, final long[] bitmap, final GuestMemory memory, final long[] rewrite)
    {
        final long[] times = new long[REPEATS];
        for (int i = 0; i < REPEATS; i++)
        {
            if (null != rewrite)
            {
                write(memory, rewrite);
            }
            Arrays.fill(bitmap, 0);
            final long start = System.nanoTime();
            final long found = log.fetchAndClear(bitmap);
            times[i] = System.nanoTime() - start;
            if (found != (null == rewrite ? 0 : rewrite.length))
            {
                throw new IllegalStateException("fetched " + found + " pages, expected " +
                    (null == rewrite ? 0 : rewrite.length));
            }
        }
        Arrays.sort(times);
        return times[REPEATS / 2] / 1e6;
    }

    private static void write(final GuestMemory memory, final long[] pages)
    {
        for (final long page : pages)
        {
            UnsafeApi.putLong(memory.pageAddress(page) + 64, page);
        }
    }

    /** Distinct pages, {@code percent} of all, in runs of {@code run} pages placed at random. */
    private static long[] choose(final long pageCount, final int percent, final int run, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final long[] chosen = new long[(int)(pageCount / 64)];
        final int wanted = (int)(pageCount * percent / 100);
        final long[] pages = new long[wanted];
        int count = 0;
        while (count < wanted)
        {
            final long first = random.nextLong(pageCount / run) * run;
            for (long page = first; page < first + run && count < wanted; page++)
            {
                if ((chosen[(int)(page >>> 6)] & (1L << page)) == 0)
                {
                    chosen[(int)(page >>> 6)] |= 1L << page;
                    pages[count++] = page;
                }
            }
        }
        return pages;
    }

    private static int[] parse(final String list)
    {
        return Arrays.stream(list.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
