package io.pagestream.snapshot;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.MemoryKernel;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * Reading snapshot files: check one ({@link #info}), restore a snapshot or a chain into guest memory
 * ({@link #restore}), map one so a guest can start at once and load pages as they are touched ({@link #map}), and
 * fold a chain into one full file ({@link #merge}). Taking snapshots is {@link GuestSnapshots}.
 * <p>
 * Every method opens the whole chain first and refuses it before touching memory if any file is not a complete
 * snapshot (no completion footer, metadata failing its checksum, a parent missing or not the one the child was taken
 * after): {@link ErrorCode#SNAPSHOT_INVALID} naming the file and what is wrong. Page checksums are checked as pages
 * are read: {@link ErrorCode#CHECKSUM_MISMATCH} naming the file and the page.
 */
public final class Snapshots
{
    private Snapshots()
    {
    }

    /**
     * Check a file (header, footer, metadata checksum, page maps) and say what it holds. Parents are not opened.
     *
     * @param file the snapshot.
     * @return what it holds.
     * @throws MigrationException {@code SNAPSHOT_INVALID} naming what is wrong.
     */
    public static SnapshotInfo info(final Path file)
    {
        try (SnapshotLayer layer = SnapshotLayer.open(file))
        {
            return info(layer);
        }
    }

    static SnapshotInfo info(final SnapshotLayer layer)
    {
        final SnapshotFormat.Header h = layer.header;
        final SnapshotFormat.Footer f = layer.footer;
        return new SnapshotInfo(layer.file, h.snapshotId(), h.parentId(), h.parentPath(), h.vmId(), h.pageSize(),
            h.pageCount(), h.regionLengths().clone(), f.definedPages(), f.dataPages(), f.deviceStateLength(),
            f.rounds(), h.creationTimeMs(), f.pausedAtMs(), f.fileLength());
    }

    /**
     * Restore a snapshot, and the chain of parents it is incremental to, into guest memory: every page from the
     * newest file that defines it, each data page checked against its checksum before it is installed, then the
     * device state of the newest file.
     * <p>
     * A page failing its checksum stops the restore with {@code CHECKSUM_MISMATCH} naming it; pages before it may
     * already be installed, so the memory must not run a guest (discard it, or restore again from a good file).
     *
     * @param tip          the snapshot to restore (a full one, or the newest of a chain).
     * @param memory       guest memory of the same page size and page count.
     * @param device       where the device state goes, or null to leave it.
     * @param memoryZeroed true if the memory is fresh and reads as zero (then zero pages are not written, and no
     *                     memory is committed for them); false writes zeros where the snapshot has them.
     * @return what was restored.
     * @throws MigrationException {@code SNAPSHOT_INVALID}, {@code CHECKSUM_MISMATCH} or {@code LAYOUT_MISMATCH}.
     */
    public static RestoreReport restore(
        final Path tip, final GuestMemory memory, final DeviceState device, final boolean memoryZeroed)
    {
        final long startNs = System.nanoTime();
        final List<SnapshotLayer> chain = SnapshotLayer.openChain(tip);
        try
        {
            final SnapshotLayer newest = chain.get(chain.size() - 1);
            checkLayout(newest, memory);
            final LayerWalker walker = new LayerWalker(memory.pageSize());
            walker.walk(chain, 0, new MemorySink(MemoryKernel.create(), memory, memoryZeroed),
                new long[newest.defined.length]);
            final int deviceBytes = restoreDevice(newest, device);
            return new RestoreReport(chain.size(), walker.dataPages(), walker.zeroPages(), walker.bytesRead(),
                deviceBytes, (System.nanoTime() - startNs) / 1_000_000);
        }
        finally
        {
            SnapshotLayer.closeAll(chain);
        }
    }

    /**
     * Map a snapshot as guest memory, at once: the full snapshot at the chain's root is mapped privately
     * (copy-on-write: the file is never written), so its pages load from the file as the guest touches them; the
     * pages of later files in the chain are read, checked and copied in before this returns. The header, footer,
     * metadata checksum and chain are checked now; the root's page checksums are not (that would read every page):
     * {@link MappedSnapshot#verifyPages()} checks them when the caller wants.
     *
     * @param tip the snapshot.
     * @return the memory, with the newest file's device state; close it to unmap.
     * @throws MigrationException {@code SNAPSHOT_INVALID} or {@code CHECKSUM_MISMATCH}.
     */
    public static MappedSnapshot map(final Path tip)
    {
        return MappedSnapshot.map(MemoryKernel.create(), tip);
    }

    /**
     * Fold a chain into one full snapshot: every page from the newest file defining it, checked, written once;
     * the newest file's device state. The result keeps the newest file's id, so a later incremental snapshot of
     * that one can name the merged file as its parent.
     *
     * @param tip the newest file of the chain.
     * @param out the full snapshot to write (replaced if it exists; never one of the chain's files).
     * @return what the merged file holds.
     * @throws MigrationException {@code SNAPSHOT_INVALID} or {@code CHECKSUM_MISMATCH}; then no file is left at
     *                            {@code out}.
     */
    public static SnapshotInfo merge(final Path tip, final Path out)
    {
        final List<SnapshotLayer> chain = SnapshotLayer.openChain(tip);
        try
        {
            final Path outAbsolute = out.toAbsolutePath().normalize();
            for (final SnapshotLayer layer : chain)
            {
                if (layer.file.toAbsolutePath().normalize().equals(outAbsolute))
                {
                    throw new IllegalArgumentException("merge would overwrite " + out + ", a file of the chain");
                }
            }
            final SnapshotLayer newest = chain.get(chain.size() - 1);
            final SnapshotFormat.Header h = newest.header;
            final SnapshotFormat.Header header = new SnapshotFormat.Header(h.pageSize(), h.pageCount(),
                h.regionLengths(), h.vmId(), h.snapshotId(), null, null, h.creationTimeMs());
            try (SnapshotWriter writer = new SnapshotWriter(out, header))
            {
                final int pageSize = h.pageSize();
                new LayerWalker(pageSize).walk(chain, 0, new LayerWalker.Sink()
                {
                    public void data(final long firstPage, final int pages, final long address)
                    {
                        for (int i = 0; i < pages; i++)
                        {
                            writer.page(firstPage + i, address + (long)i * pageSize);
                        }
                        writer.flush();
                    }

                    public void zero(final long pageIndex)
                    {
                        writer.zeroPage(pageIndex);
                    }
                }, new long[newest.defined.length]);
                int rounds = 0;
                for (final SnapshotLayer layer : chain)
                {
                    rounds += layer.footer.rounds();
                }
                writer.finish(ByteBuffer.wrap(newest.deviceState), rounds, newest.footer.pausedAtMs());
            }
            return info(out);
        }
        finally
        {
            SnapshotLayer.closeAll(chain);
        }
    }

    static void checkLayout(final SnapshotLayer layer, final GuestMemory memory)
    {
        final SnapshotFormat.Header h = layer.header;
        if (memory.pageSize() != h.pageSize() || memory.pageCount() != h.pageCount())
        {
            throw new MigrationException(ErrorCode.LAYOUT_MISMATCH, "snapshot " + layer.file + " holds " +
                h.pageCount() + " pages of " + h.pageSize() + " bytes; the memory to restore into has " +
                memory.pageCount() + " pages of " + memory.pageSize());
        }
    }

    static int restoreDevice(final SnapshotLayer newest, final DeviceState device)
    {
        final byte[] state = newest.deviceState;
        if (null != device && state.length > 0)
        {
            try
            {
                device.restore(new UnsafeBuffer(state), 0, state.length);
            }
            catch (final RuntimeException ex)
            {
                throw new MigrationException(ErrorCode.DEVICE_STATE_FAILED,
                    "deviceState.restore from snapshot " + newest.file + ": " + ex, ex);
            }
        }
        return null == device ? 0 : state.length;
    }

    /** @return a fresh id for a snapshot. */
    static UUID newId()
    {
        return UUID.randomUUID();
    }

    /** Installs pages into guest memory, populating runs of fresh memory in one call before the copy. */
    static final class MemorySink implements LayerWalker.Sink
    {
        private final MemoryKernel kernel;
        private final GuestMemory memory;
        private final int pageSize;
        private final boolean memoryZeroed;

        MemorySink(final MemoryKernel kernel, final GuestMemory memory, final boolean memoryZeroed)
        {
            this.kernel = kernel;
            this.memory = memory;
            this.pageSize = memory.pageSize();
            this.memoryZeroed = memoryZeroed;
        }

        public void data(final long firstPage, final int pages, final long address)
        {
            final long first = memory.pageAddress(firstPage);
            final long length = (long)pages * pageSize;
            if (pages == 1 || memory.pageAddress(firstPage + pages - 1) == first + length - pageSize)
            {
                if (memoryZeroed && pages > 1)
                {
                    kernel.populateWrite(first, length);
                }
                UnsafeApi.copyMemory(address, first, length);
            }
            else
            {
                for (int i = 0; i < pages; i++)
                {
                    UnsafeApi.copyMemory(address + (long)i * pageSize, memory.pageAddress(firstPage + i), pageSize);
                }
            }
        }

        public void zero(final long pageIndex)
        {
            if (!memoryZeroed)
            {
                UnsafeApi.setMemory(memory.pageAddress(pageIndex), pageSize, (byte)0);
            }
        }
    }
}
