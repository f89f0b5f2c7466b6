package io.pagestream.codec;

/**
 * A plain port of the XBZRLE encode loop, written from the algorithm as the baseline for {@link DeltaEncodeBenchmark}:
 * byte at a time, unchanged run then changed run, ULEB128 lengths, changed bytes copied, stop when the output would
 * exceed the limit.
 */
final class PlainXbzrle
{
    private PlainXbzrle()
    {
    }

    static int encode(final byte[] oldPage, final byte[] newPage, final int length, final byte[] out, final int limit)
    {
        int i = 0;
        int d = 0;
        while (i < length)
        {
            int zrun = 0;
            while (i < length && oldPage[i] == newPage[i])
            {
                zrun++;
                i++;
            }
            if (i == length)
            {
                break;
            }
            int nzrun = 0;
            final int start = i;
            while (i < length && oldPage[i] != newPage[i])
            {
                nzrun++;
                i++;
            }
            if (d + 10 + nzrun > limit)
            {
                return -1;
            }
            d = uleb(out, d, zrun);
            d = uleb(out, d, nzrun);
            System.arraycopy(newPage, start, out, d, nzrun);
            d += nzrun;
        }
        return d;
    }

    private static int uleb(final byte[] out, final int offset, final int value)
    {
        int d = offset;
        int v = value;
        while (v >= 0x80)
        {
            out[d++] = (byte)(v | 0x80);
            v >>>= 7;
        }
        out[d++] = (byte)v;
        return d;
    }
}
