package io.pagestream.codec;

import org.agrona.BufferUtil;
import org.agrona.UnsafeApi;

import java.nio.ByteBuffer;

/**
 * Exercises the page codecs on scratch pages at launch, for two reasons: the JIT compiles the delta, LZ4, checksum and
 * mismatch paths before the first page needs them (otherwise they first run, interpreted, in the stop-and-copy round,
 * where every microsecond is downtime), and each round trip is checked, so a broken codec or a missing native library
 * fails the launch instead of a migration. Bounded: at most {@link #ITERATIONS} pages, tens of milliseconds.
 */
public final class CodecWarmup
{
    /** Page round trips that warm the JIT; for a side that is idle while it waits (the target before the hello). */
    public static final int ITERATIONS = 3_000;
    /**
     * Page round trips that only check the codecs: too few for their page-long loops to reach the JIT's on-stack
     * compilation thresholds, whose compilations would otherwise compete for cores with the migration that starts
     * right after (measured on the source: about 10% of the run with a full warm-up).
     */
    public static final int SELF_CHECK_ITERATIONS = 2;

    private CodecWarmup()
    {
    }

    /**
     * @param pageSize   page size in bytes; pages larger than 64 KiB are warmed with a 64 KiB page.
     * @param iterations page round trips: {@link #ITERATIONS} to warm, {@link #SELF_CHECK_ITERATIONS} to check.
     * @return nanoseconds spent.
     * @throws IllegalStateException if any round trip does not reproduce its page.
     */
    public static long run(final int pageSize, final int iterations)
    {
        final long start = System.nanoTime();
        final int size = Math.min(pageSize, 64 * 1024);
        final ByteBuffer buffers = BufferUtil.allocateDirectAligned(4 * size, 64);
        final long oldPage = BufferUtil.address(buffers);
        final long newPage = oldPage + size;
        final long encoded = newPage + size;
        final long target = encoded + size;
        final Lz4PageCodec lz4 = new Lz4PageCodec(size);

        long x = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < size; i += 8)
        {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            UnsafeApi.putLong(oldPage + i, (x & 3) == 0 ? x : x & 0xFFFF);
        }
        for (int i = 0; i < iterations; i++)
        {
            UnsafeApi.copyMemory(oldPage, newPage, size);
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            UnsafeApi.putLong(newPage + (((x >>> 33) % (size / 8)) << 3), x);
            UnsafeApi.putByte(newPage + size - 1, (byte)i);

            final int length = DeltaCodec.encode(oldPage, newPage, size, encoded, size);
            UnsafeApi.copyMemory(oldPage, target, size);
            DeltaCodec.validate(encoded, length, size, i);
            DeltaCodec.apply(encoded, length, target);
            check(Checksums.crc32c(target, size) == Checksums.crc32c(newPage, size), "delta", i);

            final int compressed = lz4.compress(newPage, lz4.maxCompressedLength());
            UnsafeApi.copyMemory(lz4.outputAddress(), encoded, compressed);
            final long decoded = lz4.decompress(encoded, compressed, i);
            check(NativeMismatch.mismatch(decoded, newPage, size) < 0, "lz4", i);
            check(!ZeroPages.isZero(newPage, size), "zero-page check", i);
        }
        java.lang.ref.Reference.reachabilityFence(buffers);
        return System.nanoTime() - start;
    }

    private static void check(final boolean ok, final String what, final int iteration)
    {
        if (!ok)
        {
            throw new IllegalStateException(what + " round trip failed on warm-up page " + iteration);
        }
    }
}
