package io.pagestream.codec;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.synthetic.SyntheticGuest;
import org.agrona.UnsafeApi;
import io.pagestream.bench.BenchmarkDefaults;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * LZ4 compress and decompress per 4 KiB page over the synthetic guest's non-zero pages (half text-like, half
 * heap-like binary), beside a plain page copy as the baseline. One operation is one page.
 */
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class Lz4PageBenchmark extends BenchmarkDefaults
{
    private static final int PAGE = 4096;
    private static final int PAGES = 256;
    private GuestMemory memory;
    private GuestMemory compressed;
    private final int[] lengths = new int[PAGES];
    private Lz4PageCodec codec;

    /** Fill a guest with data pages only and pre-compress them for the decompress benchmark. */
    @Setup(Level.Trial)
    public void setup()
    {
        memory = GuestMemory.allocate((long)PAGES * PAGE, PAGE);
        compressed = GuestMemory.allocate((long)PAGES * PAGE * 2, PAGE);
        SyntheticGuest.fill(memory, 1.0, 42);
        codec = new Lz4PageCodec(PAGE);
        long total = 0;
        for (int i = 0; i < PAGES; i++)
        {
            lengths[i] = codec.compress(memory.pageAddress(i), codec.maxCompressedLength());
            UnsafeApi.copyMemory(codec.outputAddress(), compressed.pageAddress(2L * i), lengths[i]);
            total += lengths[i];
        }
        System.out.printf("%nLZ4 ratio on these pages: %.2f%n", (double)PAGES * PAGE / total);
    }

    /** Free memory. */
    @TearDown(Level.Trial)
    public void tearDown()
    {
        memory.close();
        compressed.close();
    }

    /** @return total compressed bytes. */
    @Benchmark
    @OperationsPerInvocation(PAGES)
    public int compress()
    {
        int total = 0;
        for (int i = 0; i < PAGES; i++)
        {
            total += codec.compress(memory.pageAddress(i), codec.maxCompressedLength());
        }
        return total;
    }

    /** @return address of the last page decoded. */
    @Benchmark
    @OperationsPerInvocation(PAGES)
    public long decompress()
    {
        long last = 0;
        for (int i = 0; i < PAGES; i++)
        {
            last = codec.decompress(compressed.pageAddress(2L * i), lengths[i], i);
        }
        return last;
    }

    /** @return a byte of the copy. */
    @Benchmark
    @OperationsPerInvocation(PAGES)
    public byte pageCopy()
    {
        for (int i = 0; i < PAGES; i++)
        {
            UnsafeApi.copyMemory(memory.pageAddress(i), codec.outputAddress(), PAGE);
        }
        return UnsafeApi.getByte(codec.outputAddress() + 5);
    }
}
