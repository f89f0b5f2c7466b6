package io.pagestream.api.guest;

import org.agrona.BufferUtil;
import org.agrona.IoUtil;
import org.agrona.UnsafeApi;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * {@link GuestMemory} over native regions: allocated, file-mapped or wrapped. Created by the factories on
 * {@link GuestMemory}.
 */
public final class NativeGuestMemory implements GuestMemory
{
    /** Largest region the factories create; keeps every region within a single {@code int}-indexed mapping. */
    public static final long MAX_REGION_BYTES = 1L << 30;

    /** Below this, allocated regions are cleared explicitly; above it they come straight from mmap, zero-filled. */
    private static final long EXPLICIT_CLEAR_BELOW_BYTES = 64L << 20;

    private final int pageSize;
    private final int pageShift;
    private final long pageCount;
    private final long[] regionAddresses;
    private final long[] regionLengths;
    private final long[] regionFirstPage;
    private final int uniformRegionPageShift;
    private final long[] allocatedAddresses;
    private final MappedByteBuffer[] mappings;
    private boolean closed;

    private NativeGuestMemory(
        final int pageSize,
        final long[] addresses,
        final long[] lengths,
        final long[] allocatedAddresses,
        final MappedByteBuffer[] mappings)
    {
        this.pageSize = pageSize;
        this.pageShift = Integer.numberOfTrailingZeros(pageSize);
        this.regionAddresses = addresses;
        this.regionLengths = lengths;
        this.allocatedAddresses = allocatedAddresses;
        this.mappings = mappings;
        this.regionFirstPage = new long[addresses.length];

        long pages = 0;
        for (int i = 0; i < addresses.length; i++)
        {
            regionFirstPage[i] = pages;
            pages += lengths[i] >>> pageShift;
        }
        this.pageCount = pages;

        // When every region but the last holds the same power-of-two number of pages, a shift finds the region.
        int shift = -1;
        final long firstPages = lengths[0] >>> pageShift;
        if (Long.bitCount(firstPages) == 1)
        {
            shift = Long.numberOfTrailingZeros(firstPages);
            for (int i = 1; i < lengths.length - 1; i++)
            {
                if (lengths[i] != lengths[0])
                {
                    shift = -1;
                    break;
                }
            }
            if (lengths.length > 1 && lengths[lengths.length - 1] > lengths[0])
            {
                shift = -1;
            }
        }
        this.uniformRegionPageShift = shift;
    }

    static void validatePageSize(final int pageSizeBytes)
    {
        if (pageSizeBytes < 4096 || Integer.bitCount(pageSizeBytes) != 1 || pageSizeBytes > (1 << 30))
        {
            throw new IllegalArgumentException(
                "pageSizeBytes must be a power of two from 4096 to 1 GiB: " + pageSizeBytes);
        }
    }

    static void validateSize(final long sizeBytes, final int pageSizeBytes)
    {
        validatePageSize(pageSizeBytes);
        if (sizeBytes <= 0 || (sizeBytes & (pageSizeBytes - 1)) != 0)
        {
            throw new IllegalArgumentException(
                "sizeBytes must be a positive multiple of the page size " + pageSizeBytes + ": " + sizeBytes);
        }
    }

    private static long regionBytes(final int pageSizeBytes)
    {
        return Math.max(MAX_REGION_BYTES, pageSizeBytes);
    }

    private static int regionCountFor(final long sizeBytes, final long regionBytes)
    {
        final long count = (sizeBytes + regionBytes - 1) / regionBytes;
        if (count > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("sizeBytes too large: " + sizeBytes);
        }
        return (int)count;
    }

    static NativeGuestMemory allocate(final long sizeBytes, final int pageSizeBytes)
    {
        validateSize(sizeBytes, pageSizeBytes);
        final long regionBytes = regionBytes(pageSizeBytes);
        final int count = regionCountFor(sizeBytes, regionBytes);
        final long[] addresses = new long[count];
        final long[] lengths = new long[count];
        int made = 0;
        try
        {
            long remaining = sizeBytes;
            for (int i = 0; i < count; i++)
            {
                final long length = Math.min(regionBytes, remaining);
                // Over-allocate by a page so the region can be aligned to the page size.
                final long raw = UnsafeApi.allocateMemory(length + pageSizeBytes);
                made++;
                addresses[i] = raw;
                lengths[i] = length;
                if (length + pageSizeBytes < EXPLICIT_CLEAR_BELOW_BYTES)
                {
                    UnsafeApi.setMemory(raw, length + pageSizeBytes, (byte)0);
                }
                remaining -= length;
            }
        }
        catch (final OutOfMemoryError ex)
        {
            for (int i = 0; i < made; i++)
            {
                UnsafeApi.freeMemory(addresses[i]);
            }
            throw ex;
        }

        final long[] aligned = new long[count];
        for (int i = 0; i < count; i++)
        {
            aligned[i] = (addresses[i] + pageSizeBytes - 1) & ~((long)pageSizeBytes - 1);
        }
        return new NativeGuestMemory(pageSizeBytes, aligned, lengths, addresses, null);
    }

