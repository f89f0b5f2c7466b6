package io.pagestream.receiving;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.PageEncoding;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.Checksums;
import io.pagestream.codec.DeltaCodec;
import io.pagestream.codec.Lz4PageCodec;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.SwitchoverFlyweight;
import io.pagestream.testing.FuzzCorpus;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.TreeMap;

import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing of everything a target accepts from a source after a real handshake, with Jazzer: the real
 * {@link TargetConductor} (its lanes, image, switchover, device state and post-copy parts) over in-memory links and
 * a clock the input moves.
 * <p>
 * An input is a sequence of records ({@link FuzzCorpus#play}): one byte of instructions, a little-endian 16-bit length
 * and that many bytes of frame, delivered on data lane 0 by the session the handshake pinned; the instructions can
 * then move the clock on and run duty cycles, so watchdogs and deadlines are reached too.
 * <p>
 * Invariants: no exception escapes the conductor; a failed migration names a specific code (never
 * {@link ErrorCode#INTERNAL} or {@link ErrorCode#GENERIC} unless it passes on the code the peer reported, which
 * the reason then says, with the wire value if this build does not know it) and a reason; nothing is written outside
 * guest memory (guard pages on both sides, checked byte by byte); no frame allocates anything proportional to a
 * length it claims.
 * <p>
 * Without {@code JAZZER_FUZZ} this replays its corpus (real frames from {@link FuzzSeeds}, and every finding) as a
 * regression test; see the README for a fuzzing run.
 */
class TargetFrameFuzzTest
{
    static final int PAGES = 64;
    static final int SESSION = 31;
    private static final int PAGE = TargetFixture.PAGE;
    private static final byte GUARD = (byte)0x5A;
    private static final long RAW = UnsafeApi.allocateMemory((PAGES + 3L) * PAGE);
    private static final long GUARD_BEFORE = (RAW + PAGE - 1) & -(long)PAGE;
    private static final long GUEST = GUARD_BEFORE + PAGE;
    private static final GuestMemory MEMORY =
        GuestMemory.wrap(PAGE, new long[]{ GUEST }, new long[]{ (long)PAGES * PAGE });

    static
    {
        // Every seed once, without the allocation check: their first frames load (and, fuzzing, instrument) the
        // classes they reach, megabytes that are not the frame's doing.
        seeds().values().forEach(seed -> run(seed, Long.MAX_VALUE));
    }

    @FuzzTest(maxDuration = "30s")
    void framesAfterAHandshakeAreAppliedOrFailTheMigrationCleanly(final byte[] input)
    {
        run(input);
    }

    /** The seeds are real migrations: these end as they should, and the files are what the encoders write today. */
    @Test
    void seedCorpusIsRealFramesAsTheEncodersWriteThem()
    {
        final Map<String, byte[]> seeds = seeds();
        assertThat(ended(seeds, "stop-and-copy").result()).isEqualTo(MigrationResult.COMPLETED);
        assertThat(ended(seeds, "device-state").result()).isEqualTo(MigrationResult.COMPLETED);
        assertThat(ended(seeds, "encodings").result()).isEqualTo(MigrationResult.COMPLETED);
        final MigrationReport postcopy = ended(seeds, "postcopy");
        assertThat(postcopy.result()).as(String.valueOf(postcopy)).isEqualTo(MigrationResult.COMPLETED);
        assertThat(postcopy.mode()).isEqualTo(MigrationMode.POSTCOPY);
        assertThat(ended(seeds, "source-silent").errorCode()).isEqualTo(ErrorCode.PEER_LOST);
        FuzzCorpus.check(TargetFrameFuzzTest.class, "framesAfterAHandshakeAreAppliedOrFailTheMigrationCleanly", seeds);
    }

    private static MigrationReport ended(final Map<String, byte[]> seeds, final String name)
    {
        final MigrationReport report = run(seeds.get(name));
        assertThat(report).as("seed %s ends the migration", name).isNotNull();
        System.out.println("seed " + name + ": " + report);
        return report;
    }

    /**
     * @return real frame sequences, named: a stop-and-copy migration, one with device state, pages in every
     * encoding, a post-copy migration, a source that falls silent.
     */
    static Map<String, byte[]> seeds()
    {
        final TargetFixture f = new TargetFixture(PAGES, c -> c.secretKey(null).allowUnauthenticated(true));
        final Map<String, byte[]> seeds = new TreeMap<>();
        seeds.put("stop-and-copy", bulk(f).add(0, f.frame, 0, switchover(f, 0, new byte[0], false, 0))
            .add(0, f.frame, 0, f.commit()).toBytes());

        final byte[] state = new byte[300];
        for (int i = 0; i < state.length; i++)
        {
            state[i] = (byte)(i * 13);
        }
        seeds.put("device-state", bulk(f)
            .add(0, f.frame, 0, f.deviceState(state, 0, 200)).add(0, f.frame, 0, f.deviceState(state, 200, 100))
            .add(0, f.frame, 0, switchover(f, 0, state, false, 0)).add(0, f.frame, 0, f.commit()).toBytes());

        final FuzzCorpus.Records encodings = new FuzzCorpus.Records()
            .add(0, f.frame, 0, f.zeroRun(0, PAGES, 0))
            .add(0, f.frame, 0, f.page(5, 0, 11))
            .add(0, f.frame, 0, f.roundEnd(0, 1, PAGES + 1));
        encodings.add(0, f.frame, 0, lz4Page(f, 6, 1)).add(0, f.frame, 0, deltaPage(f, 5, 1))
            .add(0, f.frame, 0, f.roundEnd(1, 2, 2))
            .add(0, f.frame, 0, switchover(f, 1, new byte[0], false, 3)).add(0, f.frame, 0, f.commit());
        seeds.put("encodings", encodings.toBytes());

        final FuzzCorpus.Records postcopy = bulk(f);
        final PageBitmap pending = new PageBitmap(PAGES);
        pending.set(7);
        TargetFixture.pageMap(pending.words(), FrameType.PENDING_MAP, (buffer, length) ->
            postcopy.add(0, buffer, 0, length));
        f.switchover(0, new byte[0], true, 0, 1);
        postcopy.add(1, f.frame, 0, SwitchoverFlyweight.LENGTH).add(0, f.frame, 0, f.page(7, 1, 3));
        seeds.put("postcopy", postcopy.toBytes());

        seeds.put("source-silent", bulk(f).add(0xFD, f.frame, 0, 0).add(0xFD, f.frame, 0, 0)
            .add(0xFD, f.frame, 0, 0).add(0xFD, f.frame, 0, 0).toBytes());
        return seeds;
    }

    private static FuzzCorpus.Records bulk(final TargetFixture f)
    {
        return new FuzzCorpus.Records().add(0, f.frame, 0, f.zeroRun(0, PAGES, 0))
            .add(0, f.frame, 0, f.roundEnd(0, 0, PAGES));
    }

    private static int switchover(final TargetFixture f, final int finalRound, final byte[] state,
        final boolean postcopy, final long pageFrames)
    {
        f.switchover(finalRound, state, postcopy, pageFrames, 0);
        return SwitchoverFlyweight.LENGTH;
    }

    /** An LZ4 PAGE of {@code pageIndex}: its contents as {@link TargetFixture#page} would write them. */
    private static int lz4Page(final TargetFixture f, final long pageIndex, final int round)
    {
        final UnsafeBuffer contents = contents(f, pageIndex, 11);
        final Lz4PageCodec codec = new Lz4PageCodec(PAGE);
        final int compressed = codec.compress(contents.addressOffset(), PAGE);
        final PageFlyweight page = new PageFlyweight();
        page.wrap(f.frame, 0);
        page.writeHeader(FrameType.PAGE, PageFlyweight.PAYLOAD_OFFSET + compressed, TargetFixture.MIGRATION_ID);
        f.frame.putBytes(PageFlyweight.PAYLOAD_OFFSET, new UnsafeBuffer(codec.outputAddress(), compressed), 0,
            compressed);
        page.pageIndex(pageIndex).round(round).encoding(PageEncoding.LZ4.code()).chunkOffset(0).decodedLength(PAGE)
            .checksum(Checksums.crc32c(contents, 0, PAGE)).payloadLength(compressed);
        return PageFlyweight.PAYLOAD_OFFSET + compressed;
    }

    /** A DELTA PAGE of {@code pageIndex} against the contents {@link TargetFixture#page} gave it with seed 11. */
    private static int deltaPage(final TargetFixture f, final long pageIndex, final int round)
    {
        final UnsafeBuffer before = contents(f, pageIndex, 11);
        final UnsafeBuffer after = contents(f, pageIndex, 11);
        after.putLong(64, 0x1234_5678L);
        after.putLong(2048, -1L);
        final UnsafeBuffer encoded = new UnsafeBuffer(ByteBuffer.allocateDirect(PAGE));
        final int length = DeltaCodec.encode(before.addressOffset(), after.addressOffset(), PAGE,
            encoded.addressOffset(), PAGE);
        final PageFlyweight page = new PageFlyweight();
        page.wrap(f.frame, 0);
        page.writeHeader(FrameType.PAGE, PageFlyweight.PAYLOAD_OFFSET + length, TargetFixture.MIGRATION_ID);
        f.frame.putBytes(PageFlyweight.PAYLOAD_OFFSET, encoded, 0, length);
        page.pageIndex(pageIndex).round(round).encoding(PageEncoding.DELTA.code()).chunkOffset(0).decodedLength(PAGE)
            .checksum(Checksums.crc32c(after, 0, PAGE)).payloadLength(length);
        return PageFlyweight.PAYLOAD_OFFSET + length;
    }

    private static UnsafeBuffer contents(final TargetFixture f, final long pageIndex, final long seed)
    {
        f.page(pageIndex, 0, seed);
        final UnsafeBuffer contents = new UnsafeBuffer(ByteBuffer.allocateDirect(PAGE));
        contents.putBytes(0, f.frame, PageFlyweight.PAYLOAD_OFFSET, PAGE);
        return contents;
    }

    /**
     * Run one input through a fresh target after a handshake, checking the invariants.
     *
     * @return the target's report, or null if the input left the migration running.
     */
    static MigrationReport run(final byte[] input)
    {
        return run(input, 1 << 20);
    }

    private static MigrationReport run(final byte[] input, final long allocationLimit)
    {
        UnsafeApi.setMemory(GUARD_BEFORE, (PAGES + 2L) * PAGE, GUARD);
        UnsafeApi.setMemory(GUEST, (long)PAGES * PAGE, (byte)0);
        final CompletableFuture<MigrationReport> completion = new CompletableFuture<>();
        final TargetFixture f = new TargetFixture(MEMORY,
            c -> c.secretKey(null).allowUnauthenticated(true).maxDeviceStateBytes(1 << 20));
        final TargetConductor conductor = new TargetConductor(f.ctx, f.links, null, null, f.counters, completion);
        try
        {
            conductor.doWork();
            conductor.lane(0).accept(f.frame, 0, f.hello(Capabilities.POSTCOPY, 1), SESSION);
            conductor.doWork();
            conductor.doWork();
            assertThat(conductor.state()).as("handshake done").isEqualTo(TargetState.RECEIVING);

            FuzzCorpus.play(input, 0, f.frame, FuzzCorpus.side(conductor::doWork, completion,
                (frame, length) -> conductor.lane(0).accept(frame, 0, length, SESSION), f::advanceMs,
                conductor::state), allocationLimit);

            final MigrationReport report = completion.getNow(null);
            FuzzCorpus.assertFailureIsSpecific(report, "source");
            for (long a = 0; a < PAGE; a++)
            {
                assertThat(UnsafeApi.getByte(GUARD_BEFORE + a)).as("guard before the guest").isEqualTo(GUARD);
                assertThat(UnsafeApi.getByte(GUEST + (long)PAGES * PAGE + a)).as("guard after").isEqualTo(GUARD);
            }
            return report;
        }
        finally
        {
            conductor.onClose();
        }
    }
}
