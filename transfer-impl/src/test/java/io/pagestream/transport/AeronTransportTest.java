package io.pagestream.transport;

import io.aeron.CncFileDescriptor;
import io.aeron.CommonContext;
import io.aeron.Publication;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An embedded driver in a directory the embedder names is launched with {@code dirDeleteOnStart(true)}, under which
 * Aeron deletes the directory without asking whether a driver lives there: the transport refuses a directory a live
 * driver uses, and reuses at once one whose driver closed.
 */
class AeronTransportTest
{
    private static AeronTransport launch(final String dir, final List<Throwable> errors, final boolean invoked)
    {
        return AeronTransport.launch(null, dir, "test", new SleepingMillisIdleStrategy(1), errors::add, invoked);
    }

    @Test
    @Timeout(60)
    void shouldRefuseANamedDirectoryALiveDriverUsesAndReuseOneWhoseDriverClosed(@TempDir final Path tmp)
    {
        final String dir = tmp.resolve("driver").toString();
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        final AeronTransport first = launch(dir, errors, false);
        try
        {
            final MigrationException ex = assertThrows(MigrationException.class, () -> launch(dir, errors, true));
            assertEquals(ErrorCode.INVALID_CONFIGURATION, ex.errorCode());
            assertTrue(ex.getMessage().contains("driverDirectoryName=" + dir) &&
                ex.getMessage().contains("a live media driver uses this directory"), ex.getMessage());

            // The live driver and its client are untouched: its CnC file is there and it still answers.
            assertTrue(Files.exists(Path.of(dir, CncFileDescriptor.CNC_FILE)));
            assertTrue(CommonContext.isDriverActive(new File(dir), 10_000, message -> { }));
            try (Publication publication = first.aeron().addPublication("aeron:ipc", 7))
            {
                assertFalse(publication.isClosed());
            }
        }
        finally
        {
            first.close();
        }

        // A driver that closed cleanly cleared its heartbeat: the directory it kept is taken again at once.
        assertTrue(Files.exists(Path.of(dir, CncFileDescriptor.CNC_FILE)), "kept at close");
        assertFalse(CommonContext.isDriverActive(new File(dir), 10_000, message -> { }));
        try (AeronTransport again = launch(dir, errors, true))
        {
            assertTrue(again.isEmbedded());
            assertEquals(dir, again.directoryName());
        }
        assertTrue(errors.isEmpty(), errors.toString());
    }

    @Test
    @Timeout(30)
    void shouldRefuseADirectoryWhoseCncFileCannotBeRead(@TempDir final Path tmp) throws IOException
    {
        // A CnC file created and never initialised (its version still 0): a driver may be starting there.
        final Path dir = tmp.resolve("driver");
        Files.createDirectories(dir);
        Files.write(dir.resolve(CncFileDescriptor.CNC_FILE), new byte[CncFileDescriptor.END_OF_METADATA_OFFSET * 2]);

        final MigrationException ex = assertThrows(MigrationException.class,
            () -> AeronTransport.requireNoLiveDriver(dir.toString(), 100));
        assertEquals(ErrorCode.INVALID_CONFIGURATION, ex.errorCode());
        assertTrue(ex.getMessage().contains("driverDirectoryName=" + dir) &&
            ex.getMessage().contains("cannot tell whether a media driver uses it"), ex.getMessage());
        assertTrue(Files.exists(dir.resolve(CncFileDescriptor.CNC_FILE)), "nothing deleted");

        // No CnC file at all, or no directory: nothing to refuse.
        AeronTransport.requireNoLiveDriver(tmp.resolve("absent").toString(), 100);
        Files.delete(dir.resolve(CncFileDescriptor.CNC_FILE));
        AeronTransport.requireNoLiveDriver(dir.toString(), 100);
    }
}
