package io.pagestream.synthetic;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.GuestPageScan;
import io.pagestream.kernel.MemoryKernel;
import org.agrona.UnsafeApi;

import java.util.zip.CRC32C;

/**
 * A digest of guest memory computed straight from the bytes, independent of anything PageStream recorded: each
 * 1 MiB block is copied to the heap, checksummed with the JDK's CRC32C and folded with its position into a 64-bit
 * value. Two memories with equal digests are equal except with negligible probability; any single differing block
 * changes the digest. Pages the kernel shows were never populated (and so read as zero) are taken as zero without
 * being read, so digesting a sparse guest does not commit its memory.
 */
public final class MemoryDigest
{
    private static final int BLOCK = 1 << 20;
    private static final long ARRAY_BASE = UnsafeApi.arrayBaseOffset(byte[].class);

    private MemoryDigest()
    {
    }

    /**
     * @param memory to digest; should not be written meanwhile.
     * @return the digest.
     */
    public static long digest(final GuestMemory memory)
    {
        final GuestPageScan scan = new GuestPageScan(MemoryKernel.create(), memory);
        return digest(memory, scan::mayHoldData);
    }

    /**
     * {@link #digest(GuestMemory)} of memory under a dirty log kept by the kernel's write protection, which marks
     * every never-populated page so that it counts as populated: only pages present in memory are read, so swapped-out
     * pages would count as zero (a false mismatch, never a false match). Same digest as {@link #digest} otherwise.
     *
     * @param memory to digest; should not be written meanwhile.
     * @return the digest.
     */
    public static long digestPresent(final GuestMemory memory)
    {
        final MemoryKernel kernel = MemoryKernel.create();
        final int pageSize = memory.pageSize();
        final long[] present = new long[(int)((memory.pageCount() + 63) >>> 6)];
        final long[] region = new long[(int)((Math.max(1, memory.regionLengthBytes(0) / pageSize) + 63) >>> 6)];
        long first = 0;
        for (int r = 0; r < memory.regionCount(); r++)
        {
            final long pages = memory.regionLengthBytes(r) / pageSize;
            final long[] bits = region.length * 64L >= pages ? region : new long[(int)((pages + 63) >>> 6)];
            java.util.Arrays.fill(bits, 0);
            kernel.presentPages(memory.regionAddress(r), memory.regionLengthBytes(r), pageSize, bits);
            for (long p = 0; p < pages; p++)
            {
                if ((bits[(int)(p >>> 6)] & (1L << p)) != 0)
                {
                    present[(int)((first + p) >>> 6)] |= 1L << (first + p);
                }
            }
            first += pages;
        }
        return digest(memory, page -> (present[(int)(page >>> 6)] & (1L << page)) != 0);
    }

    private static long digest(final GuestMemory memory, final java.util.function.LongPredicate mayHoldData)
    {
        final int pageSize = memory.pageSize();
        final byte[] block = new byte[BLOCK];
        final CRC32C crc = new CRC32C();
        long h = 0x6A09E667F3BCC908L ^ memory.sizeBytes();
        long blockIndex = 0;
        long regionFirstPage = 0;
        for (int r = 0; r < memory.regionCount(); r++)
        {
            final long base = memory.regionAddress(r);
            final long length = memory.regionLengthBytes(r);
            for (long done = 0; done < length; done += BLOCK)
            {
                final int n = (int)Math.min(BLOCK, length - done);
                final int step = Math.min(pageSize, n);
                for (int at = 0; at < n; at += step)
                {
                    // A page the kernel shows was never populated reads as zero: reading it would commit it.
                    if (mayHoldData.test(regionFirstPage + (done + at) / pageSize))
                    {
                        UnsafeApi.copyMemory(null, base + done + at, block, ARRAY_BASE + at, step);
                    }
                    else
                    {
                        java.util.Arrays.fill(block, at, at + step, (byte)0);
                    }
                }
                crc.reset();
                crc.update(block, 0, n);
                h = mix(h ^ (crc.getValue() << 32 | (blockIndex++ & 0xFFFFFFFFL)));
            }
            regionFirstPage += length / pageSize;
        }
        return h;
    }

    /**
     * Find the first page whose bytes differ between two memories of the same layout.
     *
     * @param a one memory.
     * @param b the other.
     * @return the first differing page index, or -1 if they are equal.
     */
    public static long firstDifference(final GuestMemory a, final GuestMemory b)
    {
        if (a.pageCount() != b.pageCount() || a.pageSize() != b.pageSize())
        {
            return 0;
        }
        final int pageSize = a.pageSize();
        final byte[] pa = new byte[pageSize];
        final byte[] pb = new byte[pageSize];
        for (long p = 0; p < a.pageCount(); p++)
        {
            UnsafeApi.copyMemory(null, a.pageAddress(p), pa, ARRAY_BASE, pageSize);
            UnsafeApi.copyMemory(null, b.pageAddress(p), pb, ARRAY_BASE, pageSize);
            if (!java.util.Arrays.equals(pa, pb))
            {
                return p;
            }
        }
        return -1;
    }

    private static long mix(final long x)
    {
        long z = x * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
