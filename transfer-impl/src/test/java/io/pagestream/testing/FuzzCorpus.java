package io.pagestream.testing;

import org.agrona.DirectBuffer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The seed corpora of the fuzzers: inputs built by the real encoders, kept in the repository where Jazzer replays them
 * ({@code src/test/resources/<package>/<Class>Inputs/<method>/}, beside any finding). A test per fuzzer checks the
 * files are still what today's encoders write; {@code -Dpagestream.fuzz.writeSeeds=true} rewrites them.
 */
public final class FuzzCorpus
{
    /** Set to true to (re)write the seed files instead of checking them. */
    public static final String WRITE_SEEDS_PROP_NAME = "pagestream.fuzz.writeSeeds";

    private FuzzCorpus()
    {
    }

    /**
     * Records as the frame fuzzers read them ({@link #play}): one byte of instructions, a little-endian 16-bit length,
     * the frame.
     */
    public static final class Records
    {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        /**
         * @param instructions the record's instruction byte.
         * @param buffer       holding the frame at {@code offset}.
         * @param offset       of the frame.
         * @param length       of the frame.
         * @return this.
         */
        public Records add(final int instructions, final DirectBuffer buffer, final int offset, final int length)
        {
            final byte[] frame = new byte[length];
            buffer.getBytes(offset, frame);
            out.write(instructions);
            out.write(length & 0xFF);
            out.write(length >>> 8);
            out.writeBytes(frame);
            return this;
        }

        /**
         * Bytes that are not a record (a fuzzer's leading choices).
         *
         * @param buffer holding them.
         * @param offset where they start.
         * @param length how many.
         * @return this.
         */
        public Records raw(final DirectBuffer buffer, final int offset, final int length)
        {
            final byte[] bytes = new byte[length];
            buffer.getBytes(offset, bytes);
            out.writeBytes(bytes);
            return this;
        }

        /** @return the input. */
        public byte[] toBytes()
        {
            return out.toByteArray();
        }
    }

    /** Instruction bit: after the frame, move the clock on by (instructions >>> 2) x 50 ms and run two cycles. */
    public static final int ADVANCE = 1;
    /** Instruction bit: after the frame, run duty cycles until the state changes, at most 1,000. */
    public static final int RUN = 2;

    /**
     * What a frame fuzzer drives: one side's conductor, its clock and its state.
     */
    public interface Side
    {
        /** @return true once the migration ended. */
        boolean isDone();

        /** Deliver a frame, after a duty cycle (frames are read at the start of one, with its time). */
        void deliver(org.agrona.concurrent.UnsafeBuffer frame, int length);

        /** Run one duty cycle. */
        void cycle();

        /** Move the clock on. */
        void advanceMs(long ms);

        /** @return the conductor's state. */
        Object state();
    }

    /** Hands a frame to a side's adapter. */
    @FunctionalInterface
    public interface Deliver
    {
        /**
         * @param frame  the frame at offset 0.
         * @param length its length.
         */
        void deliver(org.agrona.concurrent.UnsafeBuffer frame, int length);
    }

    /**
     * @param cycle      runs one duty cycle of the side's conductor.
     * @param completion the side's completion.
     * @param deliver    hands a frame to its adapter (a duty cycle runs first, as frames are read at one's start).
     * @param advanceMs  moves its clock on.
     * @param state      reads its conductor's state.
     * @return the side.
     */
    public static Side side(
        final Runnable cycle,
        final java.util.concurrent.Future<?> completion,
        final Deliver deliver,
        final java.util.function.LongConsumer advanceMs,
        final java.util.function.Supplier<Object> state)
    {
        return new Side()
        {
            public boolean isDone()
            {
                return completion.isDone();
            }

            public void deliver(final org.agrona.concurrent.UnsafeBuffer frame, final int length)
            {
                cycle.run();
                deliver.deliver(frame, length);
            }

            public void cycle()
            {
                cycle.run();
            }

            public void advanceMs(final long ms)
            {
                advanceMs.accept(ms);
            }

            public Object state()
            {
                return state.get();
            }
        };
    }

    /**
     * The frame fuzzers' invariant on a failed migration: a specific code, never INTERNAL or GENERIC unless passing
     * on the peer's own (the reason then says "{@code peer} reported: "), and a reason.
     *
     * @param report the side's report, or null if the migration still runs.
     * @param peer   "source" or "target".
     */
    public static void assertFailureIsSpecific(final io.pagestream.api.MigrationReport report, final String peer)
    {
        if (null != report && report.result() == io.pagestream.api.MigrationResult.FAILED)
        {
            if (!report.reason().contains(peer + " reported: ")) // the peer's own code, passed on
            {
                assertThat(report.errorCode()).as(report.reason()).isNotIn(
                    io.pagestream.api.ErrorCode.INTERNAL, io.pagestream.api.ErrorCode.GENERIC);
            }
            assertThat(report.reason()).isNotBlank();
        }
    }

