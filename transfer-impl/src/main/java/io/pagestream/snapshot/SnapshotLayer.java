package io.pagestream.snapshot;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * One snapshot file, opened and checked: header, completion footer, metadata checksum and the maps' consistency are
 * verified on open, so a file that opens is complete; page checksums are verified as pages are read.
 * <p>
 * Threading: one thread; holds the file open until {@link #close()}.
 */
final class SnapshotLayer implements AutoCloseable
{
    final Path file;
    final FileChannel channel;
    final SnapshotFormat.Header header;
    final SnapshotFormat.Footer footer;
    final long[] defined;
    final long[] data;
    /** CRC32C of each data page, in page order: {@code checksums[k]} belongs to the k-th set bit of {@link #data}. */
    final int[] checksums;
    final byte[] deviceState;

    private SnapshotLayer(
        final Path file, final FileChannel channel, final SnapshotFormat.Header header,
        final SnapshotFormat.Footer footer, final long[] defined, final long[] data, final int[] checksums,
        final byte[] deviceState)
    {
        this.file = file;
        this.channel = channel;
        this.header = header;
        this.footer = footer;
        this.defined = defined;
        this.data = data;
        this.checksums = checksums;
        this.deviceState = deviceState;
    }

    /**
     * Open and check one file.
     *
     * @param file the snapshot.
     * @return the layer, open.
     * @throws MigrationException {@code SNAPSHOT_INVALID} (or {@code UNSUPPORTED_VERSION}) naming what is wrong.
     */
    static SnapshotLayer open(final Path file)
    {
        final FileChannel channel;
        try
        {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        }
        catch (final NoSuchFileException ex)
        {
            throw SnapshotFormat.invalid(file, "no such file");
        }
        catch (final IOException ex)
        {
            throw SnapshotFormat.invalid(file, "cannot be opened: " + ex);
        }
        try
        {
            return read(file, channel);
        }
        catch (final RuntimeException ex)
        {
            closeQuietly(channel);
            throw ex;
        }
    }

    private static SnapshotLayer read(final Path file, final FileChannel channel)
    {
        final long size = size(file, channel);
        if (size < SnapshotFormat.HEADER_BYTES + SnapshotFormat.FOOTER_BYTES)
        {
            final ByteBuffer start = readFully(file, channel, 0, (int)Math.min(size, SnapshotFormat.HEADER_BYTES));
            if (start.limit() >= 8 && start.order(ByteOrder.LITTLE_ENDIAN).getLong(0) == SnapshotFormat.HEADER_MAGIC)
            {
                throw new MigrationException(ErrorCode.SNAPSHOT_INVALID, "snapshot " + file + " is incomplete: " +
                    size + " bytes, too short to hold its completion footer (truncated?)");
            }
            throw SnapshotFormat.invalid(file, "not a PageStream snapshot (" + size + " bytes)");
        }
        final SnapshotFormat.Header header =
            SnapshotFormat.decodeHeader(file, readFully(file, channel, 0, SnapshotFormat.HEADER_BYTES));
        final SnapshotFormat.Footer footer = SnapshotFormat.decodeFooter(
            file, readFully(file, channel, size - SnapshotFormat.FOOTER_BYTES, SnapshotFormat.FOOTER_BYTES));
        if (!header.snapshotId().equals(footer.snapshotId()))
        {
            throw SnapshotFormat.invalid(file, "the footer belongs to snapshot " + footer.snapshotId() +
                ", the header to " + header.snapshotId());
        }
        final int words = (int)((header.pageCount() + 63) >>> 6);
        final long metaOffset = header.metaOffset();
        final long mapsBytes = 16L * words;
        final long expectedSize = metaOffset + mapsBytes + 4 * footer.dataPages() + footer.deviceStateLength() +
            SnapshotFormat.FOOTER_BYTES;
        if (footer.metaOffset() != metaOffset || footer.dataPages() < 0 || footer.deviceStateLength() < 0 ||
            footer.deviceStateOffset() != metaOffset + mapsBytes + 4 * footer.dataPages() || expectedSize != size)
        {
            throw new MigrationException(ErrorCode.SNAPSHOT_INVALID, "snapshot " + file + " is " + size +
                " bytes where its header and footer describe " + expectedSize + " (truncated or extended?)");
        }
        final long metaBytes = size - SnapshotFormat.FOOTER_BYTES - metaOffset;
        if (metaBytes > Integer.MAX_VALUE - 16)
        {
            throw SnapshotFormat.invalid(file, "metadata of " + metaBytes + " bytes is more than this build reads");
        }
        final ByteBuffer meta = readFully(file, channel, metaOffset, (int)metaBytes).order(ByteOrder.LITTLE_ENDIAN);
        final CRC32C crc = new CRC32C();
        crc.update(meta.duplicate());
        if ((int)crc.getValue() != footer.metadataCrc())
        {
            throw SnapshotFormat.invalid(file, "the page maps, page checksums or device state fail their checksum");
        }
        final long[] defined = new long[words];
        final long[] data = new long[words];
        meta.asLongBuffer().get(0, defined).get(words, data);
        final int[] checksums = new int[(int)footer.dataPages()];
        meta.position((int)mapsBytes).slice().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(checksums);
        final byte[] device = new byte[footer.deviceStateLength()];
        meta.get((int)(mapsBytes + 4L * checksums.length), device);
        checkMaps(file, header, footer, defined, data);
        return new SnapshotLayer(file, channel, header, footer, defined, data, checksums, device);
    }

    private static void checkMaps(
        final Path file, final SnapshotFormat.Header header, final SnapshotFormat.Footer footer, final long[] defined,
        final long[] data)
    {
        long definedCount = 0;
        long dataCount = 0;
        final int tail = (int)(header.pageCount() & 63);
        for (int w = 0; w < defined.length; w++)
        {
            if ((data[w] & ~defined[w]) != 0)
            {
                throw SnapshotFormat.invalid(file, "page " + (w * 64L + Long.numberOfTrailingZeros(data[w] &
                    ~defined[w])) + " holds data but is not marked defined");
            }
            final long valid = w == defined.length - 1 && tail != 0 ? (1L << tail) - 1 : -1L;
            if ((defined[w] & ~valid) != 0)
            {
                throw SnapshotFormat.invalid(file, "the page map marks pages past the guest's " +
                    header.pageCount());
            }
            if (header.isFull() && defined[w] != valid)
            {
                throw SnapshotFormat.invalid(file, "a full snapshot that leaves page " + (w * 64L +
                    Long.numberOfTrailingZeros(~defined[w] & valid)) + " undefined");
            }
            definedCount += Long.bitCount(defined[w]);
            dataCount += Long.bitCount(data[w]);
        }
        if (definedCount != footer.definedPages() || dataCount != footer.dataPages())
        {
            throw SnapshotFormat.invalid(file, "the page maps count " + definedCount + " defined and " + dataCount +
                " data pages, the footer " + footer.definedPages() + " and " + footer.dataPages());
        }
    }

    /**
     * Open a snapshot and its ancestors, oldest first: the first is a full snapshot, each later one was taken after
     * the one before it (its parent id matches) of the same guest layout.
     *
     * @param tip the newest file.
     * @return the chain, open; close every layer.
     */
    static List<SnapshotLayer> openChain(final Path tip)
    {
        final List<SnapshotLayer> chain = new ArrayList<>();
        try
        {
            SnapshotLayer layer = open(tip);
            chain.add(layer);
            while (!layer.header.isFull())
            {
                if (chain.size() > 4096)
                {
                    throw SnapshotFormat.invalid(tip, "a chain of more than 4096 snapshots (a loop?)");
                }
                final Path parentPath = resolveParent(layer);
                final SnapshotLayer parent;
                try
                {
                    parent = open(parentPath);
                }
                catch (final MigrationException ex)
                {
                    throw new MigrationException(ErrorCode.SNAPSHOT_INVALID, "snapshot " + layer.file +
                        " needs its parent " + parentPath + ": " + ex.getMessage(), ex);
                }
                chain.add(parent);
                if (!layer.header.parentId().equals(parent.header.snapshotId()))
                {
                    throw SnapshotFormat.invalid(layer.file, "its parent " + parentPath + " is snapshot " +
                        parent.header.snapshotId() + ", not " + layer.header.parentId() + " it was taken after");
                }
                if (parent.header.pageSize() != layer.header.pageSize() ||
                    parent.header.pageCount() != layer.header.pageCount())
                {
                    throw SnapshotFormat.invalid(layer.file, "its parent " + parentPath + " has another layout");
                }
                layer = parent;
            }
            Collections.reverse(chain);
            return chain;
        }
        catch (final RuntimeException ex)
        {
            closeAll(chain);
            throw ex;
        }
    }

    static Path resolveParent(final SnapshotLayer layer)
    {
        final Path written = Path.of(layer.header.parentPath());
        if (written.isAbsolute())
        {
            return written;
        }
        final Path dir = layer.file.toAbsolutePath().getParent();
        return null == dir ? written : dir.resolve(written);
    }

    static void closeAll(final List<SnapshotLayer> chain)
    {
        for (final SnapshotLayer layer : chain)
        {
            layer.close();
        }
    }

    /**
     * @param pageIndex a page.
     * @return true if this file defines it.
     */
    boolean defines(final long pageIndex)
    {
        return (defined[(int)(pageIndex >>> 6)] & (1L << pageIndex)) != 0;
    }

    /**
     * @param pageIndex a page.
     * @return true if this file holds its bytes.
     */
    boolean holdsData(final long pageIndex)
    {
        return (data[(int)(pageIndex >>> 6)] & (1L << pageIndex)) != 0;
    }

    /** @return the file offset of a page. */
    long pageOffset(final long pageIndex)
    {
        return header.dataOffset() + pageIndex * header.pageSize();
    }

    /**
     * Read into a buffer from the file, to its limit.
     *
     * @param into     the buffer, position 0.
     * @param position file offset.
     */
    void read(final ByteBuffer into, final long position)
    {
        readInto(file, channel, into, position);
    }

    public void close()
    {
        closeQuietly(channel);
    }

    static ByteBuffer readFully(final Path file, final FileChannel channel, final long position, final int length)
    {
        final ByteBuffer b = ByteBuffer.allocate(length);
        readInto(file, channel, b, position);
        return b.flip();
    }

    static void readInto(final Path file, final FileChannel channel, final ByteBuffer into, final long position)
    {
        try
        {
            long at = position;
            while (into.hasRemaining())
            {
                final int n = channel.read(into, at);
                if (n < 0)
                {
                    throw new MigrationException(ErrorCode.SNAPSHOT_INVALID, "snapshot " + file +
                        " ends at " + at + ", before the bytes it describes (truncated while open?)");
                }
                at += n;
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("reading snapshot " + file + " at " + position, ex);
        }
    }

    private static long size(final Path file, final FileChannel channel)
    {
        try
        {
            return channel.size();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("reading snapshot " + file, ex);
        }
    }

    private static void closeQuietly(final FileChannel channel)
    {
        try
        {
            channel.close();
        }
        catch (final IOException ignore)
        {
            // closing a file opened for reading
        }
    }
}
