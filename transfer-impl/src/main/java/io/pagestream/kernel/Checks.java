package io.pagestream.kernel;

/**
 * Argument checks made before any kernel call, so that a bad argument is reported by name rather than as EINVAL.
 * Threading: stateless.
 */
final class Checks
{
    /** No user address space reaches this far: 57-bit virtual addresses are the most x86_64 or aarch64 offer. */
    static final long USER_ADDRESS_LIMIT = 1L << 57;

    private Checks()
    {
    }

    /**
     * A range of addresses: non-zero, aligned, positive length, a multiple of the alignment, inside user space.
     */
    static void addressRange(final String call, final long address, final long lengthBytes, final long alignment)
    {
        if (address == 0)
        {
            throw new IllegalArgumentException(call + ": address is 0 (null)");
        }
        if ((address & (alignment - 1)) != 0)
        {
            throw new IllegalArgumentException(call + ": address 0x" + Long.toHexString(address) +
                " is not aligned to " + alignment + " bytes");
        }
        length(call, lengthBytes, alignment);
        if (address < 0 || address >= USER_ADDRESS_LIMIT || lengthBytes > USER_ADDRESS_LIMIT - address)
        {
            throw new IllegalArgumentException(call + ": range [0x" + Long.toHexString(address) + ", +" +
                lengthBytes + ") is out of range of the user address space");
        }
    }

    /**
     * A range of a file: offset non-negative and aligned, positive length, a multiple of the alignment, no overflow.
     */
    static void fileRange(final String call, final long offsetBytes, final long lengthBytes, final long alignment)
    {
        if (offsetBytes < 0 || (offsetBytes & (alignment - 1)) != 0)
        {
            throw new IllegalArgumentException(call + ": offsetBytes " + offsetBytes +
                " is not a non-negative multiple of " + alignment);
        }
        length(call, lengthBytes, alignment);
        if (lengthBytes > Long.MAX_VALUE - offsetBytes)
        {
            throw new IllegalArgumentException(call + ": offsetBytes + lengthBytes overflows: " + offsetBytes +
                " + " + lengthBytes);
        }
    }

    static void length(final String call, final long lengthBytes, final long alignment)
    {
        if (lengthBytes <= 0)
        {
            throw new IllegalArgumentException(call + ": lengthBytes must be positive: " + lengthBytes);
        }
        if ((lengthBytes & (alignment - 1)) != 0)
        {
            throw new IllegalArgumentException(call + ": lengthBytes " + lengthBytes + " is not a multiple of " +
                alignment + " bytes");
        }
    }

    /**
     * A page size for bitmaps: a power of two, at least the system page size, at most 1 GiB.
     */
    static void pageSize(final String call, final int pageSizeBytes, final int systemPageSize)
    {
        if (pageSizeBytes < systemPageSize || Integer.bitCount(pageSizeBytes) != 1 || pageSizeBytes > (1 << 30))
        {
            throw new IllegalArgumentException(call + ": pageSizeBytes " + pageSizeBytes +
                " is not a power of two from the system page size " + systemPageSize + " to 1 GiB");
        }
    }

    /**
     * A bitmap big enough for {@code bits} bits.
     */
    static void bitmap(final String call, final long[] bitmap, final long bits)
    {
        if (null == bitmap)
        {
            throw new IllegalArgumentException(call + ": bitmap is null");
        }
        if (((long)bitmap.length << 6) < bits)
        {
            throw new IllegalArgumentException(call + ": bitmap of " + bitmap.length + " words holds " +
                ((long)bitmap.length << 6) + " pages, the range has " + bits);
        }
    }
}
