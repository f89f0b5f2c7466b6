package io.pagestream.bench;

import io.pagestream.PageStream;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationTarget;
import io.pagestream.api.guest.DirtyPageLog;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.VcpuControl;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.kernel.ProcessMemory;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SoftwareDirtyLog;
import io.pagestream.synthetic.SyntheticDeviceState;
import io.pagestream.synthetic.SyntheticGuest;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * End to end, process to process, with fresh mappings: a guest image file on /dev/shm (a share of its pages hold
 * data, the rest are holes) moved into a fresh anonymous mapping in another JVM,
 * <ul>
 * <li>by PageStream: a source JVM maps the file as guest memory and migrates it over UDP loopback to a target JVM;</li>
 * <li>by the baseline, the kernel's best plain copy: {@code sendfile} (FileChannel.transferTo) of the whole file over a
 * TCP loopback socket to a receiver JVM that populates its mapping first (MADV_POPULATE_WRITE) and reads into it.</li>
 * </ul>
 * Every run is a fresh pair of JVMs, so JIT compilation and first-touch page faults are paid as in a real first
 * migration; PageStream and the baseline alternate, pair by pair, and medians and ratios are printed. PageStream's
 * time is the migration's total time from its report; its launch (the driver, and the first launch's engine warm-up)
 * is printed beside it and not counted. The baseline's time runs from the receiver accepting the connection (before
 * it populates) to its last byte.
 * <p>
 * Also: sparse guests ({@code --sparse}): a synthetic guest of the given size and fill, idle, migrated with PageStream,
 * with time and both sides' peak resident memory.
 * <pre>
 * java [flags] -cp benchmarks/target/benchmarks.jar io.pagestream.bench.ImageTransferBenchmark [pairs] [size] [fill]
 * </pre>
 */
public final class ImageTransferBenchmark
{
    private static final int PAGE = 4096;
    private static final List<String> JVM_FLAGS = List.of(
        "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED",
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-opens", "java.base/java.util.zip=ALL-UNNAMED",
        "--add-opens", "java.base/jdk.internal.util=ALL-UNNAMED",
        "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow",
        "-Xmx2g");

    private ImageTransferBenchmark()
    {
    }

