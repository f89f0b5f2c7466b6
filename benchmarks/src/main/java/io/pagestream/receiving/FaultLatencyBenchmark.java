package io.pagestream.receiving;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.aeron.logbuffer.BufferClaim;
import io.aeron.logbuffer.FragmentHandler;
import io.pagestream.PageStream;
import io.pagestream.api.Compression;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.api.MigrationTarget;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import io.pagestream.transport.AeronTransport;
import org.HdrHistogram.Histogram;
import org.agrona.BufferUtil;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Post-copy fault service latency beside a raw Aeron 4 KiB request/response round trip, all measured in one run.
 * <p>
 * Not a JMH benchmark on purpose: a fault is only a fault while its page is missing, and each page can be faulted
 * once, so samples come from real post-copy migrations (a fault thread on the target picks random missing pages and
 * calls {@code awaitPage}) and go into HdrHistograms, whose percentiles are the result. Three measurements:
 * <ol>
 * <li><b>raw</b>: a 32-byte request over Aeron UDP and a 4 KiB reply claimed straight into the term buffer, between
 * two embedded drivers configured as PageStream configures its own, the replying thread idling as PageStream's
 * agents do;</li>
 * <li><b>bulk idle</b>: post-copy with the background push capped at 64 KiB/s, so faults have the link to
 * themselves;</li>
 * <li><b>link full</b>: post-copy with the background push capped at 2.5 Gbit/s and using all of it (the achieved
 * rate is printed), as on a network link the push fills;</li>
 * <li><b>bulk uncapped</b>: post-copy with the background push uncapped, as fast as the CPUs move it (on this
 * two-core host both "hosts" then share the cores).</li>
 * </ol>
 * Run: {@code java --add-opens java.base/jdk.internal.misc=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar
 * io.pagestream.receiving.FaultLatencyBenchmark [migrations per case, default 3]}.
 */
public final class FaultLatencyBenchmark
{
    private static final int RAW_SAMPLES = 20_000;
    private static final int RAW_WARMUP = 5_000;
    private static final int STREAM_REQUEST = 7;
    private static final int STREAM_REPLY = 8;
    private static final long MAX_NS = TimeUnit.SECONDS.toNanos(10);
    private static final long IDLE_PUSH = 64 * 1024;
    private static final byte[] KEY = io.pagestream.security.HandshakeAuthenticator.newNonce();
    private static final long CAPPED_PUSH = 2_500_000_000L / 8;

    private FaultLatencyBenchmark()
    {
    }

