package io.pagestream;

import io.pagestream.api.Compression;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.kernel.UserFaultFd;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Post-copy through the kernel, for real over UDP: the target's guest threads read and write plain memory, block in
 * the kernel on pages not there yet, and PageStream's fault thread asks for them while pushed and faulted pages are
 * installed with UFFDIO_COPY (zero pages with UFFDIO_ZEROPAGE). Afterwards every write the target's guest made
 * survives and the rest equals the source's final memory, byte for byte; with deltas in the rounds before (none
 * after the switchover), over three lanes, and across a cut link.
 */
class KernelFaultPathSystemTest
{
    @BeforeEach
    void needsUserfaultfd()
    {
        assumeTrue(UserFaultFd.isAvailable(), "no userfaultfd for this process");
    }

    @Test
    @Timeout(90)
    void shouldCompletePostcopyExactlyWithGuestThreadsBlockingInTheKernel() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(PostCopySystemTest.busyGuest()))
        {
            final MigrationReport[] reports = PostCopySystemTest.migrateWithKernelFaults(harness,
                t -> t.postcopyEnabled(true), PostCopySystemTest.capped(MigrationStrategy.POSTCOPY));
            PostCopySystemTest.assertCompletedExactly(harness, reports, MigrationMode.POSTCOPY);
            assertEquals("userfaultfd", reports[1].faultPath(), reports[1].toString());
            assertTrue(reports[1].staleDiscardUs() > 0, "discarding the stale pages was timed: " + reports[1]);
        }
    }

    @Test
    @Timeout(90)
    void shouldSwitchToWholePagesAfterDeltasInTheRoundsBefore() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(PostCopySystemTest.busyGuest()))
        {
            final MigrationReport[] reports = PostCopySystemTest.migrateWithKernelFaults(harness,
                t -> t.postcopyEnabled(true), PostCopySystemTest.capped(MigrationStrategy.AUTO)
                    .andThen(s -> s.compression(Compression.AUTO)));
            PostCopySystemTest.assertCompletedExactly(harness, reports, reports[0].mode());
            assertTrue(reports[0].mode() != MigrationMode.PRECOPY, "post-copy happened: " + reports[0]);
        }
    }

    @Test
    @Timeout(90)
    void shouldInstallPagesArrivingOnThreeLanes() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(PostCopySystemTest.busyGuest()))
        {
            final MigrationReport[] reports = PostCopySystemTest.migrateWithKernelFaults(harness,
                t -> t.postcopyEnabled(true),
                PostCopySystemTest.capped(MigrationStrategy.POSTCOPY).andThen(s -> s.dataLanes(3)));
            PostCopySystemTest.assertCompletedExactly(harness, reports, MigrationMode.POSTCOPY);
        }
    }

    @Test
    @Timeout(90)
    void shouldKeepFaultingThreadsBlockedAcrossACutLinkAndFinishExactly() throws Exception
    {
        final PostCopySystemTest.ToggleLoss loss = new PostCopySystemTest.ToggleLoss();
        try (LossyDriver driver = new LossyDriver(loss, loss, loss);
            MigrationHarness harness = new MigrationHarness(PostCopySystemTest.busyGuest()))
        {
            final Thread cutter = new Thread(() -> PostCopySystemTest.cutLinkOnceInPostcopy(harness, loss, 1_500),
                "link-cutter");
            cutter.setDaemon(true);
            cutter.start();
            final MigrationReport[] reports = PostCopySystemTest.migrateWithKernelFaults(harness,
                t -> t.postcopyEnabled(true).peerTimeoutMs(400).recoveryTimeoutMs(20_000),
                PostCopySystemTest.capped(MigrationStrategy.POSTCOPY).andThen(s -> s.aeronDirectoryName(driver.directory)
                    .peerTimeoutMs(400).recoveryTimeoutMs(20_000)));
            cutter.join(5_000);
            assertTrue(loss.framesDropped > 0, "the link really was cut");
            PostCopySystemTest.assertCompletedExactly(harness, reports, MigrationMode.POSTCOPY);
            assertTrue(reports[1].recoveries() >= 1, reports[1].toString());
        }
    }

    @Test
    @Timeout(60)
    void shouldRefuseToLaunchOverFileBackedGuestMemory() throws Exception
    {
        final MemoryKernel kernel = MemoryKernel.create();
        final long sizeBytes = 8L << 20;
        final Path file = Files.createTempFile(Path.of("/dev/shm"), "pagestream-shared-", ".mem");
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(sizeBytes);
        }
        final int memfd = kernel.memfdCreate("pagestream-shared-guest", sizeBytes, false);
        final long memfdAddress = kernel.mapFile(memfd, 0, sizeBytes, true);
        try (MigrationHarness harness = new MigrationHarness(PostCopySystemTest.busyGuest());
            MappedGuestMemory shm = MappedGuestMemory.file(kernel, file, sizeBytes, 4096, true))
        {
            final GuestMemory overMemfd = GuestMemory.wrap(4096, new long[]{ memfdAddress }, new long[]{ sizeBytes });
            // Fresh ports each launch: a refused launch had bound its streams before the check.
            for (final GuestMemory shared : new GuestMemory[]{ shm, overMemfd })
            {
                final MigrationException refused = assertThrows(MigrationException.class, () -> harness.startTarget(
                    t -> t.guestMemory(shared).postcopyEnabled(true).kernelFaultPath(true)
                        .listenEndpoint("127.0.0.1:0").urgentEndpoint("127.0.0.1:0")));
                assertEquals(ErrorCode.MISSING_CAPABILITY, refused.errorCode(), refused.getMessage());
                assertTrue(refused.getMessage().contains("1 file-backed mapping(s)"), refused.getMessage());
            }

            // The same target over the harness's private anonymous memory launches.
            harness.startTarget(t -> t.postcopyEnabled(true).kernelFaultPath(true)
                .listenEndpoint("127.0.0.1:0").urgentEndpoint("127.0.0.1:0")).close();
        }
        finally
        {
            kernel.unmap(memfdAddress, sizeBytes);
            kernel.closeFd(memfd);
            Files.deleteIfExists(file);
        }
    }

    @Test
    @Timeout(90)
    void shouldKeepTheJvmRunningWhenSafepointsComeWhileGuestThreadsWaitForPages() throws Exception
    {
        // A Java thread blocked in the kernel on a missing page in Java state would hold up each of these full
        // collections' safepoints, and the fault thread with them, for good: before vCPUs touched pages natively
        // first, this hung the whole JVM (and a JUnit timeout cannot fire in a JVM that is stopped).
        final java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        final java.util.concurrent.atomic.AtomicLong collections = new java.util.concurrent.atomic.AtomicLong();
        final Thread collector = new Thread(() ->
        {
            while (!done.get())
            {
                System.gc();
                collections.incrementAndGet();
                java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
            }
        }, "safepoint-maker");
        collector.setDaemon(true);
        try (MigrationHarness harness = new MigrationHarness(PostCopySystemTest.busyGuest()))
        {
            collector.start();
            final MigrationReport[] reports = PostCopySystemTest.migrateWithKernelFaults(harness,
                t -> t.postcopyEnabled(true), PostCopySystemTest.capped(MigrationStrategy.POSTCOPY));
            done.set(true);
            collector.join(5_000);
            PostCopySystemTest.assertCompletedExactly(harness, reports, MigrationMode.POSTCOPY);
            assertTrue(reports[1].faults() > 0 && collections.get() > 100,
                "guest threads faulted (" + reports[1].faults() + ") while the JVM collected (" + collections.get() +
                    " times)");
        }
        finally
        {
            done.set(true);
        }
    }
}
