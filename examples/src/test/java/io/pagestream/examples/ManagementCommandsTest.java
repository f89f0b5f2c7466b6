package io.pagestream.examples;

import io.pagestream.api.MigrationControl;
import io.pagestream.api.MigrationSettings;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo's command reader says what became of a command: requested while the migration runs, refused when bad,
 * and ignored once the migration has ended (the library then changes nothing). The control here only records the cap
 * it was given: the library's side of each call is tested in the engine's management system tests.
 */
class ManagementCommandsTest
{
    private static final class CapOnly implements MigrationControl
    {
        private long cap;

        public MigrationControl maxBandwidth(final long bytesPerSec)
        {
            cap = bytesPerSec;
            return this;
        }

        public MigrationControl postcopyBandwidth(final long bytesPerSec)
        {
            return this;
        }

        public MigrationControl downtimeTarget(final long ms)
        {
            return this;
        }

        public MigrationControl postcopyAllowed(final boolean allowed)
        {
            return this;
        }

        public MigrationControl startPostcopy()
        {
            return this;
        }

        public MigrationControl holdSwitchover(final boolean hold)
        {
            return this;
        }

        public MigrationSettings settings()
        {
            return new MigrationSettings(cap, 0, 300, true, false, false, 0);
        }
    }

    private static String answers(final String commands, final boolean ended) throws InterruptedException
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        final AtomicBoolean over = new AtomicBoolean(ended);
        ManagementCommands.readFrom(new ByteArrayInputStream(commands.getBytes(StandardCharsets.UTF_8)),
            new CapOnly(), over::get, out).join(10_000);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void shouldAnswerRequestedWhileRunningAndIgnoredOnceEnded() throws InterruptedException
    {
        final String running = answers("cap 200MB\ncap bogus\n", false);
        assertEquals(2, running.lines().count(), running);
        assertTrue(running.lines().findFirst().orElseThrow().startsWith("control: requested "), running);
        assertTrue(running.contains("control: refused: not a rate: 'bogus'"), running);

        final String ended = answers("cap 200MB\ncap bogus\n", true);
        assertTrue(ended.lines().findFirst().orElseThrow()
            .startsWith("control: ignored, the migration has ended; its settings at the end: "), ended);
        assertTrue(ended.contains("control: refused: not a rate: 'bogus'"), "a bad value is still named: " + ended);
    }
}
