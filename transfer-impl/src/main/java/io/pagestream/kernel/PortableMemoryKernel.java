package io.pagestream.kernel;

import org.agrona.UnsafeApi;
import org.agrona.collections.Long2ObjectHashMap;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * {@link MemoryKernel} in plain Java, for systems where the Linux calls cannot be reached: not Linux, an architecture
 * without constants here, or native access not permitted. Every answer is the same as the kernel's or conservative,
 * and every call is counted as a fallback in {@link #stats()}:
 * <ul>
 * <li>populate touches one word per page; dontNeed and adviseHugePages do nothing and return false;</li>
 * <li>populatedPages reports every page; dataPages of a path reports every page up to the end of the file;</li>
 * <li>anonymous memory is allocated and zeroed at once (committed, no huge pages); files map through
 * {@link FileChannel#map(FileChannel.MapMode, long, long, Arena)};</li>
 * <li>memfd and descriptor-based calls raise {@link KernelCallException} with
 * {@link KernelCallException#isUnsupported()}.</li>
 * </ul>
 * Threading: thread-safe; the table of mappings is guarded by this object's lock, taken only to map and unmap.
 */
final class PortableMemoryKernel implements MemoryKernel
{
    private final String reason;
    private final int pageSize = UnsafeApi.pageSize();
    private final KernelStats stats;
    private final Long2ObjectHashMap<Object> mappings = new Long2ObjectHashMap<>();

    /**
     * @param reason why the native implementation is not used, shown in {@link KernelStats#describe()}.
     */
    PortableMemoryKernel(final String reason)
    {
        this.reason = reason;
        stats = new KernelStats("portable (" + reason + ")");
        stats.prefer(KernelStats.Path.POPULATE_TOUCH);
        stats.prefer(KernelStats.Path.DONTNEED_KEPT);
        stats.prefer(KernelStats.Path.HUGEPAGE_SKIPPED);
        stats.prefer(KernelStats.Path.POPULATED_ASSUME_ALL);
        stats.prefer(KernelStats.Path.DATA_ASSUME_ALL);
        stats.prefer(KernelStats.Path.MEMFD_UNAVAILABLE);
        stats.prefer(KernelStats.Path.MAP_JAVA);
        stats.prefer(KernelStats.Path.UNMAP_JAVA);
    }

    /**
     * Fault pages in by touching one word per {@code stepBytes}: a volatile read, or for writing an atomic add of
     * zero, which needs a writable page but leaves the value as it is even under concurrent writers.
     */
    static void touch(final long address, final long lengthBytes, final int stepBytes, final boolean write)
    {
        final long end = address + lengthBytes;
        for (long p = address; p < end; p += stepBytes)
        {
            if (write)
            {
                UnsafeApi.getAndAddInt(null, p, 0);
            }
            else
            {
                UnsafeApi.getByteVolatile(null, p);
            }
        }
    }

    /**
     * Report every page of {@code [offsetBytes, offsetBytes + lengthBytes)} before {@code fileSize} as data.
     *
     * @return pages set.
     */
    static long assumeData(
        final long offsetBytes, final long lengthBytes, final int pageSizeBytes, final long fileSize,
        final long[] bitmap)
    {
        final long dataEnd = Math.min(offsetBytes + lengthBytes, fileSize);
        if (dataEnd <= offsetBytes)
        {
            return 0;
        }
        return Bitmaps.setRange(bitmap, 0, (dataEnd - offsetBytes + pageSizeBytes - 1) / pageSizeBytes);
    }

    static void checkFileLength(final Path file, final long requiredBytes)
    {
        final long size;
        try
        {
            size = Files.size(file);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("size of " + file, ex);
        }
        if (size < requiredBytes)
        {
            throw new IllegalArgumentException("mapFile(" + file + "): the file is " + size +
                " bytes, shorter than offsetBytes + lengthBytes = " + requiredBytes);
        }
    }

    /** {@inheritDoc} */
    public int systemPageSize()
    {
        return pageSize;
    }

    /** {@inheritDoc} */
    public void populateRead(final long address, final long lengthBytes)
    {
        Checks.addressRange("populateRead", address, lengthBytes, pageSize);
        touch(address, lengthBytes, pageSize, false);
        stats.record(KernelStats.Path.POPULATE_TOUCH);
    }

    /** {@inheritDoc} */
    public void populateWrite(final long address, final long lengthBytes)
    {
        Checks.addressRange("populateWrite", address, lengthBytes, pageSize);
        touch(address, lengthBytes, pageSize, true);
        stats.record(KernelStats.Path.POPULATE_TOUCH);
    }

    /** {@inheritDoc} */
    public boolean dontNeed(final long address, final long lengthBytes)
    {
        Checks.addressRange("dontNeed", address, lengthBytes, pageSize);
        stats.record(KernelStats.Path.DONTNEED_KEPT);
        return false;
    }

    /** {@inheritDoc} */
    public boolean adviseHugePages(final long address, final long lengthBytes)
    {
        Checks.addressRange("adviseHugePages", address, lengthBytes, pageSize);
        stats.record(KernelStats.Path.HUGEPAGE_SKIPPED);
        return false;
    }

    /** {@inheritDoc} */
    public long populatedPages(final long address, final long lengthBytes, final int pageSizeBytes, final long[] bitmap)
    {
        final String call = "populatedPages";
        Checks.pageSize(call, pageSizeBytes, pageSize);
        Checks.addressRange(call, address, lengthBytes, pageSizeBytes);
        final long pages = lengthBytes / pageSizeBytes;
        Checks.bitmap(call, bitmap, pages);
        Bitmaps.clearPrefix(bitmap, pages);
        stats.record(KernelStats.Path.POPULATED_ASSUME_ALL);
        return Bitmaps.setRange(bitmap, 0, pages);
    }

    /** {@inheritDoc} */
    public boolean dontNeed(final long[] addresses, final long[] lengthsBytes, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (!dontNeed(addresses[i], lengthsBytes[i]))
            {
                return false;
            }
        }
        return true;
    }

    /** {@inheritDoc} */
    public long presentPages(final long address, final long lengthBytes, final int pageSizeBytes, final long[] bitmap)
    {
        return populatedPages(address, lengthBytes, pageSizeBytes, bitmap);
    }

    /** {@inheritDoc} */
    public long dataPages(
        final int fd, final long offsetBytes, final long lengthBytes, final int pageSizeBytes, final long[] bitmap)
    {
        throw KernelCallException.unsupported("dataPages(fd=" + fd + ")", reason);
    }

    /** {@inheritDoc} */
    public long dataPages(
        final Path file, final long offsetBytes, final long lengthBytes, final int pageSizeBytes, final long[] bitmap)
    {
        final String call = "dataPages(" + file + ")";
        Checks.pageSize(call, pageSizeBytes, pageSize);
        Checks.fileRange(call, offsetBytes, lengthBytes, pageSizeBytes);
        final long pages = lengthBytes / pageSizeBytes;
        Checks.bitmap(call, bitmap, pages);
        Bitmaps.clearPrefix(bitmap, pages);
        final long size;
        try
        {
            size = Files.size(file);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(call, ex);
        }
        stats.record(KernelStats.Path.DATA_ASSUME_ALL);
        return assumeData(offsetBytes, lengthBytes, pageSizeBytes, size, bitmap);
    }

    /** {@inheritDoc} */
    public int memfdCreate(final String name, final long sizeBytes, final boolean hugeTlb)
    {
        stats.record(KernelStats.Path.MEMFD_UNAVAILABLE);
        throw KernelCallException.unsupported("memfd_create(" + name + ")", reason);
    }

    /** {@inheritDoc} */
    public void closeFd(final int fd)
    {
        throw KernelCallException.unsupported("close(" + fd + ")", reason);
    }

    /** {@inheritDoc} */
    public long mapAnonymous(final long lengthBytes, final boolean hugeTlb)
    {
        final String call = "mapAnonymous";
        if (hugeTlb)
        {
            throw KernelCallException.unsupported(call + "(hugeTlb)", reason);
        }
        Checks.length(call, lengthBytes, pageSize);
        final long raw = UnsafeApi.allocateMemory(lengthBytes + pageSize);
        final long address = (raw + pageSize - 1) & -(long)pageSize;
        UnsafeApi.setMemory(address, lengthBytes, (byte)0);
        return register(address, raw);
    }

    /** {@inheritDoc} */
    public long mapFile(final int fd, final long offsetBytes, final long lengthBytes, final boolean shared)
    {
        throw KernelCallException.unsupported("mapFile(fd=" + fd + ")", reason);
    }

    /** {@inheritDoc} */
    public long mapFile(final Path file, final long offsetBytes, final long lengthBytes, final boolean shared)
    {
        final String call = "mapFile(" + file + ")";
        Checks.fileRange(call, offsetBytes, lengthBytes, pageSize);
        checkFileLength(file, offsetBytes + lengthBytes);
        final Arena arena = Arena.ofShared();
        try (FileChannel channel = shared ?
            FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE) :
            FileChannel.open(file, StandardOpenOption.READ))
        {
            final MemorySegment segment = channel.map(
                shared ? FileChannel.MapMode.READ_WRITE : FileChannel.MapMode.PRIVATE, offsetBytes, lengthBytes, arena);
            return register(segment.address(), arena);
        }
        catch (final IOException ex)
        {
            arena.close();
            throw new UncheckedIOException(call, ex);
        }
    }

    private long register(final long address, final Object resource)
    {
        synchronized (this)
        {
            mappings.put(address, resource);
        }
        stats.record(KernelStats.Path.MAP_JAVA);
        return address;
    }

    /** {@inheritDoc} */
    public void unmap(final long address, final long lengthBytes)
    {
        Checks.addressRange("unmap", address, lengthBytes, pageSize);
        final Object resource;
        synchronized (this)
        {
            resource = mappings.remove(address);
        }
        if (null == resource)
        {
            throw new IllegalArgumentException("unmap: address 0x" + Long.toHexString(address) +
                " was not mapped by this kernel");
        }
        if (resource instanceof Arena arena)
        {
            arena.close();
        }
        else
        {
            UnsafeApi.freeMemory((Long)resource);
        }
        stats.record(KernelStats.Path.UNMAP_JAVA);
    }

    /** {@inheritDoc} */
    public void touchFromNative(final long address)
    {
        UnsafeApi.getByte(address); // no native calls here, and no userfaultfd either: nothing can block for long
    }

    /** {@inheritDoc} */
    public KernelStats stats()
    {
        return stats;
    }
}
