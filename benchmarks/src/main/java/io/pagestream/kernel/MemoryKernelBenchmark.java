package io.pagestream.kernel;

import io.pagestream.bench.BenchmarkDefaults;
import org.agrona.UnsafeApi;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The kernel's batch calls against their page-by-page baselines, in one class:
 * <ul>
 * <li>populating a fresh 64 MiB anonymous mapping with one MADV_POPULATE_WRITE against touching it a page at a time
 * (a new mapping for every invocation, unmapped after it);</li>
 * <li>the populated-page map of 1 GiB with a share of its pages touched at random, with PAGEMAP_SCAN against reading
 * /proc/self/pagemap, 8 bytes per page.</li>
 * </ul>
 * One operation is the whole range; times are per operation.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MemoryKernelBenchmark extends BenchmarkDefaults
{
    private static final int PAGE = 4096;
    private static final long POPULATE_BYTES = 64L << 20;
    private static final long MAP_BYTES = 1L << 30;

    /** A fresh, never-touched 64 MiB anonymous mapping per invocation. */
    @State(Scope.Thread)
    public static class FreshMapping
    {
        final MemoryKernel kernel = MemoryKernel.create();
        long address;

        /** Map before each invocation. */
        @Setup(Level.Invocation)
        public void map()
        {
            address = kernel.mapAnonymous(POPULATE_BYTES, false);
        }

        /** Unmap after each invocation. */
        @TearDown(Level.Invocation)
        public void unmap()
        {
            kernel.unmap(address, POPULATE_BYTES);
        }
    }

    /** 1 GiB of anonymous memory with {@code percent} of its pages touched at random. */
    @State(Scope.Thread)
    public static class SparseGiB
    {
        @Param({ "1", "50" })
        int percent;

        final MemoryKernel scanning = MemoryKernel.create();
        final MemoryKernel reading = new LinuxMemoryKernel(false, true);
        final long[] bitmap = new long[(int)(MAP_BYTES / PAGE / 64)];
        long address;
        long touched;

        /** Map and touch. */
        @Setup(Level.Trial)
        public void map()
        {
            address = scanning.mapAnonymous(MAP_BYTES, false);
            final SplittableRandom random = new SplittableRandom(7);
            final long pages = MAP_BYTES / PAGE;
            for (long i = 0; i < pages * percent / 100; i++)
            {
                UnsafeApi.putByte(address + random.nextLong(pages) * PAGE, (byte)1);
            }
            touched = scanning.populatedPages(address, MAP_BYTES, PAGE, bitmap);
            if (reading.populatedPages(address, MAP_BYTES, PAGE, bitmap) != touched)
            {
                throw new IllegalStateException("PAGEMAP_SCAN and /proc/self/pagemap disagree");
            }
        }

        /** Unmap, and show which paths were taken. */
        @TearDown(Level.Trial)
        public void unmap()
        {
            scanning.unmap(address, MAP_BYTES);
            System.out.println(scanning.stats().describe());
            System.out.println(reading.stats().describe());
        }
    }

    /**
     * Baseline: one write per page, each a first-touch fault.
     *
     * @param mapping the fresh mapping.
     * @return a byte of it.
     */
    @Benchmark
    public byte populateByTouch(final FreshMapping mapping)
    {
        final long end = mapping.address + POPULATE_BYTES;
        for (long p = mapping.address; p < end; p += PAGE)
        {
            UnsafeApi.putByte(p, (byte)1);
        }
        return UnsafeApi.getByte(mapping.address);
    }

    /**
     * One madvise(MADV_POPULATE_WRITE) for the whole mapping.
     *
     * @param mapping the fresh mapping.
     * @return a byte of it.
     */
    @Benchmark
    public byte populateWrite(final FreshMapping mapping)
    {
        mapping.kernel.populateWrite(mapping.address, POPULATE_BYTES);
        return UnsafeApi.getByte(mapping.address);
    }

    /**
     * Populated-page map with PAGEMAP_SCAN.
     *
     * @param sparse the touched gibibyte.
     * @return pages populated.
     */
    @Benchmark
    public long populatedMapPagemapScan(final SparseGiB sparse)
    {
        return sparse.scanning.populatedPages(sparse.address, MAP_BYTES, PAGE, sparse.bitmap);
    }

    /**
     * Baseline: populated-page map from /proc/self/pagemap, 8 bytes per page.
     *
     * @param sparse the touched gibibyte.
     * @return pages populated.
     */
    @Benchmark
    public long populatedMapPagemapRead(final SparseGiB sparse)
    {
        return sparse.reading.populatedPages(sparse.address, MAP_BYTES, PAGE, sparse.bitmap);
    }
}
