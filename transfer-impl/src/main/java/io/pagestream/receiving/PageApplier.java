package io.pagestream.receiving;

import io.pagestream.pages.PresentPages;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.PageEncoding;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.Checksums;
import io.pagestream.codec.DeltaCodec;
import io.pagestream.codec.Lz4PageCodec;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.PageFlyweight;
import org.agrona.DirectBuffer;
import org.agrona.UnsafeApi;

/**
 * Applies PAGE frames from the subscription's term buffer straight into guest memory. Every field is validated
 * before a single byte is written; a bad frame throws {@link MigrationException} naming the page and the field.
 * <ul>
 * <li>RAW: CRC32C of the payload checked, then copied into the page.</li>
 * <li>LZ4: decompressed by the safe decompressor into scratch, which must yield exactly one page; CRC32C checked;
 * then copied into the page.</li>
 * <li>DELTA: the whole payload is parsed first (every run inside the page, the payload consumed exactly) and the page
 * must have arrived before; then the changed bytes are copied into the page and the CRC32C of the resulting page is
 * checked. A delta can therefore only ever write inside its page; a checksum failure fails the migration, so a page
 * left wrong is never run.</li>
 * </ul>
 * <p>
 * Threading: single thread. No allocation on success.
 */
public final class PageApplier
{
    private final PageFlyweight pageFlyweight = new PageFlyweight();
    private final GuestMemory memory;
    private final PageBitmap received;
    private final Lz4PageCodec lz4;
    private final long pageCount;
    private final int pageSize;
    private MemoryCommitter committer;
    private io.pagestream.api.guest.PageInstaller installer;
    private long[] stagingPage;
    private int[] stagingFilled;
    private long[] stagingAddress;

    /**
     * @param memory   guest memory to write into.
     * @param received pages that have arrived; read to refuse a delta against a page never received.
     */
    public PageApplier(final GuestMemory memory, final PageBitmap received)
    {
        this.memory = memory;
        this.received = received;
        this.lz4 = new Lz4PageCodec(memory.pageSize());
        this.pageCount = memory.pageCount();
        this.pageSize = memory.pageSize();
    }

    /**
     * @param memoryCommitter commits memory in batches before pages are written, or null.
     */
    void committer(final MemoryCommitter memoryCommitter)
    {
        committer = memoryCommitter;
    }

    /**
     * From the post-copy switchover on, hand every page to an installer instead of writing guest memory: whole pages
     * straight from the frame, chunked pages once a staging slot holds all their chunks, LZ4 pages once decoded.
     *
     * @param pageInstaller installs pages atomically.
     */
    void installer(final io.pagestream.api.guest.PageInstaller pageInstaller)
    {
        if (null == stagingPage)
        {
            stagingPage = new long[STAGING_SLOTS];
            stagingFilled = new int[STAGING_SLOTS];
            stagingAddress = new long[STAGING_SLOTS];
            java.util.Arrays.fill(stagingPage, -1);
            for (int i = 0; i < STAGING_SLOTS; i++)
            {
                stagingBuffers[i] = org.agrona.BufferUtil.allocateDirectAligned(pageSize, 4096);
                stagingAddress[i] = org.agrona.BufferUtil.address(stagingBuffers[i]);
            }
        }
        installer = pageInstaller;
    }

    /** Chunked pages being gathered at once for installing: one per lane is the most that can be part-way. */
    private static final int STAGING_SLOTS = 20;
    /** Most chunks a staged page may have: a bit each. */
    private static final int MAX_CHUNKS = 512;
    private final java.nio.ByteBuffer[] stagingBuffers = new java.nio.ByteBuffer[STAGING_SLOTS];
    private final long[][] stagingChunks = new long[STAGING_SLOTS][MAX_CHUNKS / 64];

    /** Returned by {@link #apply(DirectBuffer, int, int, int, PresentPages)} for a frame of a page already present. */
    public static final long SKIPPED = -2;

