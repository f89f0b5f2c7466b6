package io.pagestream.codec;

import org.agrona.UnsafeAccess;

/**
 * Zero-page detection on native memory. Non-zero pages usually differ in their first word and return at once. For
 * the rest: a page is all zero exactly when its first word is zero and the page equals itself shifted by eight bytes
 * (then every byte equals the one eight before it, back to the first word). That comparison is one vectorised
 * mismatch ({@link NativeMismatch}) over a single stream of reads, so it runs near the speed of reading the page.
 * Threading: stateless.
 */
public final class ZeroPages
{
    private ZeroPages()
    {
    }

    /**
     * @param address of the first byte.
     * @param length  in bytes, a multiple of 8 and at least 8.
     * @return true if every byte is zero.
     */
    public static boolean isZero(final long address, final int length)
    {
        if (UnsafeAccess.UNSAFE.getLong(address) != 0 || UnsafeAccess.UNSAFE.getLong(address + length - 8) != 0)
        {
            return false;
        }
        return NativeMismatch.mismatch(address, address + 8, length - 8) < 0;
    }
}
