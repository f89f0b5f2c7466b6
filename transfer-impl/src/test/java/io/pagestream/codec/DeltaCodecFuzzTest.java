package io.pagestream.codec;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pagestream.testing.FuzzCorpus;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.TreeMap;

/**
 * Coverage-guided fuzzing of the delta (XBZRLE-style) decoder with Jazzer; the invariants are {@link CodecFuzzing}'s:
 * refused with BAD_LENGTH naming the page and nothing written, or applied inside the page exactly as an independent
 * reference decoder does, allocating nothing.
 */
class DeltaCodecFuzzTest
{
    @FuzzTest(maxDuration = "20s")
    void deltaPayloadsAreRefusedOrPatchOnlyTheirPage(final byte[] payload)
    {
        CodecFuzzing.delta(payload);
    }

    /** The seed files are what the encoder writes today. */
    @Test
    void seedCorpusIsWhatTheEncoderWrites()
    {
        final Map<String, byte[]> deltas = new TreeMap<>();
        CodecFuzzing.seeds(deltas, new TreeMap<>());
        deltas.values().forEach(CodecFuzzing::delta);
        FuzzCorpus.check(DeltaCodecFuzzTest.class, "deltaPayloadsAreRefusedOrPatchOnlyTheirPage", deltas);
    }
}
