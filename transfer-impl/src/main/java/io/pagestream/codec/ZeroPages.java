package io.pagestream.codec;

import org.agrona.UnsafeAccess;
import sun.misc.Unsafe;

/**
 * Zero-page detection on native memory. Non-zero pages usually differ in their first words and return at once; an
 * all-zero page is read once, eight bytes at a time with the words OR-ed in groups so the loop is not a chain of
 * branches. Threading: stateless.
 */
public final class ZeroPages
{
    private static final Unsafe UNSAFE = UnsafeAccess.UNSAFE;

    private ZeroPages()
    {
    }

    /**
     * @param address of the first byte, 8-byte aligned.
     * @param length  in bytes, a multiple of 64.
     * @return true if every byte is zero.
     */
    public static boolean isZero(final long address, final int length)
    {
        if (UNSAFE.getLong(address) != 0)
        {
            return false;
        }
        final long end = address + length;
        for (long p = address; p < end; p += 64)
        {
            final long or = UNSAFE.getLong(p) | UNSAFE.getLong(p + 8) | UNSAFE.getLong(p + 16) |
                UNSAFE.getLong(p + 24) | UNSAFE.getLong(p + 32) | UNSAFE.getLong(p + 40) |
                UNSAFE.getLong(p + 48) | UNSAFE.getLong(p + 56);
            if (or != 0)
            {
                return false;
            }
        }
        return true;
    }
}
