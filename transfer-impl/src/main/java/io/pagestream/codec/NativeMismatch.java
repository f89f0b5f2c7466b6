package io.pagestream.codec;

import org.agrona.UnsafeApi;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Find the first differing byte between two ranges of native memory with the JDK's vectorised mismatch intrinsic
 * (the one behind {@code Arrays.mismatch} and {@code ByteBuffer.mismatch}), reached with a method handle; needs
 * {@code --add-opens java.base/jdk.internal.util=ALL-UNNAMED}. Without it a scalar 8-bytes-at-a-time loop is used;
 * {@link #isIntrinsic()} says which. Threading: stateless.
 */
public final class NativeMismatch
{
    private static final MethodHandle VECTORIZED_MISMATCH;

    static
    {
        MethodHandle handle = null;
        try
        {
            final Class<?> support = Class.forName("jdk.internal.util.ArraysSupport");
            final MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(support, MethodHandles.lookup());
            handle = lookup.findStatic(support, "vectorizedMismatch", MethodType.methodType(
                int.class, Object.class, long.class, Object.class, long.class, int.class, int.class));
        }
        catch (final Exception | LinkageError ignore)
        {
            // Not opened to us: scalar fallback.
        }
        VECTORIZED_MISMATCH = handle;
    }

    private NativeMismatch()
    {
    }

    /** @return true if the vectorised intrinsic is in use. */
    public static boolean isIntrinsic()
    {
        return null != VECTORIZED_MISMATCH;
    }

    /**
     * @param a      address of the first range.
     * @param b      address of the second range.
     * @param length bytes to compare.
     * @return the offset of the first byte that differs, or -1 if the ranges are equal.
     */
    public static int mismatch(final long a, final long b, final int length)
    {
        int checked = 0;
        if (null != VECTORIZED_MISMATCH && length >= 8)
        {
            final int result;
            try
            {
                result = (int)VECTORIZED_MISMATCH.invokeExact((Object)null, a, (Object)null, b, length, 0);
            }
            catch (final Throwable t)
            {
                throw new IllegalStateException("vectorizedMismatch failed", t);
            }
            if (result >= 0)
            {
                return result;
            }
            // ~result bytes at the tail were not compared.
            checked = length - ~result;
        }
        return scalarMismatch(a, b, checked, length);
    }

    private static int scalarMismatch(final long a, final long b, final int from, final int length)
    {
        int i = from;
        for (; i + 8 <= length; i += 8)
        {
            final long x = UnsafeApi.getLong(a + i) ^ UnsafeApi.getLong(b + i);
            if (x != 0)
            {
                return i + (Long.numberOfTrailingZeros(x) >>> 3);
            }
        }
        for (; i < length; i++)
        {
            if (UnsafeApi.getByte(a + i) != UnsafeApi.getByte(b + i))
            {
                return i;
            }
        }
        return -1;
    }
}
