package io.pagestream.codec;

import io.pagestream.api.MigrationException;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.agrona.UnsafeApi;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * LZ4 page round trips on guest-like pages, and the safe decoder against arbitrary input.
 */
class Lz4PageCodecProperties
{
    private static final int PAGE = NativePages.PAGE;
    private final Lz4PageCodec codec = new Lz4PageCodec(PAGE);

    @Property(tries = 300)
    void compressedPagesDecompressToThemselves(@ForAll final long seed, @ForAll @IntRange(min = 0, max = 3) final int kind)
    {
        final Random random = new Random(seed);
        final byte[] page = new byte[PAGE];
        switch (kind)
        {
            case 0: random.nextBytes(page); break;
            case 1:
            {
                final String[] words = { "the ", "kernel ", "page ", "cache ", "struct ", "return ", "if (x) " };
                for (int i = 0; i < PAGE; )
                {
                    final String word = words[random.nextInt(words.length)];
                    for (int c = 0; c < word.length() && i < PAGE; c++)
                    {
                        page[i++] = (byte)word.charAt(c);
                    }
                }
                break;
            }
            case 2: page[random.nextInt(PAGE)] = 1; break;
            default:
                for (int i = 0; i < PAGE; i += 8)
                {
                    page[i] = (byte)random.nextInt(16);
                }
        }
        final long source = NativePages.copyOf(page);
        try
        {
            final int length = codec.compress(source, codec.maxCompressedLength());
            assertThat(length).isPositive();
            final long compressed = NativePages.copyOf(new byte[length]);
            UnsafeApi.copyMemory(codec.outputAddress(), compressed, length);
            final long decoded = codec.decompress(compressed, length, 3);
            final byte[] back = new byte[PAGE];
            UnsafeApi.copyMemory(null, decoded, back, UnsafeApi.arrayBaseOffset(byte[].class), PAGE);
            assertThat(back).isEqualTo(page);
            NativePages.free(compressed);
            if (kind == 1 || kind == 2)
            {
                assertThat(length).isLessThan(PAGE / 2);
            }
            else if (kind == 3)
            {
                assertThat(length).isLessThan(PAGE);
            }
        }
        finally
        {
            NativePages.free(source);
        }
    }

    @Property(tries = 2000)
    void arbitraryBytesAreRefusedOrDecodeToExactlyAPage(@ForAll @Size(max = 5000) final byte[] payload)
    {
        final long in = NativePages.copyOf(payload);
        try
        {
            codec.decompress(in, payload.length, 11);
        }
        catch (final MigrationException ex)
        {
            assertThat(ex.getMessage()).contains("pageIndex=11");
        }
        finally
        {
            NativePages.free(in);
        }
    }

    @Property(tries = 100)
    void aBombThatExpandsPastThePageIsRefused(@ForAll @IntRange(min = 13, max = 20) final int log2Size)
    {
        // A large all-zero "page" compresses to a few bytes and would expand far past a 4 KiB page.
        final int bigPage = 1 << log2Size;
        final Lz4PageCodec bigCodec = new Lz4PageCodec(bigPage);
        final long source = NativePages.copyOf(new byte[bigPage]);
        try
        {
            final int length = bigCodec.compress(source, bigCodec.maxCompressedLength());
            assertThat(length).isLessThan(bigPage / 100);
            final long compressed = NativePages.copyOf(new byte[length]);
            UnsafeApi.copyMemory(bigCodec.outputAddress(), compressed, length);
            try
            {
                codec.decompress(compressed, length, 5);
                throw new AssertionError("a " + bigPage + "-byte bomb was accepted as a page");
            }
            catch (final MigrationException ex)
            {
                assertThat(ex.getMessage()).contains("pageIndex=5");
            }
            finally
            {
                NativePages.free(compressed);
            }
        }
        finally
        {
            NativePages.free(source);
        }
    }
}
