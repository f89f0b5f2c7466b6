package io.pagestream.security;

import io.pagestream.bench.BenchmarkDefaults;
import io.pagestream.codec.Checksums;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;

import java.util.concurrent.TimeUnit;

/**
 * The per-frame cost of frame protection: tagging one 4 KiB page frame (header plus page) with {@link FrameMac}
 * (HMAC-SHA256), and sealing it (AES-256-GCM, which includes a copy of the frame), against the two baselines a page
 * frame always pays in the same run: copying it (the send) and its CRC32C. One operation is one frame.
 */
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class FrameMacBenchmark extends BenchmarkDefaults
{
    private static final int FRAME = 48 + 4096;

    private UnsafeBuffer frame;
    private UnsafeBuffer copy;
    private FrameMac mac;
    private FrameMac gcm;

    /** A frame of pseudo-random bytes and a signer. */
    @Setup
    public void setup()
    {
        frame = new UnsafeBuffer(BufferUtil.allocateDirectAligned(FRAME + FrameMac.TAG_LENGTH, 64));
        copy = new UnsafeBuffer(BufferUtil.allocateDirectAligned(FRAME + FrameMac.TAG_LENGTH, 64));
        long x = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < FRAME; i += 8)
        {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            frame.putLong(i, x);
        }
        final byte[] key = new byte[32];
        key[0] = 1;
        mac = new FrameMac(key, FrameMac.LANE_DATA);
        gcm = new FrameMac(key, FrameMac.LANE_DATA, true);
    }

    /** @return a byte of the sealed frame. */
    @Benchmark
    public byte seal()
    {
        copy.putBytes(0, frame, 0, FRAME); // seal works in place: start from the plaintext every time
        gcm.sign(copy, 0, FRAME);
        return copy.getByte(FRAME);
    }

    /** @return a byte of the tag. */
    @Benchmark
    public byte sign()
    {
        mac.sign(frame, 0, FRAME);
        return frame.getByte(FRAME);
    }

    /** @return a byte of the copy. */
    @Benchmark
    public byte copyBaseline()
    {
        copy.putBytes(0, frame, 0, FRAME);
        return copy.getByte(FRAME - 1);
    }

    /** @return the checksum. */
    @Benchmark
    public int crc32cBaseline()
    {
        return Checksums.crc32c(frame, 0, FRAME);
    }
}