    /**
     * Play records into a side until they run out or the migration ends. Each frame is copied to the start of
     * {@code frame} with zeros after it; a record of length 0 delivers nothing; no frame may allocate 1 MiB or more
     * (unless it loaded a class, which is not the frame's doing).
     *
     * @param input the fuzzer's input.
     * @param from  where the records start.
     * @param frame a buffer of 64 KiB.
     * @param side  the side.
     */
    public static void play(final byte[] input, final int from, final org.agrona.concurrent.UnsafeBuffer frame,
        final Side side)
    {
        play(input, from, frame, side, 1 << 20);
    }

    /**
     * Play records as {@link #play(byte[], int, org.agrona.concurrent.UnsafeBuffer, Side)} does, with a limit of
     * its own on what one frame may allocate (a warm-up, whose frames load and instrument classes, has none).
     *
     * @param input           the fuzzer's input.
     * @param from            where the records start.
     * @param frame           a buffer of 64 KiB.
     * @param side            the side.
     * @param allocationLimit bytes one frame must allocate fewer of.
     */
    public static void play(final byte[] input, final int from, final org.agrona.concurrent.UnsafeBuffer frame,
        final Side side, final long allocationLimit)
    {
        int at = from;
        while (at + 3 <= input.length && !side.isDone())
        {
            final int instructions = input[at] & 0xFF;
            final int length = Math.min((input[at + 1] & 0xFF) | (input[at + 2] & 0xFF) << 8, input.length - at - 3);
            frame.setMemory(0, Math.min(length + 4096, frame.capacity()), (byte)0);
            frame.putBytes(0, input, at + 3, length);
            at += 3 + length;

            if (length > 0) // an empty record only carries instructions
            {
                final long allocated = Allocations.ofThisThread();
                final long classes = Allocations.classesLoaded();
                side.deliver(frame, length);
                if (Allocations.classesLoaded() == classes) // loading (and instrumenting) a class is not the frame's
                {
                    assertThat(Allocations.ofThisThread() - allocated).as("bytes allocated by one frame")
                        .isLessThan(allocationLimit);
                }
            }
            if ((instructions & ADVANCE) != 0)
            {
                side.advanceMs((instructions >>> 2) * 50L);
                side.cycle();
                side.cycle();
            }
            if ((instructions & RUN) != 0)
            {
                final Object state = side.state();
                for (int i = 0; i < 1_000 && state == side.state() && !side.isDone(); i++)
                {
                    side.cycle();
                }
            }
        }
        side.cycle();
    }

    /**
     * @param fuzzTest its class.
     * @param method   its method name.
     * @param name     a file of its corpus.
     * @return the file's contents.
     */
    public static byte[] read(final Class<?> fuzzTest, final String method, final String name)
    {
        try
        {
            return Files.readAllBytes(directory(fuzzTest, method).resolve(name));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    private static Path directory(final Class<?> fuzzTest, final String method)
    {
        return Path.of("src", "test", "resources").resolve(fuzzTest.getPackageName().replace('.', '/'))
            .resolve(fuzzTest.getSimpleName() + "Inputs").resolve(method);
    }

    /**
     * Check (or write) the seed files of one fuzz test.
     *
     * @param fuzzTest its class.
     * @param method   its method name.
     * @param seeds    file name to contents.
     */
    public static void check(final Class<?> fuzzTest, final String method, final Map<String, byte[]> seeds)
    {
        final Path directory = directory(fuzzTest, method);
        try
        {
            if (Boolean.getBoolean(WRITE_SEEDS_PROP_NAME))
            {
                Files.createDirectories(directory);
                for (final Map.Entry<String, byte[]> seed : seeds.entrySet())
                {
                    Files.write(directory.resolve(seed.getKey()), seed.getValue());
                }
            }
            for (final Map.Entry<String, byte[]> seed : seeds.entrySet())
            {
                final Path file = directory.resolve(seed.getKey());
                assertThat(file).as("seed file (rewrite with -D%s=true)", WRITE_SEEDS_PROP_NAME).exists();
                assertThat(Arrays.equals(Files.readAllBytes(file), seed.getValue()))
                    .as("%s is what the encoders write today (rewrite with -D%s=true)", file, WRITE_SEEDS_PROP_NAME)
                    .isTrue();
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
