package io.pagestream.security;

import io.pagestream.bench.BenchmarkDefaults;
import io.pagestream.codec.Checksums;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.util.concurrent.TimeUnit;

/**
 * The per-frame cost of frame protection: tagging one 4 KiB page frame (header plus page) with {@link FrameMac}
 * (HMAC-SHA256), and sealing it (AES-256-GCM, which includes a copy of the frame), against the two baselines a page
 * frame always pays in the same run: copying it (the send) and its CRC32C. One operation is one frame.
 * <p>
 * The HMAC has its own baseline, the JDK's {@code javax.crypto.Mac("HmacSHA256")} doing the work {@link FrameMac#sign}
 * does (lane and sequence, then the frame, the 16-byte tag and the sequence written after it) with one reused
 * instance, {@code update} and {@code doFinal(byte[], int)} into a preallocated array: {@link #jceMacSign} from a copy
 * of the frame in a byte array, as {@link FrameMac} reads it, and {@link #jceMacDirect} straight from the direct
 * buffer. Nothing here allocates, but the JDK does inside {@code doFinal} (its HMAC returns a fresh digest array that
 * {@code doFinal(byte[], int)} copies): run with {@code -prof gc} to see 48 B per frame against 0 for {@code sign}.
 */
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class FrameMacBenchmark extends BenchmarkDefaults
{
    private static final int FRAME = 48 + 4096;

    private UnsafeBuffer frame;
    private UnsafeBuffer copy;
    private FrameMac mac;
    private FrameMac gcm;
    private Mac jceMac;
    private ByteBuffer frameView;
    private final byte[] laneAndSequence = new byte[9];
    private final byte[] frameBytes = new byte[FRAME];
    private final byte[] jceTag = new byte[32];
    private long sequence;

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
        try
        {
            jceMac = Mac.getInstance("HmacSHA256");
            jceMac.init(new SecretKeySpec(key, "HmacSHA256"));
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IllegalStateException(ex);
        }
        frameView = frame.byteBuffer().duplicate();
        laneAndSequence[0] = FrameMac.LANE_DATA;
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

    /** @return a byte of the tag: {@code javax.crypto.Mac} over a copy of the frame in a byte array. */
    @Benchmark
    public byte jceMacSign()
    {
        final long seq = sequence++;
        putSequence(seq);
        frame.getBytes(0, frameBytes, 0, FRAME);
        jceMac.update(laneAndSequence);
        jceMac.update(frameBytes, 0, FRAME);
        doFinal();
        frame.putBytes(FRAME, jceTag, 0, 16);
        frame.putLong(FRAME + 16, seq, ByteOrder.LITTLE_ENDIAN);
        return frame.getByte(FRAME);
    }

    /** @return a byte of the tag: {@code javax.crypto.Mac} reading the direct buffer itself. */
    @Benchmark
    public byte jceMacDirect()
    {
        final long seq = sequence++;
        putSequence(seq);
        jceMac.update(laneAndSequence);
        frameView.limit(FRAME).position(0);
        jceMac.update(frameView);
        doFinal();
        frame.putBytes(FRAME, jceTag, 0, 16);
        frame.putLong(FRAME + 16, seq, ByteOrder.LITTLE_ENDIAN);
        return frame.getByte(FRAME);
    }

    private void putSequence(final long seq)
    {
        for (int i = 0; i < 8; i++)
        {
            laneAndSequence[1 + i] = (byte)(seq >>> (8 * i));
        }
    }

    private void doFinal()
    {
        try
        {
            jceMac.doFinal(jceTag, 0);
        }
        catch (final javax.crypto.ShortBufferException ex)
        {
            throw new IllegalStateException(ex);
        }
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
