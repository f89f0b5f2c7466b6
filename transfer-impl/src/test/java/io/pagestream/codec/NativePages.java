package io.pagestream.codec;

import org.agrona.UnsafeApi;

/**
 * Native memory for codec tests: pages between guard pages filled with a pattern, so a test can prove a decoder
 * wrote nowhere outside its page.
 */
final class NativePages implements AutoCloseable
{
    static final int PAGE = 4096;
    private static final long BASE = UnsafeApi.arrayBaseOffset(byte[].class);
    private static final byte GUARD = (byte)0xA5;

    private final long raw;
    final long page;

    NativePages()
    {
        raw = UnsafeApi.allocateMemory(3L * PAGE + 64);
        final long aligned = (raw + 63) & ~63L;
        UnsafeApi.setMemory(aligned, 3L * PAGE, GUARD);
        page = aligned + PAGE;
    }

    void write(final byte[] bytes)
    {
        UnsafeApi.copyMemory(bytes, BASE, null, page, bytes.length);
    }

    byte[] read()
    {
        final byte[] bytes = new byte[PAGE];
        UnsafeApi.copyMemory(null, page, bytes, BASE, PAGE);
        return bytes;
    }

    static long copyOf(final byte[] bytes)
    {
        final long address = UnsafeApi.allocateMemory(Math.max(1, bytes.length));
        UnsafeApi.copyMemory(bytes, BASE, null, address, bytes.length);
        return address;
    }

    static void free(final long address)
    {
        UnsafeApi.freeMemory(address);
    }

    boolean guardsIntact()
    {
        for (int i = 0; i < PAGE; i++)
        {
            if (UnsafeApi.getByte(page - PAGE + i) != GUARD ||
                UnsafeApi.getByte(page + PAGE + i) != GUARD)
            {
                return false;
            }
        }
        return true;
    }

    public void close()
    {
        UnsafeApi.freeMemory(raw);
    }
}
