package io.pagestream.snapshot;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.Checksums;
import io.pagestream.codec.ZeroPages;
import io.pagestream.kernel.MemoryKernel;

import java.nio.file.Path;
import java.util.List;

/**
 * A snapshot mapped as guest memory ({@link Snapshots#map}): a private, copy-on-write mapping of the root file's page
 * area, with the pages of later files in the chain copied in. Pages load from the file as they are first touched;
 * writes stay in this process. The regions are the snapshot's own, so page indices are the source's.
 * <p>
 * Threading: as {@link GuestMemory}; {@link #verifyPages()} reads and must not race with writers.
 */
public final class MappedSnapshot implements GuestMemory
{
    private final MemoryKernel kernel;
    private final long address;
    private final long sizeBytes;
    private final GuestMemory regions;
    private final SnapshotInfo info;
    private final byte[] deviceState;
    private final List<Path> chain;
    private final long[][] definedBy;
    private final long mapNs;
    private boolean closed;

    private MappedSnapshot(
        final MemoryKernel kernel, final long address, final long sizeBytes, final GuestMemory regions,
        final SnapshotInfo info, final byte[] deviceState, final List<Path> chain, final long[][] definedBy,
        final long mapNs)
    {
        this.kernel = kernel;
        this.address = address;
        this.sizeBytes = sizeBytes;
        this.regions = regions;
        this.info = info;
        this.deviceState = deviceState;
        this.chain = chain;
        this.definedBy = definedBy;
        this.mapNs = mapNs;
    }

    static MappedSnapshot map(final MemoryKernel kernel, final Path tip)
    {
        final long startNs = System.nanoTime();
        final List<SnapshotLayer> layers = SnapshotLayer.openChain(tip);
        try
        {
            final SnapshotLayer root = layers.get(0);
            final SnapshotLayer newest = layers.get(layers.size() - 1);
            final SnapshotFormat.Header h = root.header;
            final long size = h.pageCount() * h.pageSize();
            final long address = kernel.mapFile(root.file, h.dataOffset(), size, false);
            try
            {
                final long[] lengths = h.regionLengths();
                final long[] addresses = new long[lengths.length];
                long at = address;
                for (int i = 0; i < lengths.length; i++)
                {
                    addresses[i] = at;
                    at += lengths[i];
                }
                final GuestMemory regions = GuestMemory.wrap(h.pageSize(), addresses, lengths);
                final long[] done = new long[root.defined.length];
                final LayerWalker walker = new LayerWalker(h.pageSize());
                walker.walk(layers, 1, new Snapshots.MemorySink(kernel, regions, false), done);
                final long[][] definedBy = new long[layers.size()][];
                final java.util.ArrayList<Path> files = new java.util.ArrayList<>();
                for (int i = 0; i < layers.size(); i++)
                {
                    definedBy[i] = layers.get(i).defined;
                    files.add(layers.get(i).file);
                }
                return new MappedSnapshot(kernel, address, size, regions, Snapshots.info(newest),
                    newest.deviceState, List.copyOf(files), definedBy, System.nanoTime() - startNs);
            }
            catch (final RuntimeException ex)
            {
                kernel.unmap(address, size);
                throw ex;
            }
        }
        finally
        {
            SnapshotLayer.closeAll(layers);
        }
    }

    /** @return the newest file of the chain, as checked when mapped. */
    public SnapshotInfo info()
    {
        return info;
    }

    /** @return nanoseconds {@link Snapshots#map} took: checks, mapping and the later files' pages. */
    public long mapNanos()
    {
        return mapNs;
    }

    /**
     * Hand the newest file's device state to a device.
     *
     * @param device where it goes.
     * @return its length in bytes.
     */
    public int restoreDeviceState(final DeviceState device)
    {
        if (deviceState.length > 0)
        {
            device.restore(new org.agrona.concurrent.UnsafeBuffer(deviceState), 0, deviceState.length);
        }
        return deviceState.length;
    }

    /**
     * Check every page against the snapshot: a data page against the checksum stored by the newest file defining it,
     * a zero page for zero. Reads (and so loads) every page; run it before the guest writes, or on a copy.
     *
     * @return pages checked.
     * @throws MigrationException {@code CHECKSUM_MISMATCH} naming the first page that differs and its file.
     */
    public long verifyPages()
    {
        final List<SnapshotLayer> layers = new java.util.ArrayList<>();
        try
        {
            for (final Path file : chain)
            {
                layers.add(SnapshotLayer.open(file));
            }
            final int pageSize = regions.pageSize();
            final long[] done = new long[definedBy[0].length];
            long checked = 0;
            for (int i = layers.size() - 1; i >= 0; i--)
            {
                final SnapshotLayer layer = layers.get(i);
                int crcIndex = 0;
                for (int w = 0; w < done.length; w++)
                {
                    final long fresh = layer.defined[w] & ~done[w];
                    for (long bits = layer.defined[w]; bits != 0; bits &= bits - 1)
                    {
                        final int bit = Long.numberOfTrailingZeros(bits);
                        final long page = ((long)w << 6) + bit;
                        final boolean data = layer.holdsData(page);
                        final int crc = data ? crcIndex++ : -1;
                        if ((fresh & (1L << bit)) == 0)
                        {
                            continue;
                        }
                        final long at = regions.pageAddress(page);
                        if (data ? Checksums.crc32c(at, pageSize) != layer.checksums[crc] :
                            !ZeroPages.isZero(at, pageSize))
                        {
                            throw new MigrationException(ErrorCode.CHECKSUM_MISMATCH, "snapshot " + layer.file +
                                ": page " + page + " (file offset " + layer.pageOffset(page) + ") does not hold " +
                                (data ? "the bytes its checksum describes" : "zeros, as the page map says"));
                        }
                        checked++;
                    }
                    done[w] |= layer.defined[w];
                }
            }
            return checked;
        }
        finally
        {
            SnapshotLayer.closeAll(layers);
        }
    }

    public int pageSize()
    {
        return regions.pageSize();
    }

    public long pageCount()
    {
        return regions.pageCount();
    }

    public long sizeBytes()
    {
        return sizeBytes;
    }

    public int regionCount()
    {
        return regions.regionCount();
    }

    public long regionAddress(final int regionIndex)
    {
        return regions.regionAddress(regionIndex);
    }

    public long regionLengthBytes(final int regionIndex)
    {
        return regions.regionLengthBytes(regionIndex);
    }

    public long pageAddress(final long pageIndex)
    {
        return regions.pageAddress(pageIndex);
    }

    /** Unmap. Idempotent. */
    public void close()
    {
        if (!closed)
        {
            closed = true;
            kernel.unmap(address, sizeBytes);
        }
    }
}
