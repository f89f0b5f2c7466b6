package io.pagestream.snapshot;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.codec.Checksums;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * Walks a chain of snapshot layers newest first, giving every page once, from the newest layer that defines it: a
 * data page's bytes are read in runs of consecutive pages into a staging buffer and checked against their checksum
 * before the sink sees them; a zero page is named without reading anything.
 * <p>
 * Threading: one thread. Nothing is allocated per page.
 */
final class LayerWalker
{
    /** Where the pages go. */
    interface Sink
    {
        /**
         * A run of data pages, checked.
         *
         * @param firstPage the run's first page.
         * @param pages     pages in the run, consecutive.
         * @param address   their bytes, {@code pages * pageSize} of them, valid during the call.
         */
        void data(long firstPage, int pages, long address);

        /**
         * A page defined as zero.
         *
         * @param pageIndex the page.
         */
        void zero(long pageIndex);
    }

    private static final int STAGING_BYTES = 1 << 20;

    private final int pageSize;
    private final ByteBuffer staging;
    private final long stagingAddress;
    private final int stagingPages;
    private long dataPages;
    private long zeroPages;
    private long bytesRead;

    LayerWalker(final int pageSize)
    {
        this.pageSize = pageSize;
        final int bytes = Math.max(STAGING_BYTES, pageSize);
        this.staging = BufferUtil.allocateDirectAligned(bytes, 4096);
        this.stagingAddress = new UnsafeBuffer(staging).addressOffset();
        this.stagingPages = bytes / pageSize;
    }

    /**
     * @param layers oldest first, as {@link SnapshotLayer#openChain} gives them.
     * @param from   the first layer to walk (layers before it are left out, e.g. a base already mapped).
     * @param sink   where the pages go.
     * @param done   pages already given, updated: bits are only set.
     */
    void walk(final List<SnapshotLayer> layers, final int from, final Sink sink, final long[] done)
    {
        for (int i = layers.size() - 1; i >= from; i--)
        {
            walkLayer(layers.get(i), sink, done);
        }
    }

    private void walkLayer(final SnapshotLayer layer, final Sink sink, final long[] done)
    {
        int crcIndex = 0;
        long runFirst = -1;
        int runPages = 0;
        int runFirstCrc = 0;
        for (int w = 0; w < layer.defined.length; w++)
        {
            final long fresh = layer.defined[w] & ~done[w];
            long dataBits = layer.data[w];
            long zeroBits = fresh & ~dataBits;
            while (zeroBits != 0)
            {
                final int bit = Long.numberOfTrailingZeros(zeroBits);
                zeroBits &= zeroBits - 1;
                sink.zero(((long)w << 6) + bit);
                zeroPages++;
            }
            while (dataBits != 0)
            {
                final int bit = Long.numberOfTrailingZeros(dataBits);
                dataBits &= dataBits - 1;
                final int crc = crcIndex++;
                if ((fresh & (1L << bit)) == 0)
                {
                    continue;
                }
                final long page = ((long)w << 6) + bit;
                if (runPages > 0 && (runFirst + runPages != page || runPages == stagingPages))
                {
                    readRun(layer, runFirst, runPages, runFirstCrc, sink);
                    runPages = 0;
                }
                if (runPages == 0)
                {
                    runFirst = page;
                    runFirstCrc = crc;
                }
                runPages++;
            }
            done[w] |= layer.defined[w];
        }
        if (runPages > 0)
        {
            readRun(layer, runFirst, runPages, runFirstCrc, sink);
        }
    }

    private void readRun(
        final SnapshotLayer layer, final long firstPage, final int pages, final int firstCrc, final Sink sink)
    {
        final int length = pages * pageSize;
        layer.read(staging.clear().limit(length), layer.pageOffset(firstPage));
        for (int i = 0; i < pages; i++)
        {
            final int actual = Checksums.crc32c(stagingAddress + (long)i * pageSize, pageSize);
            final int stored = layer.checksums[firstCrc + i];
            if (actual != stored)
            {
                throw new MigrationException(ErrorCode.CHECKSUM_MISMATCH, "snapshot " + layer.file + ": page " +
                    (firstPage + i) + " (file offset " + layer.pageOffset(firstPage + i) + ") fails its checksum: " +
                    "stored 0x" + Integer.toHexString(stored) + ", read 0x" + Integer.toHexString(actual));
            }
        }
        bytesRead += length;
        dataPages += pages;
        sink.data(firstPage, pages, stagingAddress);
    }

    long dataPages()
    {
        return dataPages;
    }

    long zeroPages()
    {
        return zeroPages;
    }

    long bytesRead()
    {
        return bytesRead;
    }
}
