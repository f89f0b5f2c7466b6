package io.pagestream.kernel;

import io.pagestream.api.guest.GuestMemory;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.agrona.UnsafeApi;

import java.lang.invoke.VarHandle;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The kernel-kept dirty log is exact under concurrency: real threads write random pages (some writing back the value
 * already there) while fetches run one after another.
 * <p>
 * The fetcher sets {@code epoch = n}, then runs fetch n. A writer reads the epoch before its write ({@code before})
 * and after it ({@code after}). Reading {@code before = b} means epoch b + 1 was not yet set, so fetch b - 1 had
 * finished before the write: the write can only be reported by fetch b or later. Reading {@code after = a} means
 * epoch a + 1 was not yet set when the write was done, so fetch a + 1 began after it: the write must be reported by
 * fetch a + 1 at the latest. So every write is in one of the fetches {@code [max(b, 1), a + 1]} (a write done after
 * fetch N began is in fetch N or N + 1), and every page a fetch reports is explained by a write whose window holds
 * that fetch: nothing lost, nothing invented. The last fetch runs after the writers have stopped.
 */
class WriteProtectDirtyPageLogProperties
{
    private static final int PAGE = 4096;
    private static final int PAGES_PER_REGION = 256;
    private static final int RECORDS = 200_000;
    private static final int FETCHES = 40;

    private final AtomicLong epoch = new AtomicLong();
    private volatile boolean stop;

    /** One writing thread and its record of what it wrote when. */
    private final class Writer extends Thread
    {
        private final GuestMemory memory;
        private final SplittableRandom random;
        final long[] pages = new long[RECORDS];
        final long[] before = new long[RECORDS];
        final long[] after = new long[RECORDS];
        int count;

        Writer(final GuestMemory memory, final long seed)
        {
            super("dirty-page-writer");
            this.memory = memory;
            this.random = new SplittableRandom(seed);
            setDaemon(true);
        }

        public void run()
        {
            final long pageCount = memory.pageCount();
            while (!stop && count < RECORDS)
            {
                final long page = random.nextLong(pageCount);
                final long address = memory.pageAddress(page);
                final long offset = 8L * random.nextInt(PAGE / 8);
                final long epochBefore = epoch.get();
                switch (random.nextInt(3))
                {
                    case 0 -> UnsafeApi.putLongVolatile(null, address, page); // the same value every time
                    case 1 -> UnsafeApi.putLongVolatile(null, address + offset,
                        UnsafeApi.getLongVolatile(null, address + offset)); // puts back what is there
                    default -> UnsafeApi.putLongVolatile(null, address + offset, random.nextLong());
                }
                final long epochAfter = epoch.get();
                pages[count] = page;
                before[count] = epochBefore;
                after[count] = epochAfter;
                count++;
                if ((count & 1023) == 0)
                {
                    Thread.yield();
                }
            }
        }
    }

    @Property(tries = 12)
    void shouldReportEveryWriteInAFetchOfItsWindowAndNoPageWithoutAWrite(
        @ForAll @IntRange(min = 1, max = 3) final int regions,
        @ForAll @IntRange(min = 2, max = 4) final int writers,
        @ForAll @IntRange(min = 0, max = 2) final int scanRegionsChoice,
        @ForAll final long seed) throws InterruptedException
    {
        Assume.that(WriteProtectDirtyPageLog.isAvailable());
        stop = false;
        epoch.set(0);
        final MemoryKernel kernel = MemoryKernel.create();
        final long[] addresses = new long[regions];
        final long[] lengths = new long[regions];
        for (int i = 0; i < regions; i++)
        {
            lengths[i] = (long)PAGES_PER_REGION * PAGE * (i + 1);
            addresses[i] = kernel.mapAnonymous(lengths[i], false);
        }
        final GuestMemory memory = GuestMemory.wrap(PAGE, addresses, lengths);
        final int words = (int)((memory.pageCount() + 63) / 64);
        final long[][] fetched = new long[FETCHES + 2][words];
        final Writer[] threads = new Writer[writers];
        final int scanRegions = new int[]{ 3, 64, 4096 }[scanRegionsChoice];
        try (WriteProtectDirtyPageLog log = new WriteProtectDirtyPageLog(memory, scanRegions))
        {
            log.startTracking();
            for (int w = 0; w < writers; w++)
            {
                threads[w] = new Writer(memory, seed + w);
                threads[w].start();
            }
            final SplittableRandom pause = new SplittableRandom(seed);
            for (int n = 1; n <= FETCHES; n++)
            {
                epoch.set(n);
                VarHandle.fullFence(); // the epoch is visible before the scan reads a page table entry
                log.fetchAndClear(fetched[n]);
                LockSupport.parkNanos(pause.nextLong(20_000, 300_000));
            }
            stop = true;
            for (final Writer writer : threads)
            {
                writer.join();
            }
            epoch.set(FETCHES + 1);
            VarHandle.fullFence();
            log.fetchAndClear(fetched[FETCHES + 1]);
        }
        finally
        {
            stop = true;
            for (final Writer writer : threads)
            {
                if (null != writer)
                {
                    writer.join();
                }
            }
            for (int i = 0; i < regions; i++)
            {
                kernel.unmap(addresses[i], lengths[i]);
            }
        }

        final long[][] explained = new long[FETCHES + 2][words];
        long writes = 0;
        long writesDuringOneFetch = 0;
        for (final Writer writer : threads)
        {
            for (int i = 0; i < writer.count; i++)
            {
                final long page = writer.pages[i];
                final int word = (int)(page >>> 6);
                final long bit = 1L << page;
                final int from = (int)Math.max(writer.before[i], 1);
                final int to = (int)writer.after[i] + 1;
                boolean found = false;
                for (int n = from; n <= to; n++)
                {
                    found |= (fetched[n][word] & bit) != 0;
                    explained[n][word] |= bit;
                }
                assertThat(found).as("page %d written in epochs [%d, %d] is in none of fetches %d..%d",
                    page, writer.before[i], writer.after[i], from, to).isTrue();
                writes++;
                writesDuringOneFetch += writer.before[i] == writer.after[i] && writer.before[i] > 0 ? 1 : 0;
            }
        }
        long reported = 0;
        for (int n = 1; n <= FETCHES + 1; n++)
        {
            for (int w = 0; w < words; w++)
            {
                final long unexplained = fetched[n][w] & ~explained[n][w];
                assertThat(unexplained).as("fetch %d reported pages of word %d no write explains: %s",
                    n, w, Long.toBinaryString(unexplained)).isZero();
                reported += Long.bitCount(fetched[n][w]);
            }
        }
        assertThat(writes).as("writes made").isGreaterThan(1000);
        assertThat(writesDuringOneFetch).as("writes that began and ended within one epoch").isPositive();
        assertThat(reported).as("pages reported").isPositive();
    }
}