    /**
     * Validate and apply one PAGE frame whose common header was already validated.
     *
     * @param buffer        holding the frame.
     * @param offset        of the frame.
     * @param length        bytes that arrived.
     * @param expectedRound the round the frame must belong to.
     * @return the page index if the frame completed its page (last chunk), else -1.
     */
    public long apply(final DirectBuffer buffer, final int offset, final int length, final int expectedRound)
    {
        return apply(buffer, offset, length, expectedRound, null);
    }

    /**
     * Validate and apply one PAGE frame, unless its page is already present: in post-copy the guest runs and may
     * have written a present page since, so a late duplicate must not overwrite it.
     *
     * @param buffer        holding the frame.
     * @param offset        of the frame.
     * @param length        bytes that arrived.
     * @param expectedRound the round the frame must belong to.
     * @param skipIfPresent pages not to touch, or null.
     * @return the page index if the frame completed its page, {@link #SKIPPED} if it was present, else -1.
     */
    public long apply(
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final int expectedRound,
        final PresentPages skipIfPresent)
    {
        if (null != buffer.byteArray())
        {
            // Payloads are read by address, as Aeron's term buffers allow; a heap buffer has none.
            throw new IllegalArgumentException("PageApplier needs a direct buffer, got one over a byte[]");
        }
        final PageFlyweight page = pageFlyweight;
        page.wrapForRead(buffer, offset);
        page.validate(length, pageCount, pageSize);
        final long pageIndex = page.pageIndex();
        if (null != skipIfPresent && skipIfPresent.get(pageIndex))
        {
            return SKIPPED;
        }
        if (page.round() != expectedRound)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "round=" + page.round() +
                " in PAGE frame for pageIndex=" + pageIndex + ", current round is " + expectedRound);
        }
        if (null != installer)
        {
            return install(page, pageIndex, buffer.addressOffset() + offset + PageFlyweight.PAYLOAD_OFFSET);
        }
        if (null != committer)
        {
            committer.beforeWrite(pageIndex);
        }
        final int encoding = page.encoding();
        final int decodedLength = page.decodedLength();
        final int payloadLength = page.payloadLength();
        final int chunkOffset = page.chunkOffset();
        final long payloadAddress = buffer.addressOffset() + offset + PageFlyweight.PAYLOAD_OFFSET;
        final long pageAddress = memory.pageAddress(pageIndex);

        if (encoding == PageEncoding.RAW.code())
        {
            if (payloadLength != decodedLength)
            {
                throw new MigrationException(ErrorCode.BAD_LENGTH, "payloadLength=" + payloadLength +
                    " differs from decodedLength=" + decodedLength + " in RAW frame for pageIndex=" + pageIndex);
            }
            verify(pageIndex, chunkOffset, payloadAddress, payloadLength, page.checksum());
            UnsafeApi.copyMemory(payloadAddress, pageAddress + chunkOffset, payloadLength);
        }
        else if (encoding == PageEncoding.LZ4.code())
        {
            requireWholePage(pageIndex, chunkOffset, decodedLength, "LZ4");
            final long decoded = lz4.decompress(payloadAddress, payloadLength, pageIndex);
            verify(pageIndex, 0, decoded, pageSize, page.checksum());
            UnsafeApi.copyMemory(decoded, pageAddress, pageSize);
        }
        else if (encoding == PageEncoding.DELTA.code())
        {
            requireWholePage(pageIndex, chunkOffset, decodedLength, "DELTA");
            if (!received.get(pageIndex))
            {
                throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                    "DELTA frame for pageIndex=" + pageIndex + ", which has not arrived before");
            }
            DeltaCodec.validate(payloadAddress, payloadLength, pageSize, pageIndex);
            DeltaCodec.apply(payloadAddress, payloadLength, pageAddress);
            verify(pageIndex, 0, pageAddress, pageSize, page.checksum());
        }
        else
        {
            throw new MigrationException(ErrorCode.UNKNOWN_ENCODING,
                "encoding=" + encoding + " in PAGE frame for pageIndex=" + pageIndex);
        }
        return chunkOffset + decodedLength == pageSize ? pageIndex : -1;
    }

    private long install(final PageFlyweight page, final long pageIndex, final long payloadAddress)
    {
        final int encoding = page.encoding();
        final int payloadLength = page.payloadLength();
        final int chunkOffset = page.chunkOffset();
        if (encoding == PageEncoding.RAW.code())
        {
            if (payloadLength != page.decodedLength())
            {
                throw new MigrationException(ErrorCode.BAD_LENGTH, "payloadLength=" + payloadLength +
                    " differs from decodedLength=" + page.decodedLength() + " in RAW frame for pageIndex=" + pageIndex);
            }
            verify(pageIndex, chunkOffset, payloadAddress, payloadLength, page.checksum());
            if (payloadLength == pageSize)
            {
                return installer.installPage(pageIndex, payloadAddress) ? pageIndex : SKIPPED;
            }
            final int chunks = pageSize / payloadLength;
            if (chunkOffset % payloadLength != 0 || chunks > MAX_CHUNKS)
            {
                throw new MigrationException(ErrorCode.BAD_LENGTH, "chunk of " + payloadLength + " bytes at " +
                    chunkOffset + " of pageIndex=" + pageIndex + ": chunks must be equal, aligned and at most " +
                    MAX_CHUNKS + " a page");
            }
            final int slot = stagingSlot(pageIndex);
            final int chunk = chunkOffset / payloadLength;
            UnsafeApi.copyMemory(payloadAddress, stagingAddress[slot] + chunkOffset, payloadLength);
            final long[] have = stagingChunks[slot];
            if ((have[chunk >>> 6] & (1L << chunk)) == 0)
            {
                have[chunk >>> 6] |= 1L << chunk;
                stagingFilled[slot]++;
            }
            if (stagingFilled[slot] < chunks)
            {
                return -1;
            }
            stagingPage[slot] = -1;
            return installer.installPage(pageIndex, stagingAddress[slot]) ? pageIndex : SKIPPED;
        }
        if (encoding == PageEncoding.LZ4.code())
        {
            requireWholePage(pageIndex, chunkOffset, page.decodedLength(), "LZ4");
            final long decoded = lz4.decompress(payloadAddress, payloadLength, pageIndex);
            verify(pageIndex, 0, decoded, pageSize, page.checksum());
            return installer.installPage(pageIndex, decoded) ? pageIndex : SKIPPED;
        }
        if (encoding == PageEncoding.DELTA.code())
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "DELTA frame for pageIndex=" + pageIndex +
                " after the post-copy switchover: this target installs whole pages (its old versions were discarded)");
        }
        throw new MigrationException(ErrorCode.UNKNOWN_ENCODING,
            "encoding=" + encoding + " in PAGE frame for pageIndex=" + pageIndex);
    }

    private int stagingSlot(final long pageIndex)
    {
        int free = -1;
        for (int i = 0; i < STAGING_SLOTS; i++)
        {
            if (stagingPage[i] == pageIndex)
            {
                return i;
            }
            if (free < 0 && stagingPage[i] < 0)
            {
                free = i;
            }
        }
        if (free < 0)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "pageIndex=" + pageIndex + ": more than " +
                STAGING_SLOTS + " pages part-way, more than the lanes could send");
        }
        stagingPage[free] = pageIndex;
        stagingFilled[free] = 0;
        java.util.Arrays.fill(stagingChunks[free], 0);
        return free;
    }

    private void requireWholePage(
        final long pageIndex, final int chunkOffset, final int decodedLength, final String encodingName)
    {
        if (chunkOffset != 0 || decodedLength != pageSize)
        {
            throw new MigrationException(ErrorCode.BAD_LENGTH, encodingName + " frame for pageIndex=" + pageIndex +
                " must cover the whole page: chunkOffset=" + chunkOffset + " decodedLength=" + decodedLength);
        }
    }

    private static void verify(
        final long pageIndex, final int chunkOffset, final long address, final int length, final int expected)
    {
        final int checksum = Checksums.crc32c(address, length);
        if (checksum != expected)
        {
            throw new MigrationException(ErrorCode.CHECKSUM_MISMATCH, "pageIndex=" + pageIndex + " chunkOffset=" +
                chunkOffset + ": CRC32C 0x" + Integer.toHexString(checksum) + ", frame says 0x" +
                Integer.toHexString(expected));
        }
    }
}
