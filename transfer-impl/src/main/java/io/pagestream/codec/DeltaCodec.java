package io.pagestream.codec;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import org.agrona.UnsafeApi;

/**
 * Delta encoding of a page against the version last sent, in the format QEMU's XBZRLE uses so the two can be
 * compared like for like: alternating runs of unchanged and changed bytes,
 * <pre>
 *   [unchanged length][changed length][changed bytes] [unchanged length][changed length][changed bytes] ...
 * </pre>
 * lengths as unsigned LEB128, changed bytes literally (the new bytes, not the XOR), and no entry for an unchanged
 * run that reaches the end of the page. Decoding writes only the changed bytes, so it applies to the page the target
 * already holds.
 * <p>
 * Unchanged runs are found with the vectorised mismatch intrinsic; changed runs a word at a time with the
 * has-zero-byte trick on {@code old ^ new}. Threading: stateless; no allocation.
 */
public final class DeltaCodec
{
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;

    private DeltaCodec()
    {
    }

    /**
     * Encode {@code newPage} against {@code oldPage}.
     *
     * @param oldPage   address of the version last sent.
     * @param newPage   address of the version to send.
     * @param length    page length in bytes.
     * @param out       address to write the encoding to.
     * @param maxOut    bytes available at {@code out}; the encoding stops once it would need more.
     * @return encoded length, or -1 if it would exceed {@code maxOut}. An unchanged page encodes to 0 bytes.
     */
    public static int encode(final long oldPage, final long newPage, final int length, final long out, final int maxOut)
    {
        int i = 0;
        int o = 0;
        while (i < length)
        {
            final int changeAt = nextChange(oldPage, newPage, i, length);
            if (changeAt < 0)
            {
                break; // the rest is unchanged: no entry
            }
            final int zrun = changeAt - i;
            i = changeAt;

            final int start = i;
            i = endOfChangedRun(oldPage, newPage, i, length);
            final int nzrun = i - start;

            if ((zrun | nzrun) < 0x80 && nzrun <= 16 && o + 18 <= maxOut && start + 16 <= length)
            {
                // The common case between scattered writes: one-byte lengths, a short run copied as two words.
                UnsafeApi.putByte(out + o, (byte)zrun);
                UnsafeApi.putByte(out + o + 1, (byte)nzrun);
                UnsafeApi.putLong(out + o + 2, UnsafeApi.getLong(newPage + start));
                UnsafeApi.putLong(out + o + 10, UnsafeApi.getLong(newPage + start + 8));
                o += 2 + nzrun;
                continue;
            }
            if (o + ulebLength(zrun) + ulebLength(nzrun) + nzrun > maxOut)
            {
                return -1;
            }
            o = putUleb(out, o, zrun);
            o = putUleb(out, o, nzrun);
            if (nzrun <= 16 && o + 16 <= maxOut && start + 16 <= length)
            {
                // Two word copies cover any short run; the bytes past it are overwritten by what follows or ignored.
                UnsafeApi.putLong(out + o, UnsafeApi.getLong(newPage + start));
                UnsafeApi.putLong(out + o + 8, UnsafeApi.getLong(newPage + start + 8));
            }
            else if (nzrun <= 16)
            {
                for (int k = 0; k < nzrun; k++)
                {
                    UnsafeApi.putByte(out + o + k, UnsafeApi.getByte(newPage + start + k));
                }
            }
            else
            {
                UnsafeApi.copyMemory(newPage + start, out + o, nzrun);
            }
            o += nzrun;
        }
        return o;
    }

    /**
     * The first differing byte at or after {@code from}: the first 256 bytes a word at a time inline (most unchanged
     * runs between scattered writes are short, and a call into the intrinsic costs about as much as that scan), the
     * rest with the vectorised mismatch.
     */
    private static int nextChange(final long oldPage, final long newPage, final int from, final int length)
    {
        int i = from;
        final int inlineEnd = Math.min(length, from + 256);
        // Four words per step: one branch per 32 bytes while nothing changed, as a vector unit would.
        while (i + 32 <= inlineEnd)
        {
            final long x0 = UnsafeApi.getLong(oldPage + i) ^ UnsafeApi.getLong(newPage + i);
            final long x1 = UnsafeApi.getLong(oldPage + i + 8) ^ UnsafeApi.getLong(newPage + i + 8);
            final long x2 = UnsafeApi.getLong(oldPage + i + 16) ^ UnsafeApi.getLong(newPage + i + 16);
            final long x3 = UnsafeApi.getLong(oldPage + i + 24) ^ UnsafeApi.getLong(newPage + i + 24);
            if ((x0 | x1 | x2 | x3) != 0)
            {
                if (x0 != 0)
                {
                    return i + (Long.numberOfTrailingZeros(x0) >>> 3);
                }
                if (x1 != 0)
                {
                    return i + 8 + (Long.numberOfTrailingZeros(x1) >>> 3);
                }
                if (x2 != 0)
                {
                    return i + 16 + (Long.numberOfTrailingZeros(x2) >>> 3);
                }
                return i + 24 + (Long.numberOfTrailingZeros(x3) >>> 3);
            }
            i += 32;
        }
        while (i + 8 <= inlineEnd)
        {
            final long x = UnsafeApi.getLong(oldPage + i) ^ UnsafeApi.getLong(newPage + i);
            if (x != 0)
            {
                return i + (Long.numberOfTrailingZeros(x) >>> 3);
            }
            i += 8;
        }
        if (i >= length)
        {
            return -1;
        }
        final int mismatch = NativeMismatch.mismatch(oldPage + i, newPage + i, length - i);
        return mismatch < 0 ? -1 : i + mismatch;
    }

