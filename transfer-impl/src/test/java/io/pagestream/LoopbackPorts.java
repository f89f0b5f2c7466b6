package io.pagestream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * UDP ports on loopback for tests, taken from outside the kernel's ephemeral range.
 * <p>
 * Asking the kernel for a free port (bind to port 0, close, use the number) races: every Aeron publication and
 * every other port-0 bind in the same machine draws from the same ephemeral range, so the number can be handed to
 * someone else between the probe and the real bind (CI failed once with "Address already in use" that way). Ports
 * below the ephemeral range are never handed out by the kernel, so only an explicit bind can take them; this class
 * walks them from a start that depends on the process, checking each with a bind.
 */
public final class LoopbackPorts
{
    private static final int LOWEST = 10_000;
    private static final int[] RANGE = range();
    private static final AtomicInteger NEXT = new AtomicInteger(
        (int)(ProcessHandle.current().pid() * 7919 % (RANGE[1] - RANGE[0])));

    private LoopbackPorts()
    {
    }

    /** @return a UDP port on loopback that was free a moment ago and that the kernel never hands out by itself. */
    public static int next()
    {
        final int span = RANGE[1] - RANGE[0];
        for (int i = 0; i < span; i++)
        {
            final int port = RANGE[0] + Math.floorMod(NEXT.getAndIncrement(), span);
            try (DatagramSocket socket = new DatagramSocket(port, InetAddress.getLoopbackAddress()))
            {
                return socket.getLocalPort();
            }
            catch (final IOException ignore)
            {
                // taken: try the next one
            }
        }
        throw new UncheckedIOException(new IOException("no free UDP port in " + RANGE[0] + ".." + RANGE[1]));
    }

    /** @return {@code [first, end)}: below the ephemeral range if it leaves room, else above it. */
    private static int[] range()
    {
        int low = 32_768;
        int high = 60_999;
        try
        {
            final String[] bounds = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim()
                .split("\\s+");
            low = Integer.parseInt(bounds[0]);
            high = Integer.parseInt(bounds[1]);
        }
        catch (final IOException | RuntimeException ignore)
        {
            // not Linux, or unreadable: the kernel's default range
        }
        return low - LOWEST >= 2_000 ? new int[] {LOWEST, low} : new int[] {high + 1, 65_536};
    }
}
