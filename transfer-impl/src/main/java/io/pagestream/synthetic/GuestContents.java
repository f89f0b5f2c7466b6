package io.pagestream.synthetic;

import io.pagestream.api.guest.GuestMemory;
import org.agrona.BufferUtil;
import org.agrona.UnsafeApi;

import java.nio.ByteBuffer;

/**
 * Contents like a real guest's: a fraction of pages hold data, half of them text-like (words, as in the page cache),
 * half binary laid out like heap pages (records of headers, nearby pointers, small integers and padding, used to
 * 25-100% of the page); the rest are zero and are never written. Threading: stateless.
 */
final class GuestContents
{
    private static final String[] WORDS = {
        "the", "kernel", "page", "memory", "guest", "virtual", "migration", "process", "buffer", "device",
        "network", "interrupt", "scheduler", "file", "system", "user", "thread", "lock", "cache", "block",
        "return", "struct", "static", "const", "void", "int", "long", "char", "if", "else", "while", "for",
        "error", "value", "index", "offset", "length", "address", "table", "entry", "node", "list", "queue",
        "0x7f", "NULL", "{", "}", "(", ")", ";", "=", "==", "+", "-", "*", "/", "\n", "\t", "    " };

    private GuestContents()
    {
    }

    /**
     * Fill memory with realistic contents: a fraction of pages hold data, chosen by a hash of the page index.
     *
     * @param memory       to fill.
     * @param fillFraction of pages that hold data, 0 to 1.
     * @param seed         for the choice and the contents.
     */
    static void fill(final GuestMemory memory, final double fillFraction, final long seed)
    {
        final int pageSize = memory.pageSize();
        final int textLength = Math.max(64 * 1024, 2 * pageSize);
        final ByteBuffer text = BufferUtil.allocateDirectAligned(textLength, 64);
        long x = seed | 1;
        int pos = 0;
        while (pos < textLength)
        {
            x = xorshift(x);
            final String word = WORDS[(int)Long.remainderUnsigned(x, WORDS.length)];
            for (int i = 0; i < word.length() && pos < textLength; i++)
            {
                text.put(pos++, (byte)word.charAt(i));
            }
            if (pos < textLength)
            {
                text.put(pos++, (byte)' ');
            }
        }
        final long textAddress = BufferUtil.address(text);

        for (long p = 0, n = memory.pageCount(); p < n; p++)
        {
            final long h = mix(seed ^ (p * 0x9E3779B97F4A7C15L));
            if ((h >>> 11) * 0x1.0p-53 >= fillFraction)
            {
                continue;
            }
            final long address = memory.pageAddress(p);
            if ((h & 1) == 0)
            {
                final long from = Long.remainderUnsigned(h >>> 8, textLength - pageSize) & ~7L;
                UnsafeApi.copyMemory(textAddress + from, address, pageSize);
            }
            else
            {
                fillObjects(address, pageSize, h);
            }
        }
        // The text is read through its address only: keep the buffer, and so its memory, alive until here.
        java.lang.ref.Reference.reachabilityFence(text);
    }

    /**
     * A binary page laid out like a heap page: records of 32 to 64 bytes, each a small header word, pointers into a
     * nearby heap (same high bits, 16-byte aligned), small integers and zero padding; the page is used to a random
     * 25% to 100% and zero after that, as partly used slabs and stacks are.
     */
    private static void fillObjects(final long address, final int pageSize, final long seed)
    {
        long r = seed | 1;
        final long heapBase = 0x00007F0000000000L | ((seed >>> 44) << 24);
        final int used = (int)((pageSize / 4 + Long.remainderUnsigned(seed >>> 16, pageSize * 3L / 4 + 1)) & ~7L);
        int offset = 0;
        while (offset + 64 <= used)
        {
            r = xorshift(r);
            final int words = 4 + (int)(r & 3) * 2;
            UnsafeApi.putLong(address + offset, 0x0000000100000000L | (words << 3));
            for (int w = 1; w < words; w++)
            {
                r = xorshift(r);
                final long value;
                switch ((int)(r & 3))
                {
                    case 0: value = heapBase + ((r >>> 8) & 0xFFFF0); break;
                    case 1: value = (r >>> 16) & 0x3FF; break;
                    case 2: value = 0; break;
                    default: value = heapBase + ((r >>> 8) & 0xFFF0) + (offset & ~15L); break;
                }
                UnsafeApi.putLong(address + offset + 8L * w, value);
            }
            offset += words * 8;
        }
    }

    private static long xorshift(final long v)
    {
        long x = v;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        return x;
    }

    private static long mix(final long v)
    {
        long z = v;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

}
