package io.pagestream.codec;

import org.agrona.BufferUtil;
import org.agrona.UnsafeAccess;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * Zero-page detection over 256 all-zero 4 KiB pages (1 MiB, the worst case: every byte must be read) against a
 * memcpy of the same bytes. One operation is one page.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {
    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/java.util.zip=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.util=ALL-UNNAMED" })
@State(Scope.Thread)
public class ZeroPageBenchmark
{
    private static final int PAGE = 4096;
    private static final int PAGES = 256;
    private ByteBuffer source;
    private ByteBuffer destination;
    private long sourceAddress;
    private long destinationAddress;

    /** Allocate zeroed pages and a copy destination. */
    @Setup
    public void setup()
    {
        source = BufferUtil.allocateDirectAligned(PAGES * PAGE, 4096);
        destination = BufferUtil.allocateDirectAligned(PAGES * PAGE, 4096);
        sourceAddress = BufferUtil.address(source);
        destinationAddress = BufferUtil.address(destination);
    }

    /** @return zero pages found. */
    @Benchmark
    @OperationsPerInvocation(PAGES)
    public int zeroCheck()
    {
        int zero = 0;
        for (int i = 0; i < PAGES; i++)
        {
            zero += ZeroPages.isZero(sourceAddress + (long)i * PAGE, PAGE) ? 1 : 0;
        }
        return zero;
    }

    /** @return a byte of the copy. */
    @Benchmark
    @OperationsPerInvocation(PAGES)
    public byte memcpy()
    {
        for (int i = 0; i < PAGES; i++)
        {
            UnsafeAccess.UNSAFE.copyMemory(sourceAddress + (long)i * PAGE, destinationAddress + (long)i * PAGE, PAGE);
        }
        return UnsafeAccess.UNSAFE.getByte(destinationAddress + 17);
    }
}
