package io.pagestream.codec;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pagestream.testing.FuzzCorpus;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.TreeMap;

/**
 * Coverage-guided fuzzing of the LZ4 page decoder with Jazzer; the invariants are {@link CodecFuzzing}'s: refused
 * with BAD_LENGTH naming the page, or decoded to exactly one page, the same as lz4-java's pure-Java decoder makes
 * of it, allocating nothing.
 */
class Lz4PageCodecFuzzTest
{
    @FuzzTest(maxDuration = "20s")
    void lz4PayloadsAreRefusedOrDecodeToExactlyAPage(final byte[] payload)
    {
        CodecFuzzing.lz4(payload);
    }

    /** The seed files are what the encoder writes today. */
    @Test
    void seedCorpusIsWhatTheEncoderWrites()
    {
        final Map<String, byte[]> lz4 = new TreeMap<>();
        CodecFuzzing.seeds(new TreeMap<>(), lz4);
        lz4.values().forEach(CodecFuzzing::lz4);
        FuzzCorpus.check(Lz4PageCodecFuzzTest.class, "lz4PayloadsAreRefusedOrDecodeToExactlyAPage", lz4);
    }
}
