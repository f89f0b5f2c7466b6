package io.pagestream.codec;

import org.agrona.UnsafeApi;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.zip.CRC32C;

/**
 * CRC32C of native memory without copying it.
 * <p>
 * Uses the JDK's intrinsic behind {@code java.util.zip.CRC32C} for direct buffers, reached with a method handle
 * (needs {@code --add-opens java.base/java.util.zip=ALL-UNNAMED}). Without that permission it falls back to copying
 * through a small thread-local array, which is correct but slower; {@link #isIntrinsic()} says which is in use.
 * Threading: stateless, safe from any thread.
 */
public final class Checksums
{
    private static final MethodHandle UPDATE_DIRECT;
    private static final int FALLBACK_CHUNK = 16 * 1024;
    private static final ThreadLocal<byte[]> FALLBACK_SCRATCH = ThreadLocal.withInitial(() -> new byte[FALLBACK_CHUNK]);
    private static final ThreadLocal<CRC32C> FALLBACK_CRC = ThreadLocal.withInitial(CRC32C::new);

    static
    {
        MethodHandle handle = null;
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(CRC32C.class, MethodHandles.lookup());
            handle = lookup.findStatic(CRC32C.class, "updateDirectByteBuffer",
                MethodType.methodType(int.class, int.class, long.class, int.class, int.class));
        }
        catch (final Exception | LinkageError ignore)
        {
            // Not opened to us: use the copying fallback.
        }
        UPDATE_DIRECT = handle;
    }

    private Checksums()
    {
    }

    /**
     * @return true if checksums run on native memory in place; false if they copy through the heap.
     */
    public static boolean isIntrinsic()
    {
        return null != UPDATE_DIRECT;
    }

    /**
     * CRC32C of {@code length} bytes at {@code address}, the same value {@link CRC32C#getValue()} gives.
     *
     * @param address of the first byte.
     * @param length  in bytes.
     * @return the checksum as an int.
     */
    public static int crc32c(final long address, final int length)
    {
        if (null != UPDATE_DIRECT)
        {
            try
            {
                return ~(int)UPDATE_DIRECT.invokeExact(0xFFFFFFFF, address, 0, length);
            }
            catch (final Throwable t)
            {
                throw new IllegalStateException("CRC32C intrinsic failed", t);
            }
        }
        return crc32cByCopy(address, length);
    }

    /**
     * CRC32C of a range of an Agrona buffer, heap or direct.
     *
     * @param buffer holding the bytes.
     * @param offset of the first byte.
     * @param length in bytes.
     * @return the checksum as an int.
     */
    public static int crc32c(final org.agrona.DirectBuffer buffer, final int offset, final int length)
    {
        buffer.boundsCheck(offset, length);
        final byte[] array = buffer.byteArray();
        if (null != array)
        {
            final CRC32C crc = new CRC32C();
            crc.update(array, (int)(buffer.addressOffset() - UnsafeApi.arrayBaseOffset(byte[].class)) +
                offset, length);
            return (int)crc.getValue();
        }
        return crc32c(buffer.addressOffset() + offset, length);
    }

    private static int crc32cByCopy(final long address, final int length)
    {
        final byte[] scratch = FALLBACK_SCRATCH.get();
        final CRC32C crc = FALLBACK_CRC.get();
        crc.reset();
        int done = 0;
        while (done < length)
        {
            final int n = Math.min(FALLBACK_CHUNK, length - done);
            UnsafeApi.copyMemory(
                null, address + done, scratch, UnsafeApi.arrayBaseOffset(byte[].class), n);
            crc.update(scratch, 0, n);
            done += n;
        }
        return (int)crc.getValue();
    }
}
