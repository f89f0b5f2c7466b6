package io.pagestream.snapshot;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.VcpuControl;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticDeviceState;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import io.pagestream.testing.FreezingVcpus;
import org.agrona.UnsafeApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Live snapshots of a running synthetic guest (real vCPU threads writing, the kernel's dirty log where it has one)
 * into files on /dev/shm, restored, mapped and merged, compared byte for byte with copies of the guest's memory taken
 * while it was paused for each snapshot's last pass.
 */
@Timeout(120)
class SnapshotSystemTest
{
    private static final MemoryKernel KERNEL = MemoryKernel.create();
    private Path dir;

    @BeforeEach
    void createDir() throws IOException
    {
        final Path shm = Path.of("/dev/shm");
        dir = Files.isDirectory(shm) ? Files.createTempDirectory(shm, "snapshots") :
            Files.createTempDirectory("snapshots");
    }

    @AfterEach
    void deleteDir() throws IOException
    {
        try (Stream<Path> files = Files.walk(dir))
        {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void shouldSnapshotARunningGuestRestoreItExactlyAndKeepItRunning()
    {
        try (SyntheticGuest guest = hotsetGuest(64L << 20);
            FreezingVcpus vcpus = new FreezingVcpus(guest);
            GuestSnapshots snapshots = GuestSnapshots.open(context(guest, vcpus)))
        {
            guest.vcpus().start();
            sleep(100);
            final SnapshotReport full = snapshots.full(dir.resolve("full.snap"));
            assertTrue(full.isFull());
            assertEquals(guest.memory().pageCount(), full.pagesDefined());
            assertTrue(full.rounds() >= 2, full.toString());
            assertTrue(full.dataPages() > 0 && full.dataPages() < full.pagesDefined(), full.toString());

            final long written = guest.vcpus().pagesWritten();
            sleep(100);
            assertFalse(guest.vcpus().isPaused());
            assertTrue(guest.vcpus().pagesWritten() > written, "the guest runs on after its snapshot");

            try (GuestMemory restored = fresh(guest))
            {
                final SyntheticDeviceState device = SyntheticDeviceState.target();
                final RestoreReport report = Snapshots.restore(full.file(), restored, device, true);
                assertEquals(1, report.layers());
                assertEquals(full.dataPages(), report.dataPages());
                assertEquals(-1, MemoryDigest.firstDifference(vcpus.frozen(), restored));
                assertEquals(guest.deviceState().checksum(), device.checksum());
            }
        }
    }

    @Test
    void shouldWriteOnlyWhatChangedInAnIncrementalSnapshotAndRestoreTheChain()
    {
        try (SyntheticGuest guest = hotsetGuest(64L << 20);
            FreezingVcpus vcpus = new FreezingVcpus(guest);
            GuestSnapshots snapshots = GuestSnapshots.open(context(guest, vcpus)))
        {
            guest.vcpus().start();
            final SnapshotReport full = snapshots.full(dir.resolve("base.snap"));
            final GuestMemory atBase = vcpus.takeFrozen();
            sleep(200);
            // Besides the vCPUs' writes: a data page put back to zero, a page never populated written, a write of
            // the value a page already holds (a log that compared contents would miss nothing here, one that
            // missed writes would miss the first two).
            guest.vcpus().pause();
            final long zeroed = firstDataPage(guest.memory(), atBase);
            UnsafeApi.setMemory(guest.memory().pageAddress(zeroed), guest.memory().pageSize(), (byte)0);
            final long populated = firstZeroPage(guest.memory());
            UnsafeApi.putLong(guest.memory().pageAddress(populated) + 8, 0x5EED5EED5EEDL);
            guest.vcpus().resume();
            sleep(100);

            final SnapshotReport inc = snapshots.incremental(dir.resolve("inc.snap"));
            final GuestMemory atInc = vcpus.takeFrozen();
            try (atBase; atInc)
            {
                assertEquals(full.snapshotId(), inc.parentId());
                final long pages = guest.memory().pageCount();
                assertTrue(inc.pagesDefined() < pages / 4, "an incremental holds only dirtied pages: " + inc);
                final SnapshotInfo info = Snapshots.info(inc.file());
                assertEquals("base.snap", info.parentPath());
                // Exact: every page that differs between the two pauses is defined by the incremental file.
                try (SnapshotLayer layer = SnapshotLayer.open(inc.file()))
                {
                    long differing = 0;
                    for (long p = 0; p < pages; p++)
                    {
                        if (!samePage(atBase, atInc, p))
                        {
                            differing++;
                            assertTrue(layer.defines(p), "page " + p + " changed but is not in the incremental");
                        }
                    }
                    assertTrue(layer.defines(zeroed) && !layer.holdsData(zeroed), "the zeroed page is a zero page");
                    assertTrue(layer.holdsData(populated));
                    assertTrue(differing > 10, "the guest wrote between the snapshots: " + differing);
                }

                try (GuestMemory restored = fresh(guest))
                {
                    final RestoreReport report = Snapshots.restore(inc.file(), restored, null, true);
                    assertEquals(2, report.layers());
                    assertEquals(-1, MemoryDigest.firstDifference(atInc, restored));
                }
                // On top of the parent already restored: the incremental alone brings it to the second pause.
                try (GuestMemory restored = fresh(guest))
                {
                    Snapshots.restore(full.file(), restored, null, true);
                    assertEquals(-1, MemoryDigest.firstDifference(atBase, restored));
                    Snapshots.restore(inc.file(), restored, null, false);
                    assertEquals(-1, MemoryDigest.firstDifference(atInc, restored));
                }
                // Mapped: the base mapped privately, the incremental's pages copied in.
                try (MappedSnapshot mapped = Snapshots.map(inc.file()))
                {
                    assertEquals(-1, MemoryDigest.firstDifference(atInc, mapped.memory()));
                    assertEquals(pages, mapped.verifyPages());
                }
                // Merged: one full file, the incremental's id, the same memory.
                final SnapshotInfo merged = Snapshots.merge(inc.file(), dir.resolve("merged.snap"));
                assertTrue(merged.isFull());
                assertEquals(inc.snapshotId(), merged.snapshotId());
                assertEquals(pages, merged.definedPages());
                try (GuestMemory restored = fresh(guest))
                {
                    assertEquals(1, Snapshots.restore(merged.file(), restored, null, true).layers());
                    assertEquals(-1, MemoryDigest.firstDifference(atInc, restored));
                }
            }
        }
    }

    @Test
    void shouldMapAOneGibibyteSnapshotInUnder100MsAndReadEveryPageBack()
    {
        try (SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config().sizeBytes(1L << 30)
            .workload(Workload.HOTSET).fillFraction(0.6).dirtyRatePagesPerSec(20_000));
            FreezingVcpus vcpus = new FreezingVcpus(guest);
            GuestSnapshots snapshots = GuestSnapshots.open(context(guest, vcpus)))
        {
            guest.vcpus().start();
            final SnapshotReport full = snapshots.full(dir.resolve("1g.snap"));
            try (GuestMemory frozen = vcpus.takeFrozen())
            {
                long best = Long.MAX_VALUE;
                for (int attempt = 0; attempt < 3; attempt++)
                {
                    final long startNs = System.nanoTime();
                    try (MappedSnapshot mapped = Snapshots.map(full.file()))
                    {
                        final long usableNs = System.nanoTime() - startNs;
                        best = Math.min(best, usableNs);
                        assertEquals(-1, MemoryDigest.firstDifference(frozen, mapped.memory()));
                    }
                }
                System.out.printf("1 GiB snapshot (%d data pages, %d rounds, downtime %d ms with this test's copy " +
                    "of the memory, %d ms in all): " +
                    "mapped and usable in %.1f ms (best of 3)%n", full.dataPages(), full.rounds(), full.downtimeMs(),
                    full.totalTimeMs(), best / 1e6);
                assertTrue(best < 100_000_000L, "mapped restore took " + best / 1e6 + " ms");
            }
        }
    }

    @Test
    void shouldRefuseTruncatedCorruptAndMismatchedFilesNamingWhatIsWrong() throws IOException
    {
        try (SyntheticGuest guest = hotsetGuest(16L << 20);
            FreezingVcpus vcpus = new FreezingVcpus(guest);
            GuestSnapshots snapshots = GuestSnapshots.open(context(guest, vcpus)))
        {
            guest.vcpus().start();
            final SnapshotReport full = snapshots.full(dir.resolve("a.snap"));
            assertThrows(IllegalArgumentException.class, () -> snapshots.incremental(dir.resolve("./a.snap")));
            final SnapshotReport inc = snapshots.incremental(dir.resolve("b.snap"));
            vcpus.takeFrozen().close();
            final long size = Files.size(full.file());

            final Path truncated = copy(full.file(), "truncated.snap");
            resize(truncated, size - 1);
            assertRefused(truncated, ErrorCode.SNAPSHOT_INVALID, "has no completion footer");
            resize(truncated, size + 4096);
            assertRefused(truncated, ErrorCode.SNAPSHOT_INVALID, "has no completion footer");
            resize(truncated, size / 2);
            assertRefused(truncated, ErrorCode.SNAPSHOT_INVALID, "incomplete");
            resize(truncated, 100);
            assertRefused(truncated, ErrorCode.SNAPSHOT_INVALID, "too short to hold its completion footer");

            final SnapshotInfo info = Snapshots.info(full.file());
            final long page = firstDataPageOf(full.file());
            final Path flipped = copy(full.file(), "flipped.snap");
            SnapshotProperties.flip(flipped, SnapshotFormat.dataOffset(info.pageSize()) + page * info.pageSize() + 123,
                0x40);
            assertRefused(flipped, ErrorCode.CHECKSUM_MISMATCH, "page " + page + " (file offset");

            final Path badMeta = copy(full.file(), "meta.snap");
            SnapshotProperties.flip(badMeta, size - SnapshotFormat.FOOTER_BYTES - 3, 0x40);
            assertRefused(badMeta, ErrorCode.SNAPSHOT_INVALID, "fail their checksum");

            final Path badHeader = copy(full.file(), "header.snap");
            SnapshotProperties.flip(badHeader, 17, 0x40);
            assertRefused(badHeader, ErrorCode.SNAPSHOT_INVALID, "header fails its checksum");

            // A chain whose parent is gone, or replaced by another snapshot.
            final Path lonely = Files.createDirectory(dir.resolve("lonely"));
            final Path orphan = copy(inc.file(), "lonely/b.snap");
            assertRefused(orphan, ErrorCode.SNAPSHOT_INVALID, "needs its parent");
            try (SyntheticGuest otherGuest = hotsetGuest(16L << 20);
                FreezingVcpus otherVcpus = new FreezingVcpus(otherGuest);
                GuestSnapshots other = GuestSnapshots.open(context(otherGuest, otherVcpus)))
            {
                other.full(lonely.resolve("a.snap"));
            }
            assertRefused(orphan, ErrorCode.SNAPSHOT_INVALID, "not " + full.snapshotId());

            try (GuestMemory wrong = MappedGuestMemory.anonymous(KERNEL, 8L << 20, 4096, false))
            {
                final MigrationException ex = assertThrows(MigrationException.class,
                    () -> Snapshots.restore(full.file(), wrong, null, true));
                assertEquals(ErrorCode.LAYOUT_MISMATCH, ex.errorCode(), ex.getMessage());
            }
            assertThrows(IllegalArgumentException.class, () -> Snapshots.merge(inc.file(), full.file()));
        }
    }

    @Test
    void shouldLeaveNoFileWhenThePolicyGivesUp()
    {
        try (SyntheticGuest guest = hotsetGuest(16L << 20);
            FreezingVcpus vcpus = new FreezingVcpus(guest);
            GuestSnapshots snapshots = GuestSnapshots.open(context(guest, vcpus)
                .policy(figures -> io.pagestream.api.policy.MigrationDecision.abort("test gives up"))))
        {
            guest.vcpus().start();
            final Path file = dir.resolve("never.snap");
            final MigrationException ex = assertThrows(MigrationException.class, () -> snapshots.full(file));
            assertEquals(ErrorCode.NOT_CONVERGED, ex.errorCode());
            assertTrue(ex.getMessage().contains("test gives up"), ex.getMessage());
            assertFalse(Files.exists(file));
            assertFalse(guest.vcpus().isPaused());
            assertNull(snapshots.lastSnapshot());
            assertThrows(IllegalStateException.class, () -> snapshots.incremental(dir.resolve("inc.snap")));
        }
    }

    @Test
    void shouldSnapshotAndRestoreAGuestOfTwoMebibytePages()
    {
        final long size = 64L << 20;
        final long wanted = 3 * size / MappedGuestMemory.HUGE_PAGE_BYTES; // the guest, its copy, the restore
        final long totalBefore = Math.max(0, io.pagestream.kernel.HugePages.total());
        assumeTrue(io.pagestream.kernel.HugePages.ensureFree(wanted),
            "could not reserve " + wanted + " 2 MiB huge pages (needs root)");
        final long added = Math.max(0, io.pagestream.kernel.HugePages.total() - totalBefore);
        try (SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config().sizeBytes(size)
            .pageSize(MappedGuestMemory.HUGE_PAGE_BYTES).workload(Workload.HOTSET).fillFraction(0.6)
            .dirtyRatePagesPerSec(200));
            FreezingVcpus vcpus = new FreezingVcpus(guest);
            GuestSnapshots snapshots = GuestSnapshots.open(context(guest, vcpus)))
        {
            guest.vcpus().start();
            sleep(100);
            final SnapshotReport full = snapshots.full(dir.resolve("huge.snap"));
            final SnapshotInfo info = Snapshots.info(full.file());
            assertEquals(MappedGuestMemory.HUGE_PAGE_BYTES, info.pageSize());
            assertEquals(32, info.pageCount());
            try (GuestMemory restored = MappedGuestMemory.anonymous(KERNEL, size, MappedGuestMemory.HUGE_PAGE_BYTES,
                false))
            {
                Snapshots.restore(full.file(), restored, null, true);
                assertEquals(-1, MemoryDigest.firstDifference(vcpus.frozen(), restored));
            }
            try (MappedSnapshot mapped = Snapshots.map(full.file()))
            {
                assertEquals(-1, MemoryDigest.firstDifference(vcpus.frozen(), mapped.memory()));
            }
        }
        finally
        {
            io.pagestream.kernel.HugePages.release(added);
        }
    }

    @Test
    void shouldKeepWhatAFailedIncrementalFetchedForTheNextOne()
    {
        final long pages = 256;
        try (GuestMemory memory = MappedGuestMemory.anonymous(KERNEL, pages * 4096, 4096, false))
        {
            final io.pagestream.synthetic.SoftwareDirtyLog log = new io.pagestream.synthetic.SoftwareDirtyLog(pages);
            final boolean[] giveUp = new boolean[1];
            final io.pagestream.api.policy.MigrationPolicy lenient =
                io.pagestream.api.policy.MigrationPolicy.downtimeTarget(300, 30, 60_000);
            try (GuestSnapshots snapshots = GuestSnapshots.open(new GuestSnapshots.Context().guestMemory(memory)
                .dirtyPageLog(log).vcpuControl(new SnapshotProperties.IdleVcpus()).policy(figures -> giveUp[0] ?
                    io.pagestream.api.policy.MigrationDecision.abort("told to") : lenient.onRoundComplete(figures))))
            {
                snapshots.full(dir.resolve("full.snap"));
                write(memory, log, 7);
                giveUp[0] = true;
                assertThrows(MigrationException.class, () -> snapshots.incremental(dir.resolve("failed.snap")));
                giveUp[0] = false;
                write(memory, log, 9);
                final SnapshotReport inc = snapshots.incremental(dir.resolve("inc.snap"));
                assertEquals(2, inc.pagesDefined(), inc.toString());
                try (SnapshotLayer layer = SnapshotLayer.open(inc.file()))
                {
                    assertTrue(layer.holdsData(7) && layer.holdsData(9), "page 7, fetched by the failed one, too");
                }
                assertEquals("full.snap", Snapshots.info(inc.file()).parentPath());
            }
        }
    }

    private static void write(final GuestMemory memory, final io.pagestream.synthetic.SoftwareDirtyLog log,
        final long page)
    {
        UnsafeApi.putLong(memory.pageAddress(page) + 64, 0xC0FFEE + page);
        log.markDirty(page);
    }

    private static void assertRefused(final Path file, final ErrorCode code, final String text)
    {
        try (GuestMemory memory = MappedGuestMemory.anonymous(KERNEL, 16L << 20, 4096, false))
        {
            final MigrationException ex = assertThrows(MigrationException.class,
                () -> Snapshots.restore(file, memory, null, true));
            assertEquals(code, ex.errorCode(), ex.getMessage());
            assertTrue(ex.getMessage().contains(text), ex.getMessage());
            assertTrue(ex.getMessage().contains(file.getFileName().toString()), ex.getMessage());
        }
    }

    private static SyntheticGuest hotsetGuest(final long size)
    {
        return SyntheticGuest.create(new SyntheticGuest.Config().sizeBytes(size).workload(Workload.HOTSET)
            .fillFraction(0.6).dirtyRatePagesPerSec(20_000).deviceStateBytes(64 * 1024));
    }

    private static GuestSnapshots.Context context(final SyntheticGuest guest, final VcpuControl vcpus)
    {
        return new GuestSnapshots.Context().guestMemory(guest.memory()).dirtyPageLog(guest.dirtyLog())
            .vcpuControl(vcpus).deviceState(guest.deviceState()).downtimeTargetMs(20);
    }

    private static GuestMemory fresh(final SyntheticGuest guest)
    {
        return MappedGuestMemory.anonymous(KERNEL, guest.memory().sizeBytes(), guest.memory().pageSize(), false);
    }

    private static boolean samePage(final GuestMemory a, final GuestMemory b, final long page)
    {
        final int size = a.pageSize();
        final long pa = a.pageAddress(page);
        final long pb = b.pageAddress(page);
        for (int i = 0; i < size; i += 8)
        {
            if (UnsafeApi.getLong(pa + i) != UnsafeApi.getLong(pb + i))
            {
                return false;
            }
        }
        return true;
    }

    private static long firstDataPage(final GuestMemory memory, final GuestMemory copy)
    {
        for (long p = memory.pageCount() - 1; p >= 0; p--)
        {
            if (UnsafeApi.getLong(copy.pageAddress(p) + 64) != 0)
            {
                return p;
            }
        }
        throw new AssertionError("no data page");
    }

    private static long firstZeroPage(final GuestMemory memory)
    {
        final long[] populated = new long[(int)((memory.pageCount() + 63) >>> 6)];
        KERNEL.presentPages(memory.regionAddress(0), memory.regionLengthBytes(0), memory.pageSize(), populated);
        for (long p = memory.pageCount() - 1; p >= 0; p--)
        {
            if ((populated[(int)(p >>> 6)] & (1L << p)) == 0)
            {
                return p;
            }
        }
        throw new AssertionError("no unpopulated page");
    }

    private static long firstDataPageOf(final Path file)
    {
        try (SnapshotLayer layer = SnapshotLayer.open(file))
        {
            for (long p = 0; p < layer.header.pageCount(); p++)
            {
                if (layer.holdsData(p))
                {
                    return p;
                }
            }
        }
        throw new AssertionError("no data page in " + file);
    }

    private Path copy(final Path file, final String name) throws IOException
    {
        return Files.copy(file, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }

    private static void resize(final Path file, final long length) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(length);
        }
    }

    private static void sleep(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new AssertionError(ex);
        }
    }
}
