package io.pagestream.codec;

import org.agrona.BufferUtil;
import org.agrona.UnsafeApi;
import io.pagestream.bench.BenchmarkDefaults;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * Zero-page detection over all-zero 4 KiB pages (the worst case: every byte must be read) against a memcpy of the
 * same bytes, on a 1 MiB set that stays in cache and a 64 MiB set that streams from memory as a guest scan does.
 * One operation is one page.
 */
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ZeroPageBenchmark extends BenchmarkDefaults
{
    private static final int PAGE = 4096;
    private static final int BATCH = 256;

    @Param({ "1", "64" })
    int mebibytes;

    private int pages;
    private int next;
    private ByteBuffer source;
    private ByteBuffer destination;
    private long sourceAddress;
    private long destinationAddress;

    /** Allocate zeroed pages and a copy destination. */
    @Setup
    public void setup()
    {
        pages = mebibytes * 256;
        source = BufferUtil.allocateDirectAligned(pages * PAGE, 4096);
        destination = BufferUtil.allocateDirectAligned(pages * PAGE, 4096);
        sourceAddress = BufferUtil.address(source);
        destinationAddress = BufferUtil.address(destination);
    }

    /** @return zero pages found. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int zeroCheck()
    {
        int zero = 0;
        final int first = advance();
        for (int i = first; i < first + BATCH; i++)
        {
            zero += ZeroPages.isZero(sourceAddress + (long)i * PAGE, PAGE) ? 1 : 0;
        }
        return zero;
    }

    private int advance()
    {
        final int first = next;
        next = next + BATCH == pages ? 0 : next + BATCH;
        return first;
    }

    /** @return a byte of the copy. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public byte memcpy()
    {
        final int first = advance();
        for (int i = first; i < first + BATCH; i++)
        {
            UnsafeApi.copyMemory(sourceAddress + (long)i * PAGE, destinationAddress + (long)i * PAGE, PAGE);
        }
        return UnsafeApi.getByte(destinationAddress + 17);
    }
}
