package io.pagestream.codec;

import org.agrona.BufferUtil;
import org.agrona.UnsafeApi;
import io.pagestream.bench.BenchmarkDefaults;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Delta-encoding one 4 KiB page against its previous version: PageStream's {@link DeltaCodec} (vectorised mismatch
 * for unchanged runs, word-at-a-time changed runs) against {@link PlainXbzrle}, a byte-at-a-time port of the XBZRLE
 * loop, on the same page pairs in the same run. Both produce the same bytes (checked by the codec's properties).
 */
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class DeltaEncodeBenchmark extends BenchmarkDefaults
{
    private static final int PAGE = 4096;

    @Param({ "1byte", "64bytes", "1pct", "10pct", "50pct", "random" })
    String changes;

    private final byte[] oldArray = new byte[PAGE];
    private final byte[] newArray = new byte[PAGE];
    private final byte[] outArray = new byte[2 * PAGE];
    private ByteBuffer memory;
    private long oldPage;
    private long newPage;
    private long out;

    /** Build the page pair. */
    @Setup
    public void setup()
    {
        final Random random = new Random(42);
        random.nextBytes(oldArray);
        System.arraycopy(oldArray, 0, newArray, 0, PAGE);
        final int changed;
        switch (changes)
        {
            case "1byte": changed = 1; break;
            case "64bytes": changed = 64; break;
            case "1pct": changed = PAGE / 100; break;
            case "10pct": changed = PAGE / 10; break;
            case "50pct": changed = PAGE / 2; break;
            default: changed = -1;
        }
        if (changed < 0)
        {
            random.nextBytes(newArray);
        }
        else
        {
            for (int i = 0; i < changed; i++)
            {
                final int at = random.nextInt(PAGE);
                newArray[at] = (byte)(oldArray[at] + 1 + random.nextInt(255));
            }
        }
        memory = BufferUtil.allocateDirectAligned(4 * PAGE, 64);
        oldPage = BufferUtil.address(memory);
        newPage = oldPage + PAGE;
        out = newPage + PAGE;
        final long base = UnsafeApi.arrayBaseOffset(byte[].class);
        UnsafeApi.copyMemory(oldArray, base, null, oldPage, PAGE);
        UnsafeApi.copyMemory(newArray, base, null, newPage, PAGE);
    }

    /** @return encoded length. */
    @Benchmark
    public int pageStreamDelta()
    {
        return DeltaCodec.encode(oldPage, newPage, PAGE, out, 2 * PAGE);
    }

    /** @return encoded length. */
    @Benchmark
    public int plainXbzrle()
    {
        return PlainXbzrle.encode(oldArray, newArray, PAGE, outArray, 2 * PAGE);
    }
}
