package io.pagestream.snapshot;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.Checksums;
import io.pagestream.codec.ZeroPages;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.MemoryKernel;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A snapshot mapped as guest memory ({@link Snapshots#map}): a private, copy-on-write mapping of the root file's page
 * area, with the pages of later files in the chain copied in. Pages load from the file as they are first touched;
 * writes stay in this process. {@link #memory()} has the snapshot's own regions, so page indices are the source's.
 * <p>
 * Threading: the memory as any {@link GuestMemory}; {@link #verifyPages()} reads and must not race with writers.
 */
public final class MappedSnapshot implements AutoCloseable
{
    private final MappedGuestMemory memory;
    private final SnapshotInfo info;
    private final byte[] deviceState;
    private final List<Path> chain;
    private final long mapNs;

    private MappedSnapshot(
        final MappedGuestMemory memory, final SnapshotInfo info, final byte[] deviceState, final List<Path> chain,
        final long mapNs)
    {
        this.memory = memory;
        this.info = info;
        this.deviceState = deviceState;
        this.chain = chain;
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
            final MappedGuestMemory memory =
                MappedGuestMemory.file(kernel, root.file, h.dataOffset(), h.regionLengths(), h.pageSize(), false);
            try
            {
                final LayerWalker walker = new LayerWalker(h.pageSize());
                walker.walk(layers, 1, new Snapshots.MemorySink(kernel, memory, false), new long[root.defined.length]);
                final List<Path> files = new ArrayList<>();
                for (final SnapshotLayer layer : layers)
                {
                    files.add(layer.file);
                }
                return new MappedSnapshot(memory, Snapshots.info(newest), newest.deviceState, List.copyOf(files),
                    System.nanoTime() - startNs);
            }
            catch (final RuntimeException ex)
            {
                memory.close();
                throw ex;
            }
        }
        finally
        {
            SnapshotLayer.closeAll(layers);
        }
    }

    /** @return the guest memory: the snapshot's regions, mapped. */
    public GuestMemory memory()
    {
        return memory;
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
            device.restore(new UnsafeBuffer(deviceState), 0, deviceState.length);
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
        final List<SnapshotLayer> layers = new ArrayList<>();
        try
        {
            for (final Path file : chain)
            {
                layers.add(SnapshotLayer.open(file));
            }
            final int pageSize = memory.pageSize();
            final long[] done = new long[layers.get(0).defined.length];
            for (int i = layers.size() - 1; i >= 0; i--)
            {
                final SnapshotLayer layer = layers.get(i);
                LayerWalker.forEachFreshPage(layer, done, (page, checksum) ->
                {
                    final long at = memory.pageAddress(page);
                    if (checksum >= 0 ? Checksums.crc32c(at, pageSize) != layer.checksums[checksum] :
                        !ZeroPages.isZero(at, pageSize))
                    {
                        throw new MigrationException(ErrorCode.CHECKSUM_MISMATCH, "snapshot " + layer.file +
                            ": page " + page + " (file offset " + layer.pageOffset(page) + ") does not hold " +
                            (checksum >= 0 ? "the bytes its checksum describes" : "zeros, as the page map says"));
                    }
                });
            }
            long checked = 0;
            for (final long word : done)
            {
                checked += Long.bitCount(word);
            }
            return checked;
        }
        finally
        {
            SnapshotLayer.closeAll(layers);
        }
    }

    /** Unmap. Idempotent. */
    public void close()
    {
        memory.close();
    }
}
