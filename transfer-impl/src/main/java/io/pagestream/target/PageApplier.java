package io.pagestream.target;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.PageEncoding;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.Checksums;
import io.pagestream.protocol.PageFlyweight;
import org.agrona.DirectBuffer;
import org.agrona.UnsafeAccess;

/**
 * Applies PAGE frames from the subscription's term buffer straight into guest memory. Every field is validated and
 * the payload's CRC32C checked before a single byte is written; a bad frame throws {@link MigrationException} naming
 * the page and the field, and writes nothing.
 * <p>
 * Threading: single thread. No allocation on success.
 */
public final class PageApplier
{
    private final PageFlyweight pageFlyweight = new PageFlyweight();
    private final GuestMemory memory;
    private final long pageCount;
    private final int pageSize;

    /**
     * @param memory guest memory to write into.
     */
    public PageApplier(final GuestMemory memory)
    {
        this.memory = memory;
        this.pageCount = memory.pageCount();
        this.pageSize = memory.pageSize();
    }

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
        final PageFlyweight page = pageFlyweight;
        page.wrapForRead(buffer, offset);
        page.validate(length, pageCount, pageSize);
        final long pageIndex = page.pageIndex();
        if (page.round() != expectedRound)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "round=" + page.round() +
                " in PAGE frame for pageIndex=" + pageIndex + ", current round is " + expectedRound);
        }
        final int encoding = page.encoding();
        if (encoding != PageEncoding.RAW.code())
        {
            final PageEncoding known = PageEncoding.get(encoding);
            throw new MigrationException(ErrorCode.UNKNOWN_ENCODING, "encoding=" + encoding +
                (null == known ? "" : " (" + known + ", not accepted in page frames by this build)") +
                " for pageIndex=" + pageIndex);
        }
        final int decodedLength = page.decodedLength();
        final int payloadLength = page.payloadLength();
        if (payloadLength != decodedLength)
        {
            throw new MigrationException(ErrorCode.BAD_LENGTH, "payloadLength=" + payloadLength +
                " differs from decodedLength=" + decodedLength + " in RAW frame for pageIndex=" + pageIndex);
        }

        final long payloadAddress = buffer.addressOffset() + offset + PageFlyweight.PAYLOAD_OFFSET;
        final int checksum = Checksums.crc32c(payloadAddress, payloadLength);
        if (checksum != page.checksum())
        {
            throw new MigrationException(ErrorCode.CHECKSUM_MISMATCH, "pageIndex=" + pageIndex + " chunkOffset=" +
                page.chunkOffset() + ": CRC32C 0x" + Integer.toHexString(checksum) + ", frame says 0x" +
                Integer.toHexString(page.checksum()));
        }

        final int chunkOffset = page.chunkOffset();
        UnsafeAccess.UNSAFE.copyMemory(payloadAddress, memory.pageAddress(pageIndex) + chunkOffset, payloadLength);
        return chunkOffset + decodedLength == pageSize ? pageIndex : -1;
    }
}
