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

    /** One page of a layer, given by {@link #forEachFreshPage}. */
    interface PageVisitor
    {
        /**
         * @param pageIndex     the page.
         * @param checksumIndex its index in the layer's checksums if the layer holds its bytes, else -1 (zero).
         */
        void page(long pageIndex, int checksumIndex);
    }

    /**
     * Give every page a layer defines and {@code done} does not hold yet, in page order, then add the layer's pages
     * to {@code done}.
     *
     * @param layer   the layer.
     * @param done    pages given by newer layers; bits are only set.
     * @param visitor gets each page.
     */
    static void forEachFreshPage(final SnapshotLayer layer, final long[] done, final PageVisitor visitor)
    {
        int checksumIndex = 0;
        for (int w = 0; w < layer.defined.length; w++)
        {
            final long fresh = layer.defined[w] & ~done[w];
            for (long bits = layer.defined[w]; bits != 0; bits &= bits - 1)
            {
                final int bit = Long.numberOfTrailingZeros(bits);
                final int checksum = (layer.data[w] & (1L << bit)) != 0 ? checksumIndex++ : -1;
                if ((fresh & (1L << bit)) != 0)
                {
                    visitor.page(((long)w << 6) + bit, checksum);
                }
            }
            done[w] |= layer.defined[w];
        }
    }

    private void walkLayer(final SnapshotLayer layer, final Sink sink, final long[] done)
    {
        runPages = 0;
        forEachFreshPage(layer, done, (page, checksum) ->
        {
            if (checksum < 0)
            {
                sink.zero(page);
                zeroPages++;
                return;
            }
            if (runPages > 0 && (runFirst + runPages != page || runPages == stagingPages))
            {
                readRun(layer, runFirst, runPages, runFirstCrc, sink);
                runPages = 0;
            }
            if (runPages == 0)
            {
                runFirst = page;
                runFirstCrc = checksum;
            }
            runPages++;
        });
        if (runPages > 0)
        {
            readRun(layer, runFirst, runPages, runFirstCrc, sink);
        }
    }

    private long runFirst;
    private int runPages;
    private int runFirstCrc;

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
