package io.pagestream.pages;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.PageMapFlyweight;
import io.pagestream.protocol.PageMapWriter;
import io.pagestream.testing.Allocations;
import io.pagestream.testing.FuzzCorpus;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing of the page-map chunks a target assembles (the bulk pass's populated map, post-copy's
 * pending map), with Jazzer. An input is a sequence of chunks, each a little-endian 16-bit length and that many bytes
 * of frame; each chunk sits in a buffer of exactly its length, so a read past the frame fails the bounds check.
 * <p>
 * Invariants: each chunk is applied or refused with one of the codes a malformed map can earn, never another
 * exception; the assembled map never has a bit set past the guest's last page; a chunk never lands before one
 * already applied; and nothing proportional to a claimed word count is allocated.
 */
class PageMapFuzzTest
{
    /** Not a multiple of 64, so the last word has bits past the guest. */
    static final long GUEST_PAGES = 1000;
    private static final Set<ErrorCode> MALFORMED_MAP = EnumSet.of(ErrorCode.MALFORMED_FRAME, ErrorCode.BAD_LENGTH,
        ErrorCode.LAYOUT_MISMATCH, ErrorCode.PAGE_INDEX_OUT_OF_RANGE, ErrorCode.PROTOCOL_VIOLATION);

    static
    {
        // One map assembled and one refused first, so the allocation check sees chunks, not class loading.
        final PageBitmap full = new PageBitmap(GUEST_PAGES);
        full.setAll();
        final byte[] input = chunks(full, 2048);
        final PageMapAssembler assembler = new PageMapAssembler();
        assembler.start(new PageBitmap(GUEST_PAGES));
        assembler.onChunk(new UnsafeBuffer(input, 2, input.length - 2), 0, input.length - 2);
        try
        {
            assembler.start(new PageBitmap(GUEST_PAGES));
            assembler.onChunk(new UnsafeBuffer(new byte[8]), 0, 8);
        }
        catch (final MigrationException expected)
        {
            Allocations.ofThisThread();
        }
    }

    /** The seed files are maps as the target's writer chunks them: sparse, full, and one past the chunk size. */
    @Test
    void seedCorpusIsWhatTheWriterSends()
    {
        final Map<String, byte[]> seeds = new TreeMap<>();
        final PageBitmap sparse = new PageBitmap(GUEST_PAGES);
        sparse.set(0);
        sparse.set(500);
        sparse.set(GUEST_PAGES - 1);
        final PageBitmap full = new PageBitmap(GUEST_PAGES);
        full.setAll();
        seeds.put("sparse-one-chunk", chunks(sparse, 2048));
        seeds.put("full-one-chunk", chunks(full, 2048));
        seeds.put("full-small-chunks", chunks(full, PageMapFlyweight.frameLength(5)));
        final byte[] input = seeds.get("full-small-chunks");
        chunksAreAppliedOrRefusedAndNeverSetBitsPastTheGuest(input);
        FuzzCorpus.check(PageMapFuzzTest.class, "chunksAreAppliedOrRefusedAndNeverSetBitsPastTheGuest", seeds);
    }

    private static byte[] chunks(final PageBitmap map, final int maxFrameLength)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(8192));
        final PageMapWriter writer = new PageMapWriter();
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        writer.start(map.words());
        boolean last = false;
        while (!last)
        {
            final int length = writer.prepare(buffer, FrameType.PENDING_MAP, 1, maxFrameLength);
            final byte[] chunk = new byte[length];
            buffer.getBytes(0, chunk);
            out.write(length & 0xFF);
            out.write(length >>> 8);
            out.writeBytes(chunk);
            last = writer.onSent();
        }
        return out.toByteArray();
    }

    @FuzzTest(maxDuration = "15s")
    void chunksAreAppliedOrRefusedAndNeverSetBitsPastTheGuest(final byte[] input)
    {
        final PageBitmap bitmap = new PageBitmap(GUEST_PAGES);
        final PageMapAssembler assembler = new PageMapAssembler();
        assembler.start(bitmap);
        int at = 0;
        while (at + 2 <= input.length && !assembler.isComplete())
        {
            final int length = Math.min((input[at] & 0xFF) | (input[at + 1] & 0xFF) << 8, input.length - at - 2);
            final byte[] chunk = new byte[length];
            System.arraycopy(input, at + 2, chunk, 0, length);
            at += 2 + length;
            final long allocated = Allocations.ofThisThread();
            try
            {
                assembler.onChunk(new UnsafeBuffer(chunk), 0, length);
            }
            catch (final MigrationException ex)
            {
                assertThat(ex.errorCode()).as(ex.getMessage()).isIn(MALFORMED_MAP);
                assertThat(ex.getMessage()).as("names the field").contains("=");
                break;
            }
            finally
            {
                assertThat(Allocations.ofThisThread() - allocated).as("bytes allocated by one chunk")
                    .isLessThan(1 << 20); // a refusal's exception and message: tens of KiB with a deep stack
            }
        }
        final long[] words = bitmap.words();
        final int lastWord = (int)((GUEST_PAGES - 1) >>> 6);
        assertThat(words[lastWord] >>> (GUEST_PAGES & 63)).as("bits past the last page").isZero();
        for (int w = lastWord + 1; w < words.length; w++)
        {
            assertThat(words[w]).as("word %d, past the guest", w).isZero();
        }
    }
}