    /**
     * @param args {@code [pairs [sizeMiB [fill]]]}, or a child role.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        if (args.length > 0 && args[0].startsWith("--role="))
        {
            child(args[0].substring("--role=".length()), Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        final int pairs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        final long sizeBytes = (args.length > 1 ? Long.parseLong(args[1]) : 1024) << 20;
        final double fill = args.length > 2 ? Double.parseDouble(args[2]) : 0.6;
        final Path image = Files.createTempFile(Path.of("/dev/shm"), "pagestream-image-", ".img");
        try
        {
            writeImage(image, sizeBytes, fill);
            System.out.printf(Locale.ROOT, "image %s: %d MiB, %.0f%% data pages; %d pairs, each in fresh JVMs%n",
                image, sizeBytes >> 20, fill * 100, pairs);
            final double[] pagestream = new double[pairs];
            final double[] baseline = new double[pairs];
            for (int i = 0; i < pairs; i++)
            {
                pagestream[i] = runPageStream(image, sizeBytes);
                baseline[i] = runSendfile(image, sizeBytes);
                System.out.printf(Locale.ROOT, "pair %d: PageStream %.0f ms, sendfile %.0f ms, ratio %.2f%n",
                    i + 1, pagestream[i], baseline[i], pagestream[i] / baseline[i]);
            }
            final double p = median(pagestream);
            final double b = median(baseline);
            final long pages = sizeBytes / PAGE;
            System.out.printf(Locale.ROOT, "median: PageStream %.0f ms (%.0f pages/s end to end), " +
                "populate-then-sendfile %.0f ms (%.0f pages/s); ratio %.2f%n", p, pages / (p / 1e3), b,
                pages / (b / 1e3), p / b);
        }
        finally
        {
            Files.deleteIfExists(image);
        }
    }

    /** Write the image sparsely: data pages only, so holes stay holes. */
    private static void writeImage(final Path image, final long sizeBytes, final double fill) throws IOException
    {
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.WRITE))
        {
            channel.truncate(0);
            final ByteBuffer end = ByteBuffer.allocate(1);
            channel.write(end, sizeBytes - 1); // sets the size; the last page is data after this, which is fine
        }
        final MemoryKernel kernel = MemoryKernel.create();
        try (MappedGuestMemory memory = MappedGuestMemory.file(kernel, image, sizeBytes, PAGE, true))
        {
            SyntheticGuest.fill(memory, fill, 7);
        }
    }

    private static double runPageStream(final Path image, final long sizeBytes) throws Exception
    {
        final String endpoint = "127.0.0.1:" + freeUdpPort();
        final Process target = spawn("ps-target", endpoint, Long.toString(sizeBytes));
        final BufferedReader targetOut = reader(target);
        awaitLine(targetOut, "READY");
        final Process source = spawn("ps-source", endpoint, Long.toString(sizeBytes), image.toString());
        final BufferedReader sourceOut = reader(source);
        final String[] result = awaitLine(sourceOut, "RESULT").split(" ");
        final String[] targetResult = awaitLine(targetOut, "RESULT").split(" ");
        source.waitFor(60, TimeUnit.SECONDS);
        target.waitFor(60, TimeUnit.SECONDS);
        if (!result[1].equals("COMPLETED") || !result[4].equals(targetResult[2]))
        {
            throw new IllegalStateException("PageStream run failed or memory differs: " + String.join(" ", result) +
                " / " + String.join(" ", targetResult));
        }
        System.out.printf(Locale.ROOT, "  PageStream: %s ms migration after %s ms of launch (%s); peak RSS " +
            "source %s, target %s%n", result[2], result[3], result[5].replace('_', ' '),
            ProcessMemory.format(Long.parseLong(result[6])), ProcessMemory.format(Long.parseLong(targetResult[3])));
        return Double.parseDouble(result[2]);
    }

    private static double runSendfile(final Path image, final long sizeBytes) throws Exception
    {
        final int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            port = probe.getLocalPort();
        }
        final Process receiver = spawn("sendfile-receiver", Integer.toString(port), Long.toString(sizeBytes));
        final BufferedReader receiverOut = reader(receiver);
        awaitLine(receiverOut, "READY");
        final Process sender = spawn("sendfile-sender", Integer.toString(port), image.toString());
        final String[] result = awaitLine(receiverOut, "RESULT").split(" ");
        sender.waitFor(60, TimeUnit.SECONDS);
        receiver.waitFor(60, TimeUnit.SECONDS);
        final long expected = digestOfFile(image, sizeBytes);
        if (Long.parseLong(result[3]) != expected)
        {
            throw new IllegalStateException("sendfile copy differs from the image");
        }
        System.out.printf(Locale.ROOT, "  sendfile: %s ms (populate %s ms)%n", result[1], result[2]);
        return Double.parseDouble(result[1]);
    }

    private static long digestOfFile(final Path image, final long sizeBytes)
    {
        try (MappedGuestMemory memory = MappedGuestMemory.file(MemoryKernel.create(), image, sizeBytes, PAGE, false))
        {
            return MemoryDigest.digest(memory);
        }
    }

    private static void child(final String role, final String[] args) throws Exception
    {
        switch (role)
        {
            case "ps-target":
                pageStreamTarget(args[0], Long.parseLong(args[1]));
                break;
            case "ps-source":
                pageStreamSource(args[0], Long.parseLong(args[1]), Path.of(args[2]));
                break;
            case "sendfile-receiver":
                sendfileReceiver(Integer.parseInt(args[0]), Long.parseLong(args[1]));
                break;
            case "sendfile-sender":
                sendfileSender(Integer.parseInt(args[0]), Path.of(args[1]));
                break;
            default:
                throw new IllegalArgumentException("unknown role " + role);
        }
    }

    private static void pageStreamTarget(final String endpoint, final long sizeBytes) throws Exception
    {
        final MemoryKernel kernel = MemoryKernel.create();
        try (MappedGuestMemory memory = MappedGuestMemory.anonymous(kernel, sizeBytes, PAGE, false);
            MigrationTarget target = PageStream.launchTarget(new MigrationTarget.Context()
                .guestMemory(memory)
                .deviceState(SyntheticDeviceState.target())
                .listenEndpoint(endpoint)
                .urgentEndpoint("127.0.0.1:" + freeUdpPort())
                .allowUnauthenticated(true)
                .handshakeTimeoutMs(60_000)))
        {
            System.out.println("READY");
            System.out.flush();
            final MigrationReport report = target.completion().get(600, TimeUnit.SECONDS);
            System.out.println("RESULT " + report.result() + " " + Long.toHexString(MemoryDigest.digest(memory)) +
                " " + ProcessMemory.peakResidentBytes());
            System.out.flush();
        }
    }

    private static void pageStreamSource(final String endpoint, final long sizeBytes, final Path image)
        throws Exception
    {
        final MemoryKernel kernel = MemoryKernel.create();
        try (MappedGuestMemory memory = MappedGuestMemory.file(kernel, image, sizeBytes, PAGE, true))
        {
            final SoftwareDirtyLog dirtyLog = new SoftwareDirtyLog(memory.pageCount()); // an image: nothing writes
            final long launchNs = System.nanoTime();
            try (MigrationSource source = PageStream.launchSource(new MigrationSource.Context()
                .guestMemory(memory)
                .dirtyPageLog(dirtyLog)
                .vcpuControl(IdleVcpus.INSTANCE)
                .deviceState(SyntheticDeviceState.source(0, 1))
                .targetEndpoint(endpoint)
                .controlEndpoint("127.0.0.1:" + freeUdpPort())
                .mtuLength(32768)
                .allowUnauthenticated(true)))
            {
                final long launchMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - launchNs);
                final MigrationReport report = source.completion().get(600, TimeUnit.SECONDS);
                System.out.println("RESULT " + report.result() + " " + report.totalTimeMs() + " " + launchMs + " " +
                    Long.toHexString(MemoryDigest.digest(memory)) + " " +
                    PageStream.warmupOutcome().replace(' ', '_') + " " + ProcessMemory.peakResidentBytes());
                System.out.flush();
            }
        }
    }

    private static void sendfileReceiver(final int port, final long sizeBytes) throws Exception
    {
        final MemoryKernel kernel = MemoryKernel.create();
        try (ServerSocketChannel server = ServerSocketChannel.open();
            MappedGuestMemory memory = MappedGuestMemory.anonymous(kernel, sizeBytes, PAGE, false))
        {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            System.out.println("READY");
            System.out.flush();
            try (SocketChannel socket = server.accept())
            {
                final long startNs = System.nanoTime();
                kernel.populateWrite(memory.address(), sizeBytes);
                final long populatedNs = System.nanoTime();
                final MemorySegment all = MemorySegment.ofAddress(memory.address()).reinterpret(sizeBytes);
                long done = 0;
                while (done < sizeBytes)
                {
                    final long chunk = Math.min(1L << 30, sizeBytes - done);
                    final ByteBuffer buffer = all.asSlice(done, chunk).asByteBuffer();
                    while (buffer.hasRemaining())
                    {
                        if (socket.read(buffer) < 0)
                        {
                            throw new IOException("sender closed after " + (done + buffer.position()) + " bytes");
                        }
                    }
                    done += chunk;
                }
                final long endNs = System.nanoTime();
                System.out.println("RESULT " + TimeUnit.NANOSECONDS.toMillis(endNs - startNs) + " " +
                    TimeUnit.NANOSECONDS.toMillis(populatedNs - startNs) + " " + MemoryDigest.digest(memory));
                System.out.flush();
            }
        }
    }

    private static void sendfileSender(final int port, final Path image) throws Exception
    {
        try (FileChannel file = FileChannel.open(image, StandardOpenOption.READ);
            SocketChannel socket = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), port)))
        {
            final long size = file.size();
            long sent = 0;
            while (sent < size)
            {
                sent += file.transferTo(sent, size - sent, socket); // sendfile(2)
            }
        }
    }

    private static Process spawn(final String role, final String... args) throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(JVM_FLAGS);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(ImageTransferBenchmark.class.getName());
        command.add("--role=" + role);
        command.addAll(Arrays.asList(args));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static BufferedReader reader(final Process process)
    {
        return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    private static String awaitLine(final BufferedReader reader, final String prefix) throws IOException
    {
        String line;
        while (null != (line = reader.readLine()))
        {
            if (line.startsWith(prefix))
            {
                return line;
            }
        }
        throw new IllegalStateException("child ended without printing " + prefix);
    }

    private static int freeUdpPort() throws IOException
    {
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
    }

    private static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** An image has no vCPUs: pausing and resuming are no-ops. */
    private enum IdleVcpus implements VcpuControl
    {
        INSTANCE;

        public void pause()
        {
        }

        public void resume()
        {
        }

        public void throttle(final double fraction)
        {
        }
    }
}
