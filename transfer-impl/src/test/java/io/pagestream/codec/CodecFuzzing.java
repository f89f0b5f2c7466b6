package io.pagestream.codec;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.testing.Allocations;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import org.agrona.UnsafeApi;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the fuzzers of the two page decoders a target runs on bytes from the network share ({@link DeltaCodecFuzzTest},
 * {@link Lz4PageCodecFuzzTest}; Jazzer fuzzes one fuzz test per JVM, hence a class each). Each input is one payload,
 * as it would follow a PAGE frame's header.
 * <p>
 * Invariants: a payload is refused with {@link ErrorCode#BAD_LENGTH} and a message naming the page, or decoded to
 * exactly one page; no other exception escapes; nothing is written outside the page (guard bytes on both sides); the
 * delta decoder agrees with an independent reference decoder, the LZ4 decoder with lz4-java's pure-Java one; and
 * nothing proportional to the payload is allocated (an accepted payload allocates nothing here: under 1 KiB allows for
 * the first calls' class loading).
 * <p>
 * Without {@code JAZZER_FUZZ} the fuzz tests replay their corpora under {@code src/test/resources/io/pagestream/codec}
 * (seeds made by the real encoders, and every finding) as regression tests; see the README for a fuzzing run.
 */
final class CodecFuzzing
{
    private static final int PAGE = NativePages.PAGE;
    private static final long PAGE_INDEX = 77;
    private static final long BASE = UnsafeApi.arrayBaseOffset(byte[].class);
    private static final LZ4SafeDecompressor JAVA_LZ4 = LZ4Factory.safeInstance().safeDecompressor();
    private static final Lz4PageCodec LZ4 = new Lz4PageCodec(PAGE);
    /** Larger than any payload a PAGE frame can carry (the largest MTU). */
    private static final int MAX_PAYLOAD = 64 * 1024;
    private static final long PAYLOAD = UnsafeApi.allocateMemory(MAX_PAYLOAD);

    static
    {
        // Both decoders once on a valid payload, so the allocation checks see decoding, not class loading.
        final byte[] delta = { 0, 1, 42 }; // ULEB runs: none unchanged, one changed byte: 42
        UnsafeApi.copyMemory(delta, BASE, null, PAYLOAD, delta.length);
        try (NativePages pages = new NativePages())
        {
            DeltaCodec.validate(PAYLOAD, delta.length, PAGE, PAGE_INDEX);
            DeltaCodec.apply(PAYLOAD, delta.length, pages.page);
            final int length = LZ4.compress(pages.page, LZ4.maxCompressedLength());
            UnsafeApi.copyMemory(LZ4.outputAddress(), PAYLOAD, length);
            LZ4.decompress(PAYLOAD, length, PAGE_INDEX);
        }
        Allocations.ofThisThread();
    }

    private CodecFuzzing()
    {
    }

    /**
     * Seeds made by the encoders: deltas between pages of a few kinds, and those pages in LZ4.
     *
     * @param deltas filled with named delta payloads.
     * @param lz4    filled with named LZ4 payloads.
     */
    static void seeds(final Map<String, byte[]> deltas, final Map<String, byte[]> lz4)
    {
        try (NativePages before = new NativePages(); NativePages after = new NativePages())
        {
            final long out = UnsafeApi.allocateMemory(PAGE);
            try
            {
                for (int kind = 0; kind < 4; kind++)
                {
                    final byte[] old = new byte[PAGE];
                    final byte[] now = new byte[PAGE];
                    for (int i = 0; i < PAGE; i++)
                    {
                        old[i] = (byte)(kind == 0 ? 0 : i * 31 + kind);
                        now[i] = (byte)(i % (64 >> kind) < kind + 1 ? i ^ 0x5A : old[i]);
                    }
                    before.write(old);
                    after.write(now);
                    final int length = DeltaCodec.encode(before.page, after.page, PAGE, out, PAGE);
                    assertThat(length).as("kind %d encodes", kind).isPositive();
                    final byte[] delta = new byte[length];
                    UnsafeApi.copyMemory(null, out, delta, BASE, length);
                    deltas.put("delta-" + kind, delta);
                    final int compressed = LZ4.compress(after.page, LZ4.maxCompressedLength());
                    final byte[] page = new byte[compressed];
                    UnsafeApi.copyMemory(null, LZ4.outputAddress(), page, BASE, compressed);
                    lz4.put("lz4-" + kind, page);
                }
            }
            finally
            {
                UnsafeApi.freeMemory(out);
            }
        }
    }

    /** @param payload a delta payload to validate and, if accepted, apply to a page between guards. */
    static void delta(final byte[] payload)
    {
        if (payload.length > MAX_PAYLOAD)
        {
            return;
        }
        UnsafeApi.copyMemory(payload, BASE, null, PAYLOAD, payload.length);
        try (NativePages pages = new NativePages())
        {
            final byte[] before = new byte[PAGE];
            for (int i = 0; i < PAGE; i++)
            {
                before[i] = (byte)(i * 7);
            }
            pages.write(before);
            final long allocated = Allocations.ofThisThread();
            try
            {
                DeltaCodec.validate(PAYLOAD, payload.length, PAGE, PAGE_INDEX);
            }
            catch (final MigrationException ex)
            {
                assertThat(ex.errorCode()).isEqualTo(ErrorCode.BAD_LENGTH);
                assertThat(ex.getMessage()).contains("pageIndex=" + PAGE_INDEX);
                assertThat(pages.read()).as("a refused delta writes nothing").isEqualTo(before);
                return;
            }
            DeltaCodec.apply(PAYLOAD, payload.length, pages.page);
            assertThat(Allocations.ofThisThread() - allocated).as("bytes allocated decoding").isLessThan(1024);
            assertThat(pages.guardsIntact()).as("nothing written outside the page").isTrue();
            assertThat(pages.read()).as("the same as the reference decoder")
                .isEqualTo(ReferenceXbzrle.decode(payload, before));
        }
    }

    /** @param payload an LZ4 payload to decode to a page. */
    static void lz4(final byte[] payload)
    {
        if (payload.length > MAX_PAYLOAD)
        {
            return;
        }
        UnsafeApi.copyMemory(payload, BASE, null, PAYLOAD, payload.length);
        final byte[] reference = new byte[PAGE];
        int referenceLength;
        try
        {
            referenceLength = payload.length == 0 ? -1 : JAVA_LZ4.decompress(payload, 0, payload.length, reference, 0,
                PAGE);
        }
        catch (final LZ4Exception ex)
        {
            referenceLength = -1;
        }
        final long allocated = Allocations.ofThisThread();
        final long page;
        try
        {
            page = LZ4.decompress(PAYLOAD, payload.length, PAGE_INDEX);
        }
        catch (final MigrationException ex)
        {
            assertThat(ex.errorCode()).isEqualTo(ErrorCode.BAD_LENGTH);
            assertThat(ex.getMessage()).contains("pageIndex=" + PAGE_INDEX);
            if (payload.length <= LZ4.maxCompressedLength()) // longer is refused before decoding
            {
                assertThat(referenceLength).as("refused: the pure-Java decoder agrees it is not a page")
                    .isNotEqualTo(PAGE);
            }
            return;
        }
        assertThat(Allocations.ofThisThread() - allocated).as("bytes allocated decoding").isLessThan(1024);
        assertThat(referenceLength).as("the pure-Java decoder also makes a page of it").isEqualTo(PAGE);
        final byte[] decoded = new byte[PAGE];
        UnsafeApi.copyMemory(null, page, decoded, BASE, PAGE);
        assertThat(decoded).as("the same page as the pure-Java decoder").isEqualTo(reference);
    }
}
