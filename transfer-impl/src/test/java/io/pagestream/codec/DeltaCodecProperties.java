package io.pagestream.codec;

import io.pagestream.api.MigrationException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.agrona.BufferUtil;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The delta codec against the plain reference port, on the page pairs that matter, and its decoder against hostile
 * input between guard pages.
 */
class DeltaCodecProperties
{
    private static final int PAGE = NativePages.PAGE;

    /** Old/new page pairs: equal, one byte, first and last byte, scattered changes at several densities, random. */
    @Provide
    Arbitrary<byte[][]> pagePairs()
    {
        final Arbitrary<Long> seeds = Arbitraries.longs();
        final Arbitrary<Integer> kinds = Arbitraries.integers().between(0, 7);
        final Arbitrary<Integer> counts = Arbitraries.integers().between(1, 4096);
        return Combinators.combine(seeds, kinds, counts).as((seed, kind, count) ->
        {
            final Random random = new Random(seed);
            final byte[] oldPage = new byte[PAGE];
            random.nextBytes(oldPage);
            if (kind == 7)
            {
                java.util.Arrays.fill(oldPage, (byte)0);
            }
            final byte[] newPage = oldPage.clone();
            switch (kind)
            {
                case 0: break; // equal
                case 1: newPage[random.nextInt(PAGE)] ^= 1 + random.nextInt(255); break;
                case 2: newPage[0] ^= 0x40; break;
                case 3: newPage[PAGE - 1] ^= 0x01; break;
                case 4: random.nextBytes(newPage); break;
                default:
                    for (int i = 0; i < count; i++)
                    {
                        newPage[random.nextInt(PAGE)] = (byte)random.nextInt();
                    }
            }
            return new byte[][]{ oldPage, newPage };
        });
    }

    @Property(tries = 500)
    void encodingEqualsTheReferenceAndDecodesToTheNewPage(@ForAll("pagePairs") final byte[][] pair)
    {
        final byte[] expected = ReferenceXbzrle.encode(pair[0], pair[1]);
        final long oldAddress = NativePages.copyOf(pair[0]);
        final long newAddress = NativePages.copyOf(pair[1]);
        final ByteBuffer out = BufferUtil.allocateDirectAligned(2 * PAGE + 64, 64);
        try (NativePages target = new NativePages())
        {
            final int length = DeltaCodec.encode(oldAddress, newAddress, PAGE, BufferUtil.address(out), 2 * PAGE);
            assertThat(length).isEqualTo(expected.length);
            final byte[] actual = new byte[length];
            out.get(0, actual);
            assertThat(actual).isEqualTo(expected);

            target.write(pair[0]);
            DeltaCodec.validate(BufferUtil.address(out), length, PAGE, 1);
            DeltaCodec.apply(BufferUtil.address(out), length, target.page);
            assertThat(target.read()).isEqualTo(pair[1]);
            assertThat(target.guardsIntact()).isTrue();
            assertThat(ReferenceXbzrle.decode(expected, pair[0])).isEqualTo(pair[1]);
        }
        finally
        {
            NativePages.free(oldAddress);
            NativePages.free(newAddress);
        }
    }

    @Property(tries = 200)
    void encodeRespectsItsOutputLimit(@ForAll("pagePairs") final byte[][] pair)
    {
        final int full = ReferenceXbzrle.encode(pair[0], pair[1]).length;
        final int limit = full / 2;
        final long oldAddress = NativePages.copyOf(pair[0]);
        final long newAddress = NativePages.copyOf(pair[1]);
        try (NativePages out = new NativePages())
        {
            final int length = DeltaCodec.encode(oldAddress, newAddress, PAGE, out.page, limit);
            assertThat(length).isEqualTo(full <= limit ? full : -1);
            assertThat(out.guardsIntact()).isTrue();
        }
        finally
        {
            NativePages.free(oldAddress);
            NativePages.free(newAddress);
        }
    }

    @Property(tries = 2000)
    void arbitraryBytesAreRefusedOrApplyInsideThePage(@ForAll @Size(max = 6000) final byte[] payload)
    {
        final long in = NativePages.copyOf(payload);
        try (NativePages target = new NativePages())
        {
            final byte[] before = target.read();
            try
            {
                DeltaCodec.validate(in, payload.length, PAGE, 9);
            }
            catch (final MigrationException ex)
            {
                assertThat(ex.getMessage()).contains("pageIndex=9");
                assertThat(target.read()).isEqualTo(before);
                assertThat(target.guardsIntact()).isTrue();
                return;
            }
            DeltaCodec.apply(in, payload.length, target.page);
            assertThat(target.guardsIntact()).isTrue();
        }
        finally
        {
            NativePages.free(in);
        }
    }

    @Property(tries = 500)
    void structuredButHostileDeltasNeverWritePastThePage(
        @ForAll @Size(max = 20) final java.util.List<@net.jqwik.api.constraints.IntRange(min = 0, max = 70000) Integer> runs)
    {
        // Well-formed LEB128 runs with arbitrary lengths: the parser must catch every run that leaves the page.
        final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (int i = 0; i + 1 < runs.size(); i += 2)
        {
            uleb(bytes, runs.get(i));
            uleb(bytes, runs.get(i + 1));
            bytes.write(new byte[Math.min(runs.get(i + 1), 5000)], 0, Math.min(runs.get(i + 1), 5000));
        }
        arbitraryBytesAreRefusedOrApplyInsideThePage(bytes.toByteArray());
    }

    private static void uleb(final java.io.ByteArrayOutputStream out, final int value)
    {
        int v = value;
        while (v >= 0x80)
        {
            out.write((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out.write(v);
    }
}
