package io.pagestream.snapshot;

import io.pagestream.codec.Checksums;
import io.pagestream.codec.ZeroPages;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.UnsafeApi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Writes one snapshot file: pages at their fixed offsets as they come (a page written again is rewritten in place),
 * then the metadata and the footer. Pages are copied from guest memory into a staging buffer first, so the checksum
 * is of exactly the bytes written even while the guest keeps writing; consecutive pages go out in one write.
 * <p>
 * Threading: one thread. Nothing is allocated per page.
 */
final class SnapshotWriter implements AutoCloseable
{
    private static final int STAGING_BYTES = 1 << 20;

    private final Path file;
    private final FileChannel channel;
    private final SnapshotFormat.Header header;
    private final int pageSize;
    private final long dataOffset;
    private final long[] defined;
    private final long[] data;
    private final int[] pageCrc;
    private final ByteBuffer staging;
    private final long stagingAddress;
    private final int stagingPages;
    private final ByteBuffer zeros;
    private long pendingFirst = -1;
    private int pending;
    private long dataPagesWritten;
    private boolean finished;

    SnapshotWriter(final Path file, final SnapshotFormat.Header header)
    {
        this.file = file;
        this.header = header;
        this.pageSize = header.pageSize();
        this.dataOffset = header.dataOffset();
        if (header.pageCount() > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("a snapshot holds at most " + Integer.MAX_VALUE + " pages: " +
                header.pageCount());
        }
        final int words = (int)((header.pageCount() + 63) >>> 6);
        this.defined = new long[words];
        this.data = new long[words];
        this.pageCrc = new int[(int)header.pageCount()];
        final int stagingBytes = Math.max(STAGING_BYTES, pageSize);
        this.staging = BufferUtil.allocateDirectAligned(stagingBytes, 4096);
        this.stagingAddress = new UnsafeBuffer(staging).addressOffset();
        this.stagingPages = stagingBytes / pageSize;
        this.zeros = ByteBuffer.allocateDirect(pageSize);
        try
        {
            final Path parent = file.toAbsolutePath().getParent();
            if (null != parent)
            {
                Files.createDirectories(parent);
            }
            this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.READ, StandardOpenOption.TRUNCATE_EXISTING);
            write(SnapshotFormat.encodeHeader(header), 0);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create snapshot " + file, ex);
        }
    }

    /**
     * Write a page: copy it, and write it at its offset unless it is zero (then it is defined as zero, and if an
     * earlier round wrote bytes there, they are zeroed so the file reads as the map says).
     *
     * @param pageIndex the page.
     * @param address   its bytes in guest memory.
     */
    void page(final long pageIndex, final long address)
    {
        if (pending > 0 && (pendingFirst + pending != pageIndex || pending == stagingPages))
        {
            flush();
        }
        final long slot = stagingAddress + (long)pending * pageSize;
        UnsafeApi.copyMemory(address, slot, pageSize);
        if (ZeroPages.isZero(slot, pageSize))
        {
            flush();
            zeroPage(pageIndex);
            return;
        }
        if (pending == 0)
        {
            pendingFirst = pageIndex;
        }
        pending++;
        pageCrc[(int)pageIndex] = Checksums.crc32c(slot, pageSize);
        final int w = (int)(pageIndex >>> 6);
        defined[w] |= 1L << pageIndex;
        data[w] |= 1L << pageIndex;
    }

    /**
     * Define a page as zero without reading it.
     *
     * @param pageIndex the page.
     */
    void zeroPage(final long pageIndex)
    {
        final int w = (int)(pageIndex >>> 6);
        final long bit = 1L << pageIndex;
        if ((data[w] & bit) != 0)
        {
            if (pending > 0 && pageIndex >= pendingFirst && pageIndex < pendingFirst + pending)
            {
                flush();
            }
            write(zeros.clear(), dataOffset + pageIndex * pageSize);
            data[w] &= ~bit;
        }
        defined[w] |= bit;
    }

    /** Write the pages staged so far. */
    void flush()
    {
        if (pending > 0)
        {
            staging.clear().limit(pending * pageSize);
            write(staging, dataOffset + pendingFirst * pageSize);
            dataPagesWritten += pending;
            pending = 0;
            pendingFirst = -1;
        }
    }

    /**
     * Write the metadata and, last, the footer, and force the file to storage.
     *
     * @param deviceState the device state, position to limit.
     * @param rounds      rounds run.
     * @param pausedAtMs  wall-clock time of the final pause.
     * @return the footer written: the file's counts and places.
     */
    SnapshotFormat.Footer finish(final ByteBuffer deviceState, final int rounds, final long pausedAtMs)
    {
        flush();
        final int words = defined.length;
        long definedCount = 0;
        int dataCount = 0;
        for (int w = 0; w < words; w++)
        {
            definedCount += Long.bitCount(defined[w]);
            dataCount += Long.bitCount(data[w]);
        }
        final int deviceLength = deviceState.remaining();
        final long metaLength = 16L * words + 4L * dataCount + deviceLength;
        if (metaLength > Integer.MAX_VALUE - 16)
        {
            throw new IllegalStateException("snapshot metadata of " + metaLength + " bytes");
        }
        final ByteBuffer meta = ByteBuffer.allocateDirect((int)metaLength).order(ByteOrder.LITTLE_ENDIAN);
        for (int w = 0; w < words; w++)
        {
            meta.putLong(defined[w]);
        }
        for (int w = 0; w < words; w++)
        {
            meta.putLong(data[w]);
        }
        for (int w = 0; w < words; w++)
        {
            long bits = data[w];
            while (bits != 0)
            {
                final int bit = Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
                meta.putInt(pageCrc[(w << 6) + bit]);
            }
        }
        meta.put(deviceState.duplicate());
        meta.flip();
        final CRC32C crc = new CRC32C();
        crc.update(meta.duplicate());
        final long metaOffset = header.metaOffset();
        write(meta, metaOffset);
        final SnapshotFormat.Footer footer = new SnapshotFormat.Footer(metaOffset, definedCount, dataCount,
            metaOffset + 16L * words + 4L * dataCount, deviceLength, rounds, pausedAtMs, header.snapshotId(),
            (int)crc.getValue());
        final long footerAt = metaOffset + metaLength;
        try
        {
            channel.force(false);
            write(SnapshotFormat.encodeFooter(footer), footerAt);
            channel.force(false);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot finish snapshot " + file, ex);
        }
        finished = true;
        return footer;
    }

    /** @return data pages written so far, rewrites included. */
    long dataPagesWritten()
    {
        return dataPagesWritten + pending;
    }

    private void write(final ByteBuffer b, final long position)
    {
        try
        {
            long at = position;
            while (b.hasRemaining())
            {
                final int n = channel.write(b, at);
                at += n;
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("writing snapshot " + file + " at " + position, ex);
        }
    }

    /**
     * Close the file; if it was not finished, delete it, so no incomplete snapshot is left behind.
     */
    public void close()
    {
        try
        {
            channel.close();
            if (!finished)
            {
                Files.deleteIfExists(file);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("closing snapshot " + file, ex);
        }
    }
}
