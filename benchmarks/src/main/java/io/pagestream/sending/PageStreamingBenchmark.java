package io.pagestream.sending;

import io.pagestream.pages.PageBitmap;
import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.logbuffer.BufferClaim;
import io.aeron.logbuffer.FragmentHandler;
import io.pagestream.api.Compression;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.receiving.PageApplier;
import io.pagestream.transport.BandwidthLimiter;
import io.pagestream.transport.FramePublisher;
import org.agrona.CloseHelper;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.BusySpinIdleStrategy;
import io.pagestream.bench.BenchmarkDefaults;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Streams 4 KiB pages from native memory through UDP loopback into native memory: PageStream's {@link PageSender}
 * and {@link PageApplier} (page frame header, CRC32C on both sides, validation, zero-copy claim) against a raw Aeron
 * {@code tryClaim} + copy baseline on the same channel, driver and memory, in the same run. One operation is one
 * page delivered into target memory. Quote the ratio pageStream / rawAeron.
 */
@OutputTimeUnit(TimeUnit.SECONDS)
public class PageStreamingBenchmark extends BenchmarkDefaults
{
    private static final int PAGES_PER_OP = 256;
    private static final int PAGE_SIZE = 4096;
    private static final int STREAM_ID = 1001;

    @Param({ "8192", "32768" })
    int mtu;

    private MediaDriver driver;
    private Aeron aeron;
    private ExclusivePublication publication;
    private Subscription subscription;
    private GuestMemory sourceMemory;
    private GuestMemory targetMemory;
    private PageSender sender;
    private PageApplier applier;
    private final BufferClaim claim = new BufferClaim();
    private int received;

    private final FragmentHandler rawHandler = (buffer, offset, length, header) ->
    {
        final long pageIndex = buffer.getLong(offset, java.nio.ByteOrder.LITTLE_ENDIAN);
        UnsafeApi.copyMemory(buffer.addressOffset() + offset + 8,
            targetMemory.pageAddress(pageIndex), PAGE_SIZE);
        received++;
    };

    private final FrameFlyweight header = new FrameFlyweight();

    private final FragmentHandler pageStreamHandler = (buffer, offset, length, hdr) ->
    {
        header.wrapForRead(buffer, offset);
        header.validateHeader(length);
        if (applier.apply(buffer, offset, length, 0) >= 0)
        {
            received++;
        }
    };

    /**
     * Launch a driver, connect the stream, fill the source pages.
     *
     * @throws Exception if the channel cannot be set up.
     */
    @Setup(Level.Trial)
    public void setup() throws Exception
    {
        final String dir = io.aeron.CommonContext.getAeronDirectoryName() + "-bench-" + UUID.randomUUID();
        driver = MediaDriver.launch(new MediaDriver.Context()
            .aeronDirectoryName(dir)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .threadingMode(ThreadingMode.SHARED)
            .sharedIdleStrategy(new BusySpinIdleStrategy())
            .termBufferSparseFile(true));
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(dir));

        final int port;
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            port = socket.getLocalPort();
        }
        final String endpoint = "127.0.0.1:" + port;
        subscription = aeron.addSubscription(new ChannelUriStringBuilder().media("udp").endpoint(endpoint)
            .socketRcvbufLength(2 << 20).receiverWindowLength(2 << 20).build(), STREAM_ID);
        publication = aeron.addExclusivePublication(new ChannelUriStringBuilder().media("udp").endpoint(endpoint)
            .mtu(mtu).termLength(16 << 20).socketSndbufLength(2 << 20).build(), STREAM_ID);
        while (!publication.isConnected())
        {
            Thread.sleep(1);
        }

        sourceMemory = GuestMemory.allocate((long)PAGES_PER_OP * PAGE_SIZE, PAGE_SIZE);
        targetMemory = GuestMemory.allocate((long)PAGES_PER_OP * PAGE_SIZE, PAGE_SIZE);
        long x = 0x9E3779B97F4A7C15L;
        for (long a = 0; a < sourceMemory.sizeBytes(); a += 8)
        {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            UnsafeApi.putLong(sourceMemory.regionAddress(0) + a, x);
        }
        final FramePublisher frames = new FramePublisher(publication, null, null);
        sender = new PageSender(frames, sourceMemory, 1L, new BandwidthLimiter(0, mtu, System.nanoTime()),
            PageSender.Pacing.WAIT_FOR_CAP, null, new EncodingChooser(Compression.NONE, PAGE_SIZE, 0, System.nanoTime()),
            org.agrona.concurrent.SystemNanoClock.INSTANCE);
        applier = new PageApplier(targetMemory, new PageBitmap(PAGES_PER_OP));
    }

    /** Close everything. */
    @TearDown(Level.Trial)
    public void tearDown()
    {
        CloseHelper.closeAll(sourceMemory, targetMemory, publication, subscription, aeron, driver);
    }

    /**
     * Baseline: claim a frame of page index + page, copy the page in, commit; receiver copies it out.
     *
     * @return pages received, to keep the work alive.
     */
    @Benchmark
    @OperationsPerInvocation(PAGES_PER_OP)
    public int rawAeron()
    {
        received = 0;
        for (int i = 0; i < PAGES_PER_OP; i++)
        {
            while (publication.tryClaim(8 + PAGE_SIZE, claim) <= 0)
            {
                subscription.poll(rawHandler, 64);
            }
            claim.buffer().putLong(claim.offset(), i, java.nio.ByteOrder.LITTLE_ENDIAN);
            UnsafeApi.copyMemory(sourceMemory.pageAddress(i),
                claim.buffer().addressOffset() + claim.offset() + 8, PAGE_SIZE);
            claim.commit();
        }
        while (received < PAGES_PER_OP)
        {
            subscription.poll(rawHandler, 64);
        }
        return received;
    }

    /**
     * PageStream: the source's page sender and the target's applier, frame header, checksums and validation.
     *
     * @return pages received, to keep the work alive.
     */
    @Benchmark
    @OperationsPerInvocation(PAGES_PER_OP)
    public int pageStream()
    {
        received = 0;
        for (int i = 0; i < PAGES_PER_OP; i++)
        {
            while (!sender.send(i, 0, System.nanoTime()))
            {
                subscription.poll(pageStreamHandler, 64);
            }
        }
        while (received < PAGES_PER_OP)
        {
            subscription.poll(pageStreamHandler, 64);
        }
        return received;
    }
}