    static NativeGuestMemory mapFile(final Path file, final long sizeBytes, final int pageSizeBytes)
    {
        validateSize(sizeBytes, pageSizeBytes);
        final long regionBytes = regionBytes(pageSizeBytes);
        final int count = regionCountFor(sizeBytes, regionBytes);
        final long[] addresses = new long[count];
        final long[] lengths = new long[count];
        final MappedByteBuffer[] mappings = new MappedByteBuffer[count];
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw");
            FileChannel channel = raf.getChannel())
        {
            if (raf.length() < sizeBytes)
            {
                raf.setLength(sizeBytes);
            }
            long position = 0;
            for (int i = 0; i < count; i++)
            {
                final long length = Math.min(regionBytes, sizeBytes - position);
                mappings[i] = channel.map(FileChannel.MapMode.READ_WRITE, position, length);
                addresses[i] = BufferUtil.address(mappings[i]);
                lengths[i] = length;
                position += length;
            }
        }
        catch (final IOException ex)
        {
            for (final MappedByteBuffer mapping : mappings)
            {
                IoUtil.unmap(mapping);
            }
            throw new UncheckedIOException("failed to map guest memory file " + file, ex);
        }
        return new NativeGuestMemory(pageSizeBytes, addresses, lengths, null, mappings);
    }

    static NativeGuestMemory wrap(final int pageSizeBytes, final long[] addresses, final long[] lengthsBytes)
    {
        validatePageSize(pageSizeBytes);
        if (addresses.length == 0 || addresses.length != lengthsBytes.length)
        {
            throw new IllegalArgumentException("need one length per address and at least one region: addresses=" +
                addresses.length + " lengths=" + lengthsBytes.length);
        }
        for (int i = 0; i < addresses.length; i++)
        {
            if ((addresses[i] & (pageSizeBytes - 1)) != 0 || addresses[i] == 0)
            {
                throw new IllegalArgumentException("region " + i + " address not page aligned: " + addresses[i]);
            }
            if (lengthsBytes[i] <= 0 || (lengthsBytes[i] & (pageSizeBytes - 1)) != 0)
            {
                throw new IllegalArgumentException("region " + i + " length not a positive multiple of the page size: " +
                    lengthsBytes[i]);
            }
        }
        return new NativeGuestMemory(pageSizeBytes, addresses.clone(), lengthsBytes.clone(), null, null);
    }

    /** {@inheritDoc} */
    public int pageSize()
    {
        return pageSize;
    }

    /** {@inheritDoc} */
    public long pageCount()
    {
        return pageCount;
    }

    /** {@inheritDoc} */
    public long sizeBytes()
    {
        return pageCount << pageShift;
    }

    /** {@inheritDoc} */
    public int regionCount()
    {
        return regionAddresses.length;
    }

    /** {@inheritDoc} */
    public long regionAddress(final int regionIndex)
    {
        return regionAddresses[regionIndex];
    }

    /** {@inheritDoc} */
    public long regionLengthBytes(final int regionIndex)
    {
        return regionLengths[regionIndex];
    }

    /** {@inheritDoc} */
    public long pageAddress(final long pageIndex)
    {
        if (pageIndex < 0 || pageIndex >= pageCount)
        {
            throw new IndexOutOfBoundsException("pageIndex=" + pageIndex + " pageCount=" + pageCount);
        }

        final int region;
        if (uniformRegionPageShift >= 0)
        {
            region = (int)(pageIndex >>> uniformRegionPageShift);
        }
        else
        {
            final int found = Arrays.binarySearch(regionFirstPage, pageIndex);
            region = found >= 0 ? found : -found - 2;
        }
        return regionAddresses[region] + ((pageIndex - regionFirstPage[region]) << pageShift);
    }

    /** {@inheritDoc} */
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        if (null != allocatedAddresses)
        {
            for (final long address : allocatedAddresses)
            {
                UnsafeApi.freeMemory(address);
            }
        }
        if (null != mappings)
        {
            for (final MappedByteBuffer mapping : mappings)
            {
                IoUtil.unmap(mapping);
            }
        }
    }

    /**
     * @return true if this object allocated its memory and frees it on close.
     */
    public boolean isAllocated()
    {
        return null != allocatedAddresses;
    }

    /** {@inheritDoc} */
    public String toString()
    {
        return "NativeGuestMemory{sizeBytes=" + sizeBytes() + ", pageSize=" + pageSize +
            ", regions=" + regionAddresses.length + '}';
    }
}