    /**
     * @param args optional: migrations per post-copy case.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final int migrations = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        final Histogram raw = rawRoundTrip();
        final Histogram idle = new Histogram(MAX_NS, 3);
        final Histogram capped = new Histogram(MAX_NS, 3);
        final Histogram saturated = new Histogram(MAX_NS, 3);
        double cappedRate = 0;
        double pushRate = 0;
        final boolean kernel = io.pagestream.kernel.UserFaultFd.isAvailable();
        final Histogram kernelIdle = new Histogram(MAX_NS, 3);
        final Histogram kernelCapped = new Histogram(MAX_NS, 3);
        final Histogram kernelSaturated = new Histogram(MAX_NS, 3);
        double kernelCappedRate = 0;
        for (int i = 0; i < migrations; i++)
        {
            faults(IDLE_PUSH, idle, i, false);
            cappedRate += faults(CAPPED_PUSH, capped, i, false);
            pushRate += faults(0, saturated, i, false);
            if (kernel)
            {
                faults(IDLE_PUSH, kernelIdle, i, true);
                kernelCappedRate += faults(CAPPED_PUSH, kernelCapped, i, true);
                faults(0, kernelSaturated, i, true);
            }
        }
        kernelCappedRate /= migrations;
        cappedRate /= migrations;
        pushRate /= migrations;

        System.out.println();
        System.out.println("fault service latency, 4 KiB pages, UDP loopback (microseconds)");
        System.out.printf(Locale.ROOT, "%-34s %8s %8s %8s %8s %10s %10s%n",
            "case", "samples", "p50", "p99", "max", "p50/raw", "p99/raw");
        row("raw Aeron 4 KiB request/response", raw, raw);
        row("PageStream fault, bulk idle", idle, raw);
        row("PageStream fault, 2.5 Gbit link full", capped, raw);
        row("PageStream fault, bulk uncapped", saturated, raw);
        if (kernel)
        {
            row("userfaultfd fault, bulk idle", kernelIdle, raw);
            row("userfaultfd fault, 2.5 Gbit full", kernelCapped, raw);
            row("userfaultfd fault, bulk uncapped", kernelSaturated, raw);
            System.out.printf(Locale.ROOT, "userfaultfd rows: a guest thread's native one-byte read of a missing page, " +
                "from before the read to after it returned (fault, request, install, wake); push %.0f MB/s capped%n",
                kernelCappedRate / 1e6);
        }
        else
        {
            System.out.println("userfaultfd rows: not run, no userfaultfd for this process");
        }
        System.out.printf(Locale.ROOT, "background push: %.0f MB/s against a %.0f MB/s cap; uncapped %.0f MB/s%n",
            cappedRate / 1e6, CAPPED_PUSH / 1e6, pushRate / 1e6);
    }

    private static void row(final String name, final Histogram h, final Histogram raw)
    {
        System.out.printf(Locale.ROOT, "%-34s %8d %8.1f %8.1f %8.1f %9.2fx %9.2fx%n", name, h.getTotalCount(),
            h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getMaxValue() / 1e3,
            (double)h.getValueAtPercentile(50) / raw.getValueAtPercentile(50),
            (double)h.getValueAtPercentile(99) / raw.getValueAtPercentile(99));
    }

    private static IdleStrategy driverIdle()
    {
        return new BackoffIdleStrategy(64, 16, 1_000, 100_000); // PageStream's default for its drivers
    }

    private static Histogram rawRoundTrip() throws Exception
    {
        final String requestEndpoint = "127.0.0.1:" + freePort();
        final String replyEndpoint = "127.0.0.1:" + freePort();
        final Histogram histogram = new Histogram(MAX_NS, 3);
        try (AeronTransport requesterSide = AeronTransport.launch(null, "raw-a", driverIdle(), Throwable::printStackTrace);
            AeronTransport responderSide = AeronTransport.launch(null, "raw-b", driverIdle(), Throwable::printStackTrace))
        {
            final Aeron a = requesterSide.aeron();
            final Aeron b = responderSide.aeron();
            final Subscription requests = b.addSubscription(channel(requestEndpoint), STREAM_REQUEST);
            final Subscription replies = a.addSubscription(channel(replyEndpoint), STREAM_REPLY);
            final ExclusivePublication requestPub = a.addExclusivePublication(channel(requestEndpoint), STREAM_REQUEST);
            final ExclusivePublication replyPub = b.addExclusivePublication(channel(replyEndpoint), STREAM_REPLY);
            while (!requestPub.isConnected() || !replyPub.isConnected())
            {
                Thread.sleep(1);
            }

            final UnsafeBuffer page = new UnsafeBuffer(BufferUtil.allocateDirectAligned(4096, 64));
            final BufferClaim claim = new BufferClaim();
            final Thread responder = new Thread(() ->
            {
                // Idles as PageStream's source agent does between frames.
                final IdleStrategy idle = new BackoffIdleStrategy(64, 16, 1_000, 200_000);
                final FragmentHandler reply = (buffer, offset, length, header) ->
                {
                    while (replyPub.tryClaim(4096 + 48, claim) < 0)
                    {
                        Thread.onSpinWait();
                    }
                    claim.buffer().putBytes(claim.offset(), buffer, offset, Math.min(length, 16));
                    claim.buffer().putBytes(claim.offset() + 48, page, 0, 4096);
                    claim.commit();
                };
                while (!Thread.currentThread().isInterrupted())
                {
                    idle.idle(requests.poll(reply, 16));
                }
            }, "raw-responder");
            responder.setDaemon(true);
            responder.start();

            final UnsafeBuffer request = new UnsafeBuffer(BufferUtil.allocateDirectAligned(32, 64));
            final int[] received = new int[1];
            final FragmentHandler onReply = (buffer, offset, length, header) -> received[0]++;
            for (int i = 0; i < RAW_WARMUP + RAW_SAMPLES; i++)
            {
                final long startNs = System.nanoTime();
                request.putLong(0, startNs);
                while (requestPub.offer(request, 0, 32) < 0)
                {
                    Thread.onSpinWait();
                }
                final int expected = received[0] + 1;
                int idle = 0;
                while (received[0] < expected)
                {
                    if (replies.poll(onReply, 1) == 0)
                    {
                        // Wait as PageStream's fault path does: spin, then yield, then park briefly.
                        if (++idle > 2_100)
                        {
                            LockSupport.parkNanos(20_000);
                        }
                        else if (idle > 2_000)
                        {
                            Thread.yield();
                        }
                    }
                }
                if (i >= RAW_WARMUP)
                {
                    histogram.recordValue(Math.min(MAX_NS, System.nanoTime() - startNs));
                }
            }
            responder.interrupt();
            responder.join(1_000);
        }
        return histogram;
    }

    /**
     * One post-copy migration of a busy guest; faults random missing pages while post-copy runs.
     *
     * @return the background push rate in bytes per second.
     */
    private static double faults(final long pushBytesPerSec, final Histogram histogram, final int seed,
        final boolean kernelPath) throws Exception
    {
        final boolean bulkIdle = pushBytesPerSec == IDLE_PUSH;
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(bulkIdle ? 256L << 20 : 1L << 30)
            .workload(Workload.UNIFORM)
            .dirtyRatePagesPerSec(1_000_000)
            .fillFraction(0.6)
            .seed(seed + 1);
        final String targetEndpoint = "127.0.0.1:" + freePort();
        final String controlEndpoint = "127.0.0.1:" + freePort();
        try (SyntheticGuest sourceGuest = SyntheticGuest.create(config);
            SyntheticGuest targetGuest = SyntheticGuest.createTarget(config);
            MigrationTarget target = PageStream.launchTarget(new MigrationTarget.Context()
                .guestMemory(targetGuest.memory())
                .deviceState(targetGuest.deviceState())
                .listenEndpoint(targetEndpoint)
                .secretKey(KEY)
                .postcopyEnabled(true)
                .kernelFaultPath(kernelPath)))
        {
            final io.pagestream.kernel.MemoryKernel memoryKernel = io.pagestream.kernel.MemoryKernel.create();
            final java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            final long pageCount = targetGuest.memory().pageCount();
            final CompletableFuture<Void> faulting = target.readyToRun().thenAcceptAsync(phase ->
            {
                if (phase != MigrationPhase.POSTCOPY)
                {
                    return;
                }
                long x = 0x9E3779B97F4A7C15L * (seed + 7);
                int misses = 0;
                while (!stop.get() && !target.completion().isDone() && misses < 100_000)
                {
                    x ^= x << 13;
                    x ^= x >>> 7;
                    x ^= x << 17;
                    final long pageIndex = Long.remainderUnsigned(x, pageCount);
                    if (target.isPageReceived(pageIndex))
                    {
                        misses++;
                        continue;
                    }
                    misses = 0;
                    final long startNs = System.nanoTime();
                    if (kernelPath)
                    {
                        // The guest's access itself: blocks in the kernel until the page is installed.
                        memoryKernel.touchFromNative(targetGuest.memory().pageAddress(pageIndex));
                        if (!target.completion().isDone())
                        {
                            histogram.recordValue(Math.min(MAX_NS, System.nanoTime() - startNs));
                        }
                        continue;
                    }
                    try
                    {
                        if (target.awaitPage(pageIndex, TimeUnit.SECONDS.toNanos(5)) && !target.completion().isDone())
                        {
                            histogram.recordValue(Math.min(MAX_NS, System.nanoTime() - startNs));
                        }
                    }
                    catch (final io.pagestream.api.MigrationException ex)
                    {
                        return; // The idle case ends by closing the source: the rest of that guest is lost.
                    }
                }
            });

            sourceGuest.vcpus().start();
            Thread.sleep(200);
            final MigrationReport report;
            try (MigrationSource source = PageStream.launchSource(new MigrationSource.Context()
                .guestMemory(sourceGuest.memory())
                .dirtyPageLog(sourceGuest.dirtyLog())
                .vcpuControl(sourceGuest.vcpus())
                .deviceState(sourceGuest.deviceState())
                .targetEndpoint(targetEndpoint)
                .controlEndpoint(controlEndpoint)
                .secretKey(KEY)
                .mtuLength(32768)
                .compression(Compression.NONE)
                .strategy(MigrationStrategy.POSTCOPY)
                .postcopyBandwidthBytesPerSec(pushBytesPerSec)))
            {
                if (bulkIdle)
                {
                    // Sample for a fixed while; the capped push would take hours, so the run ends by closing the source.
                    target.readyToRun().get(120, TimeUnit.SECONDS);
                    Thread.sleep(3_000);
                    stop.set(true); // the faulting thread's last page arrives before the source goes
                    faulting.get(30, TimeUnit.SECONDS);
                    source.close();
                    report = null;
                }
                else
                {
                    report = source.completion().get(300, TimeUnit.SECONDS);
                }
            }
            faulting.get(30, TimeUnit.SECONDS);
            if (null != report && report.result() != MigrationResult.COMPLETED)
            {
                throw new IllegalStateException("migration failed: " + report);
            }
            System.out.printf(Locale.ROOT, "%s push cap %d run %d: %d faults so far%s%n",
                kernelPath ? "userfaultfd" : "software", pushBytesPerSec, seed, histogram.getTotalCount(),
                null == report ? "" : "; " + report);
            return null == report || report.postcopyMs() == 0 ? 0 :
                report.postcopyPages() * 4096.0 * 1000 / report.postcopyMs();
        }
    }

    private static String channel(final String endpoint)
    {
        return "aeron:udp?endpoint=" + endpoint + "|mtu=32768";
    }

    private static int freePort()
    {
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
