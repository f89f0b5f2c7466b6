package io.pagestream.codec;

import java.io.ByteArrayOutputStream;

/**
 * A plain, byte-at-a-time port of the XBZRLE encode and decode loops, written from the algorithm (alternating
 * unchanged/changed runs, ULEB128 lengths, changed bytes literal, no trailing unchanged run), as the reference the
 * optimised {@link DeltaCodec} is checked against.
 */
final class ReferenceXbzrle
{
    private ReferenceXbzrle()
    {
    }

    static byte[] encode(final byte[] oldPage, final byte[] newPage)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        final int n = newPage.length;
        while (i < n)
        {
            int zrun = 0;
            while (i < n && oldPage[i] == newPage[i])
            {
                zrun++;
                i++;
            }
            if (i == n)
            {
                break;
            }
            final int start = i;
            while (i < n && oldPage[i] != newPage[i])
            {
                i++;
            }
            uleb(out, zrun);
            uleb(out, i - start);
            out.write(newPage, start, i - start);
        }
        return out.toByteArray();
    }

    static byte[] decode(final byte[] encoded, final byte[] page)
    {
        final byte[] result = page.clone();
        int i = 0;
        int p = 0;
        while (i < encoded.length)
        {
            long zrun = 0;
            int shift = 0;
            int b;
            do
            {
                b = encoded[i++] & 0xFF;
                zrun |= (long)(b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);
            long nzrun = 0;
            shift = 0;
            do
            {
                b = encoded[i++] & 0xFF;
                nzrun |= (long)(b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);
            p += (int)zrun;
            System.arraycopy(encoded, i, result, p, (int)nzrun);
            p += (int)nzrun;
            i += (int)nzrun;
        }
        return result;
    }

    private static void uleb(final ByteArrayOutputStream out, final int value)
    {
        int v = value;
        while (v >= 0x80)
        {
            out.write((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out.write(v);
    }
}
