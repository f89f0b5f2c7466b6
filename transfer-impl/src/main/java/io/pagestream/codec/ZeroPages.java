package io.pagestream.codec;

import org.agrona.BufferUtil;
import org.agrona.UnsafeAccess;

/**
 * Zero-page detection on native memory. Non-zero pages usually differ in their first word and return at once; an
 * all-zero page is compared against a block of zeros with the JDK's vectorised mismatch ({@link NativeMismatch}),
 * which runs near memory bandwidth. Threading: stateless.
 */
public final class ZeroPages
{
    private static final int ZERO_BLOCK = 64 * 1024;
    /** Held for the life of the class: only a reachable direct buffer keeps its memory. */
    private static final java.nio.ByteBuffer ZERO_BUFFER = BufferUtil.allocateDirectAligned(ZERO_BLOCK, 64);
    private static final long ZERO_ADDRESS = BufferUtil.address(ZERO_BUFFER);

    private ZeroPages()
    {
    }

    /**
     * @param address of the first byte.
     * @param length  in bytes, at least 8.
     * @return true if every byte is zero.
     */
    public static boolean isZero(final long address, final int length)
    {
        if (UnsafeAccess.UNSAFE.getLong(address) != 0)
        {
            return false;
        }
        for (int done = 0; done < length; done += ZERO_BLOCK)
        {
            if (NativeMismatch.mismatch(address + done, ZERO_ADDRESS, Math.min(ZERO_BLOCK, length - done)) >= 0)
            {
                return false;
            }
        }
        return true;
    }
}
