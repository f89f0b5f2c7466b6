package io.pagestream;

import io.pagestream.api.Compression;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationTarget;
import io.pagestream.synthetic.SyntheticGuest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * System properties are parsed with sizes and durations in Agrona's syntax; a bad value never throws from
 * {@code new Context()} and is never silently ignored: {@code conclude()} fails with INVALID_CONFIGURATION naming
 * the property and the value. Port 0 (any free port) is accepted only for endpoints the side binds. A launch that
 * cannot bind its endpoint is a MigrationException with a code.
 */
class ConfigurationTest
{
    private static <T> T withProperties(final Map<String, String> properties, final Supplier<T> body)
    {
        properties.forEach(System::setProperty);
        try
        {
            return body.get();
        }
        finally
        {
            properties.keySet().forEach(System::clearProperty);
        }
    }

    private static MigrationSource.Context source(final SyntheticGuest guest)
    {
        return new MigrationSource.Context().guestMemory(guest.memory()).dirtyPageLog(guest.dirtyLog())
            .vcpuControl(guest.vcpus()).deviceState(guest.deviceState()).allowUnauthenticated(true);
    }

    @Test
    void shouldReadSizesAndDurationsInAgronaSyntax()
    {
        try (SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config().sizeBytes(4L << 20)))
        {
            final MigrationSource.Context ctx = withProperties(Map.of(
                MigrationSource.Context.MTU_LENGTH_PROP_NAME, "16k",
                MigrationSource.Context.TERM_LENGTH_PROP_NAME, "16m",
                MigrationSource.Context.PEER_TIMEOUT_PROP_NAME, "2s",
                MigrationSource.Context.DOWNTIME_TARGET_PROP_NAME, "750",
                MigrationSource.Context.FAULT_QUIET_PROP_NAME, "2ms",
                MigrationSource.Context.MAX_BANDWIDTH_PROP_NAME, "100m",
                MigrationSource.Context.COMPRESSION_PROP_NAME, "lz4"), () -> source(guest)).conclude();
            assertEquals(16 * 1024, ctx.mtuLength());
            assertEquals(16 << 20, ctx.termLength());
            assertEquals(2_000, ctx.peerTimeoutMs());
            assertEquals(750, ctx.downtimeTargetMs());
            assertEquals(2_000, ctx.faultQuietUs());
            assertEquals(100L << 20, ctx.maxBandwidthBytesPerSec());
            assertEquals(Compression.LZ4, ctx.compression());
        }
    }

    @Test
    void shouldRefuseBadPropertiesFromConcludeNamingThem()
    {
        try (SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config().sizeBytes(4L << 20)))
        {
            final String[][] cases = {
                {MigrationSource.Context.MTU_LENGTH_PROP_NAME, "16x", "a size"},
                {MigrationSource.Context.PEER_TIMEOUT_PROP_NAME, "soon", "a duration"},
                {MigrationSource.Context.COMPRESSION_PROP_NAME, "fast", "one of auto, none, delta, lz4"},
                {MigrationSource.Context.STRATEGY_PROP_NAME, "bogus", "one of"},
                {MigrationSource.Context.THREADING_MODE_PROP_NAME, "spin", "one of dedicated, invoker"},
                {MigrationSource.Context.POSTCOPY_ALLOWED_PROP_NAME, "yes", "true or false"},
                {MigrationSource.Context.DATA_LANES_PROP_NAME, "2.5", "an integer"},
            };
            for (final String[] c : cases)
            {
                // The constructor never throws for a bad property...
                final MigrationSource.Context ctx = withProperties(Map.of(c[0], c[1]), () -> source(guest));
                // ...conclude() does, naming it.
                final MigrationException ex = assertThrows(MigrationException.class, ctx::conclude, c[0]);
                assertEquals(ErrorCode.INVALID_CONFIGURATION, ex.errorCode());
                assertTrue(ex.getMessage().contains(c[0] + "='" + c[1] + "'") && ex.getMessage().contains(c[2]),
                    ex.getMessage());
            }
        }
    }

    @Test
    void shouldParseTheFaultEventThresholdAsADurationAndRefuseABadOneFromConclude()
    {
        try (SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config().sizeBytes(4L << 20)))
        {
            final String name = MigrationTarget.Context.JFR_FAULT_THRESHOLD_PROP_NAME;
            assertEquals(MigrationTarget.Context.JFR_FAULT_THRESHOLD_US_DEFAULT, target(guest).conclude()
                .jfrFaultThresholdUs());
            assertEquals(250, withProperties(Map.of(name, "250"), () -> target(guest)).conclude()
                .jfrFaultThresholdUs(), "a plain number is microseconds");
            assertEquals(2_000, withProperties(Map.of(name, "2ms"), () -> target(guest)).conclude()
                .jfrFaultThresholdUs());
            assertEquals(0, withProperties(Map.of(name, "5ms"), () -> target(guest)).jfrFaultThresholdUs(0)
                .conclude().jfrFaultThresholdUs(), "the setter overrides the property");

            for (final String bad : List.of("1.5ms", "slow", "16m"))
            {
                final MigrationTarget.Context ctx = withProperties(Map.of(name, bad), () -> target(guest));
                final MigrationException ex = assertThrows(MigrationException.class, ctx::conclude, bad);
                assertEquals(ErrorCode.INVALID_CONFIGURATION, ex.errorCode());
                assertTrue(ex.getMessage().contains(name + "='" + bad + "'") &&
                    ex.getMessage().contains("a duration"), ex.getMessage());
            }

            final MigrationException ex = assertThrows(MigrationException.class,
                () -> target(guest).jfrFaultThresholdUs(-1).conclude());
            assertEquals(ErrorCode.INVALID_CONFIGURATION, ex.errorCode());
            assertTrue(ex.getMessage().contains("jfrFaultThresholdUs=-1"), ex.getMessage());
        }
    }

    private static MigrationTarget.Context target(final SyntheticGuest guest)
    {
        return new MigrationTarget.Context().guestMemory(guest.memory()).deviceState(guest.deviceState())
            .allowUnauthenticated(true);
    }

    @Test
    void shouldAcceptPortZeroOnlyWhereThisSideBinds()
    {
        try (SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config().sizeBytes(4L << 20)))
        {
            final MigrationTarget.Context target = new MigrationTarget.Context().guestMemory(guest.memory())
                .deviceState(guest.deviceState()).listenEndpoint("127.0.0.1:0").allowUnauthenticated(true)
                .conclude();
            assertEquals("127.0.0.1:0", target.urgentEndpoint(), "any free port, not listen port + 2");
            source(guest).targetEndpoint("127.0.0.1:40400").controlEndpoint("127.0.0.1:0").conclude();

            final MigrationException ex = assertThrows(MigrationException.class,
                () -> source(guest).targetEndpoint("127.0.0.1:0").controlEndpoint("127.0.0.1:0").conclude());
            assertEquals(ErrorCode.INVALID_CONFIGURATION, ex.errorCode());
            assertTrue(ex.getMessage().contains("targetEndpoint") && ex.getMessage().contains("from 1 to 65535"),
                ex.getMessage());
        }
    }

    @Test
    void shouldTakeLaneThreadsOnlyWhereThePageStreamMayStartThreads()
    {
        try (SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config().sizeBytes(4L << 20)))
        {
            final MigrationSource.Context fromProperty = withProperties(Map.of(
                MigrationSource.Context.LANE_THREADS_PROP_NAME, "true",
                MigrationSource.Context.DATA_LANES_PROP_NAME, "3"), () -> source(guest)).conclude();
            assertTrue(fromProperty.laneThreads());
            assertEquals(3, fromProperty.dataLanes());

            final MigrationException ex = assertThrows(MigrationException.class, () -> source(guest).dataLanes(3)
                .laneThreads(true).threadingMode(io.pagestream.api.ThreadingMode.INVOKER).conclude());
            assertEquals(ErrorCode.INVALID_CONFIGURATION, ex.errorCode());
            assertTrue(ex.getMessage().contains("laneThreads") && ex.getMessage().contains("DEDICATED"),
                ex.getMessage());
        }
    }

    @Test
    @Timeout(60)
    void shouldRefuseADriverDirectoryALiveDriverUsesLeavingThatDriverAlone(@TempDir final Path tmp)
    {
        final String dir = tmp.resolve("driver").toString();
        try (SyntheticGuest guest = SyntheticGuest.createTarget(new SyntheticGuest.Config().sizeBytes(4L << 20));
            MigrationTarget first = PageStream.launchTarget(target(guest).listenEndpoint("127.0.0.1:0")
                .driverDirectoryName(dir).errorHandler(t -> { })))
        {
            final MigrationException ex = assertThrows(MigrationException.class, () -> PageStream.launchTarget(
                target(guest).listenEndpoint("127.0.0.1:0").driverDirectoryName(dir).errorHandler(t -> { })));
            assertEquals(ErrorCode.INVALID_CONFIGURATION, ex.errorCode(), ex.toString());
            assertTrue(ex.getMessage().contains("driverDirectoryName=" + dir), ex.getMessage());
            assertEquals(dir, PageStream.aeronDirectory(first));
            assertTrue(java.nio.file.Files.exists(Path.of(dir, io.aeron.CncFileDescriptor.CNC_FILE)));
            assertFalse(first.completion().isDone(), "the first target still listens: " + first.progress());
        }
    }

    @Test
    @Timeout(60)
    void shouldReportAnEndpointInUseAsATransportFailure() throws Exception
    {
        try (SyntheticGuest guest = SyntheticGuest.createTarget(new SyntheticGuest.Config().sizeBytes(4L << 20));
            DatagramSocket taken = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            final String endpoint = "127.0.0.1:" + taken.getLocalPort();
            final MigrationException ex = assertThrows(MigrationException.class, () -> PageStream.launchTarget(
                new MigrationTarget.Context().guestMemory(guest.memory()).deviceState(guest.deviceState())
                    .listenEndpoint(endpoint).allowUnauthenticated(true).errorHandler(t -> { })));
            assertEquals(ErrorCode.TRANSPORT_FAILED, ex.errorCode(), ex.toString());
            assertTrue(ex.getMessage().contains(endpoint) || String.valueOf(ex.getCause()).contains(
                String.valueOf(taken.getLocalPort())), ex.getMessage());
            assertTrue(null != ex.getCause(), "the original is kept");
        }
    }
}
