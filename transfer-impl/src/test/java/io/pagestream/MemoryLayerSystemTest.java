package io.pagestream;

import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.HugePages;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Linux memory layer end to end, over real UDP: a sparse guest moves without the source reading (and so
 * committing) what the guest never wrote, and the target commits memory for data pages only, in batches; a target
 * mapping an existing file full of 0xFF bytes ends identical to the source (stale bytes cleared where the source has
 * zeros); a guest of 2 MiB hugetlb pages migrates exactly.
 */
class MemoryLayerSystemTest
{
    private static final MemoryKernel KERNEL = MemoryKernel.create();

    private static boolean linux()
    {
        return KERNEL.stats().describe().startsWith("linux");
    }

    private static long populated(final GuestMemory memory)
    {
        final long[] bitmap = new long[(int)((memory.pageCount() + 63) / 64)];
        long count = 0;
        for (int r = 0; r < memory.regionCount(); r++)
        {
            count += KERNEL.populatedPages(memory.regionAddress(r), memory.regionLengthBytes(r), memory.pageSize(),
                bitmap);
        }
        return count;
    }

    @Test
    @Timeout(120)
    void shouldMoveASparseGuestWithoutReadingWhatItNeverWroteAndCommitOnlyDataOnTheTarget() throws Exception
    {
        assumeTrue(linux(), "needs the Linux kernel calls");
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(512L << 20).workload(Workload.IDLE).dirtyRatePagesPerSec(0).fillFraction(0.02).seed(5);
        try (MigrationHarness harness = new MigrationHarness(config))
        {
            final long sourcePopulated = populated(harness.sourceGuest.memory());
            final long pageCount = harness.sourceGuest.memory().pageCount();
            assertTrue(sourcePopulated < pageCount / 20, "the synthetic guest left what it never wrote unpopulated: " +
                sourcePopulated);
            assertEquals(0, populated(harness.targetGuest.memory()), "a fresh target");

            final MigrationReport[] reports = harness.migrate(t -> { }, s -> { }, 60);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());

            assertEquals(pageCount - sourcePopulated, reports[0].unreadZeroPages(), reports[0].toString());
            assertEquals(sourcePopulated, populated(harness.sourceGuest.memory()), "the source committed nothing");
            final long dataPages = reports[1].rawPages() + reports[1].lz4Pages() + reports[1].deltaPages();
            assertEquals(dataPages, populated(harness.targetGuest.memory()),
                "the target committed exactly the data pages");
            assertTrue(reports[1].pagesCommittedAhead() > 0 && reports[1].pagesCommittedAhead() <= dataPages,
                reports[1].toString());
            assertTrue(reports[0].memoryPaths().contains("PAGEMAP_SCAN") ||
                reports[0].memoryPaths().contains("pagemap"), reports[0].memoryPaths());
            assertEquals(MemoryDigest.digest(harness.sourceGuest.memory()),
                MemoryDigest.digest(harness.targetGuest.memory()));
            assertTrue(harness.errors.isEmpty(), harness.errors.toString());
        }
    }

    @Test
    @Timeout(120)
    void shouldClearStaleBytesOfAnExistingTargetFileWhereTheSourceHasZeros() throws Exception
    {
        assumeTrue(linux(), "needs the Linux kernel calls");
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(64L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(2_000).fillFraction(0.5).seed(9);
        final Path file = Files.createTempFile(Path.of("/dev/shm"), "pagestream-stale-", ".mem");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            final byte[] ones = new byte[1 << 20];
            java.util.Arrays.fill(ones, (byte)0xFF);
            for (long done = 0; done < config.sizeBytes(); done += ones.length)
            {
                raf.write(ones);
            }
        }
        try (MigrationHarness harness = new MigrationHarness(config);
            MappedGuestMemory stale = MappedGuestMemory.file(KERNEL, file, config.sizeBytes(), 4096, true))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> t.guestMemory(stale), s -> { }, 60);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), stale),
                "every zero page of the source is zero in the file");
        }
        finally
        {
            Files.deleteIfExists(file);
        }
    }

    @Test
    @Timeout(120)
    void shouldMigrateAGuestOfHugeTlbPagesExactly() throws Exception
    {
        assumeTrue(linux(), "needs the Linux kernel calls");
        final long size = 64L << 20;
        final long wanted = 2 * size / MappedGuestMemory.HUGE_PAGE_BYTES;
        final long totalBefore = Math.max(0, HugePages.total());
        assumeTrue(HugePages.ensureFree(wanted), "could not reserve " + wanted + " 2 MiB huge pages (needs root)");
        final long added = Math.max(0, HugePages.total() - totalBefore);
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(size).pageSize(MappedGuestMemory.HUGE_PAGE_BYTES).workload(Workload.HOTSET)
            .dirtyRatePagesPerSec(20).fillFraction(0.5).seed(11);
        try (MigrationHarness harness = new MigrationHarness(config))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { }, s -> { }, 60);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(MappedGuestMemory.HUGE_PAGE_BYTES, reports[1].pageSize());
            assertEquals(-1, MemoryDigest.firstDifference(harness.sourceGuest.memory(), harness.targetGuest.memory()));
            assertEquals(harness.sourceGuest.deviceState().checksum(), harness.targetGuest.deviceState().checksum());
        }
        finally
        {
            HugePages.release(added);
        }
    }
}