    private static int endOfChangedRun(final long oldPage, final long newPage, final int from, final int length)
    {
        int i = from;
        while (i + 8 <= length)
        {
            final long x = UnsafeApi.getLong(oldPage + i) ^ UnsafeApi.getLong(newPage + i);
            // Bytes of x that are zero are unchanged; the lowest set bit of this mask marks the first of them exactly.
            final long zeroBytes = (x - ONES) & ~x & HIGHS;
            if (zeroBytes != 0)
            {
                return i + (Long.numberOfTrailingZeros(zeroBytes) >>> 3);
            }
            i += 8;
        }
        while (i < length && UnsafeApi.getByte(oldPage + i) != UnsafeApi.getByte(newPage + i))
        {
            i++;
        }
        return i;
    }

    /**
     * Check an encoded delta without writing anything: every length well-formed, every run inside the page, the
     * payload consumed exactly.
     *
     * @param in         address of the encoding.
     * @param inLength   its length in bytes.
     * @param pageLength page length in bytes.
     * @param pageIndex  for the error message.
     * @throws MigrationException BAD_LENGTH naming the page, the offset in the payload and what was wrong.
     */
    public static void validate(final long in, final int inLength, final int pageLength, final long pageIndex)
    {
        int i = 0;
        int p = 0;
        while (i < inLength)
        {
            final long zrunField = readUleb(in, i, inLength, pageIndex);
            final long zrun = zrunField >>> 3;
            i += (int)(zrunField & 7);
            if (i >= inLength)
            {
                throw bad(pageIndex, i, "delta ends after an unchanged run without a changed run");
            }
            final long nzrunField = readUleb(in, i, inLength, pageIndex);
            final long nzrun = nzrunField >>> 3;
            i += (int)(nzrunField & 7);
            if (nzrun == 0)
            {
                throw bad(pageIndex, i, "changed run of length 0");
            }
            if (zrun + nzrun > pageLength - p)
            {
                throw bad(pageIndex, i, "runs reach byte " + (p + zrun + nzrun) + " of a " + pageLength + "-byte page");
            }
            if (nzrun > inLength - i)
            {
                throw bad(pageIndex, i, "changed run of " + nzrun + " bytes but only " + (inLength - i) + " remain");
            }
            p += (int)(zrun + nzrun);
            i += (int)nzrun;
        }
    }

    /**
     * Apply an encoding that {@link #validate} accepted: copy the changed bytes into the page.
     *
     * @param in       address of the encoding.
     * @param inLength its length.
     * @param page     address of the page to patch.
     */
    public static void apply(final long in, final int inLength, final long page)
    {
        int i = 0;
        int p = 0;
        while (i < inLength)
        {
            final long zrunField = readUleb(in, i, inLength, -1);
            i += (int)(zrunField & 7);
            final long nzrunField = readUleb(in, i, inLength, -1);
            i += (int)(nzrunField & 7);
            final long nzrun = nzrunField >>> 3;
            p += (int)(zrunField >>> 3);
            UnsafeApi.copyMemory(in + i, page + p, nzrun);
            p += (int)nzrun;
            i += (int)nzrun;
        }
    }

    /**
     * @param value unsigned.
     * @return bytes its LEB128 form takes.
     */
    public static int ulebLength(final long value)
    {
        return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
    }

    private static int putUleb(final long out, final int offset, final int value)
    {
        int o = offset;
        int v = value;
        while (v >= 0x80)
        {
            UnsafeApi.putByte(out + o++, (byte)(v | 0x80));
            v >>>= 7;
        }
        UnsafeApi.putByte(out + o++, (byte)v);
        return o;
    }

    /**
     * @return the value shifted left by 3, or-ed with the number of bytes it took (1 to 5).
     */
    private static long readUleb(final long in, final int offset, final int inLength, final long pageIndex)
    {
        long value = 0;
        int shift = 0;
        int i = offset;
        while (true)
        {
            if (i >= inLength)
            {
                throw bad(pageIndex, i, "length field runs past the end of the payload");
            }
            final int b = UnsafeApi.getByte(in + i++) & 0xFF;
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value << 3 | (i - offset);
            }
            shift += 7;
            if (shift > 28)
            {
                throw bad(pageIndex, i, "length field longer than 5 bytes");
            }
        }
    }

    private static MigrationException bad(final long pageIndex, final int payloadOffset, final String what)
    {
        return new MigrationException(ErrorCode.BAD_LENGTH,
            "DELTA payload for pageIndex=" + pageIndex + " at byte " + payloadOffset + ": " + what);
    }
}
