package io.pagestream.codec;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import org.agrona.BufferUtil;
import org.agrona.UnsafeApi;

import java.nio.ByteBuffer;

/**
 * LZ4 block compression of one page, with lz4-java's JNI implementation where it loads and its safe pure-Java one
 * otherwise: one static factory, never the "insecure" or "unsafe" instances, and only the safe decompressor, which
 * never writes past its destination. A page must decompress to exactly the page size.
 * <p>
 * Threading: an instance owns its scratch buffers; one per thread.
 */
public final class Lz4PageCodec
{
    private static final LZ4Factory FACTORY = pickFactory();

    private final LZ4Compressor compressor = FACTORY.fastCompressor();
    private final LZ4SafeDecompressor decompressor = FACTORY.safeDecompressor();
    private final int pageSize;
    private final int maxCompressedLength;
    private final ByteBuffer input;
    private final ByteBuffer output;
    private final long inputAddress;
    private final long outputAddress;

    /**
     * @param pageSize page size in bytes.
     */
    public Lz4PageCodec(final int pageSize)
    {
        this.pageSize = pageSize;
        this.maxCompressedLength = compressor.maxCompressedLength(pageSize);
        this.input = BufferUtil.allocateDirectAligned(Math.max(pageSize, maxCompressedLength), 64);
        this.output = BufferUtil.allocateDirectAligned(Math.max(pageSize, maxCompressedLength), 64);
        this.inputAddress = BufferUtil.address(input);
        this.outputAddress = BufferUtil.address(output);
    }

    private static LZ4Factory pickFactory()
    {
        try
        {
            return LZ4Factory.nativeInstance();
        }
        catch (final Throwable ex)
        {
            return LZ4Factory.safeInstance();
        }
    }

    /** @return which implementation is in use, for reports. */
    public static String implementation()
    {
        return FACTORY.toString();
    }

    /** @return the worst-case compressed length of a page. */
    public int maxCompressedLength()
    {
        return maxCompressedLength;
    }

    /**
     * Compress a page held in native memory that will not change meanwhile (a snapshot).
     *
     * @param page   address of the page.
     * @param maxOut largest acceptable result.
     * @return compressed length, available at {@link #outputAddress()}, or -1 if larger than {@code maxOut}.
     */
    public int compress(final long page, final int maxOut)
    {
        UnsafeApi.copyMemory(page, inputAddress, pageSize);
        final int length = compressor.compress(input, 0, pageSize, output, 0, maxCompressedLength);
        return length <= maxOut ? length : -1;
    }

    /** @return address of the last compression's output. */
    public long outputAddress()
    {
        return outputAddress;
    }

    /**
     * Decompress a payload to exactly one page, into this codec's output buffer; nothing else is written.
     *
     * @param payload       address of the compressed bytes.
     * @param payloadLength their length.
     * @param pageIndex     for error messages.
     * @return address of the decompressed page ({@link #outputAddress()}).
     * @throws MigrationException BAD_LENGTH if the payload is malformed or does not decode to exactly a page.
     */
    public long decompress(final long payload, final int payloadLength, final long pageIndex)
    {
        if (payloadLength <= 0 || payloadLength > maxCompressedLength)
        {
            throw new MigrationException(ErrorCode.BAD_LENGTH, "LZ4 payloadLength=" + payloadLength +
                " for pageIndex=" + pageIndex + " outside 1.." + maxCompressedLength);
        }
        UnsafeApi.copyMemory(payload, inputAddress, payloadLength);
        final int length;
        try
        {
            length = decompressor.decompress(input, 0, payloadLength, output, 0, pageSize);
        }
        catch (final LZ4Exception ex)
        {
            throw new MigrationException(ErrorCode.BAD_LENGTH,
                "LZ4 payload for pageIndex=" + pageIndex + " is malformed: " + ex.getMessage());
        }
        if (length != pageSize)
        {
            throw new MigrationException(ErrorCode.BAD_LENGTH, "LZ4 payload for pageIndex=" + pageIndex +
                " decodes to " + length + " bytes, page size is " + pageSize);
        }
        return outputAddress;
    }
}
