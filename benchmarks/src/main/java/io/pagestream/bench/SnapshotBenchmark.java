package io.pagestream.bench;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.snapshot.GuestSnapshots;
import io.pagestream.snapshot.MappedSnapshot;
import io.pagestream.snapshot.RestoreReport;
import io.pagestream.snapshot.SnapshotReport;
import io.pagestream.snapshot.Snapshots;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;

/**
 * Snapshot and restore of a running synthetic guest (hotset workload, 60% of pages written, its vCPU writing
 * 20,000 pages/s) to a file on /dev/shm, each beside a plain baseline in the same run, with fresh guests and fresh
 * mappings every run, alternating within each pair:
 * <ul>
 * <li>snapshot: {@link GuestSnapshots#full} (live: pre-copy rounds, then a short pause) vs a stop-the-world dump
 * (pause the guest, write every page that holds data, by the kernel's populated-page map, at its offset, resume):
 * total time and the guest's pause;</li>
 * <li>restore: {@link Snapshots#restore} into a fresh mapping (every data page read, checked against its checksum,
 * copied into memory populated in batches) vs reading the whole page area of the file into a fresh mapping (no
 * checks; holes read as zeros); and {@link Snapshots#map}, the time until the memory can be used.</li>
 * </ul>
 * <pre>
 * java [flags] -cp benchmarks/target/benchmarks.jar io.pagestream.bench.SnapshotBenchmark [pairs] [sizeMiB]
 * </pre>
 */
public final class SnapshotBenchmark
{
    private static final MemoryKernel KERNEL = MemoryKernel.create();
    private static final int CHUNK = 1 << 20;

    private SnapshotBenchmark()
    {
    }

    /**
     * @param args {@code [pairs [sizeMiB]]}.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final int pairs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        final long size = (args.length > 1 ? Long.parseLong(args[1]) : 1024) << 20;
        final Path dir = Files.createTempDirectory(Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") :
            Path.of(System.getProperty("java.io.tmpdir")), "snapbench");
        final Path live = dir.resolve("live.snap");
        final Path dump = dir.resolve("dump.img");
        final double[] liveTotal = new double[pairs];
        final double[] livePause = new double[pairs];
        final double[] dumpTotal = new double[pairs];
        final double[] restore = new double[pairs];
        final double[] plainRead = new double[pairs];
        final double[] mapped = new double[pairs];
        System.out.printf(Locale.ROOT, "snapshot of a running %d MiB hotset guest (60%% data pages, 20000 pages/s " +
            "written), %d pairs, files in %s%n", size >> 20, pairs, dir);
        try
        {
            for (int i = 0; i < pairs; i++)
            {
                final boolean liveFirst = (i & 1) == 0;
                for (int k = 0; k < 2; k++)
                {
                    if (liveFirst == (k == 0))
                    {
                        final SnapshotReport r = liveSnapshot(size, live);
                        liveTotal[i] = r.totalTimeMs();
                        livePause[i] = r.downtimeMs();
                    }
                    else
                    {
                        dumpTotal[i] = stopTheWorldDump(size, dump);
                    }
                }
                for (int k = 0; k < 2; k++)
                {
                    if (liveFirst == (k == 0))
                    {
                        restore[i] = restore(live, size);
                    }
                    else
                    {
                        plainRead[i] = plainRead(dump, size);
                    }
                }
                mapped[i] = mapped(live);
                System.out.printf(Locale.ROOT, "pair %d: snapshot %.0f ms (guest paused %.0f ms) vs stop-the-world " +
                    "dump %.0f ms (all of it paused); restore %.0f ms vs plain read %.0f ms; mapped, usable in " +
                    "%.1f ms%n", i + 1, liveTotal[i], livePause[i], dumpTotal[i], restore[i], plainRead[i], mapped[i]);
            }
            System.out.printf(Locale.ROOT, "median: snapshot %.0f ms, paused %.0f ms; dump %.0f ms paused: pause " +
                "ratio %.3f, total-time ratio %.2f; restore %.0f ms vs plain read %.0f ms: ratio %.2f; mapped " +
                "%.1f ms: ratio to the plain read %.3f%n", median(liveTotal), median(livePause), median(dumpTotal),
                median(ratios(livePause, dumpTotal)), median(ratios(liveTotal, dumpTotal)), median(restore),
                median(plainRead), median(ratios(restore, plainRead)), median(mapped),
                median(ratios(mapped, plainRead)));
        }
        finally
        {
            Files.deleteIfExists(live);
            Files.deleteIfExists(dump);
            Files.deleteIfExists(dir);
        }
    }

    private static SyntheticGuest guest(final long size)
    {
        return SyntheticGuest.create(new SyntheticGuest.Config().sizeBytes(size).workload(Workload.HOTSET)
            .fillFraction(0.6).dirtyRatePagesPerSec(20_000));
    }

    private static SnapshotReport liveSnapshot(final long size, final Path file) throws InterruptedException
    {
        try (SyntheticGuest guest = guest(size);
            GuestSnapshots snapshots = GuestSnapshots.open(new GuestSnapshots.Context().guestMemory(guest.memory())
                .dirtyPageLog(guest.dirtyLog()).vcpuControl(guest.vcpus()).deviceState(guest.deviceState())))
        {
            guest.vcpus().start();
            Thread.sleep(200);
            return snapshots.full(file);
        }
    }

    /** Pause, write every page holding data (by the populated-page map) at its offset, resume: all of it paused. */
    private static double stopTheWorldDump(final long size, final Path file) throws Exception
    {
        try (SyntheticGuest guest = guest(size);
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING))
        {
            guest.vcpus().start();
            Thread.sleep(200);
            final GuestMemory memory = guest.memory();
            final long startNs = System.nanoTime();
            guest.vcpus().pause();
            final int pageSize = memory.pageSize();
            long regionOffset = 0;
            for (int r = 0; r < memory.regionCount(); r++)
            {
                final long base = memory.regionAddress(r);
                final long length = memory.regionLengthBytes(r);
                final long[] populated = new long[(int)((length / pageSize + 63) >>> 6)];
                KERNEL.populatedPages(base, length, pageSize, populated);
                long run = -1;
                for (long p = 0; p <= length / pageSize; p++)
                {
                    final boolean data = p < length / pageSize && (populated[(int)(p >>> 6)] & (1L << p)) != 0;
                    if (data && run < 0)
                    {
                        run = p;
                    }
                    else if ((!data || (p - run) * pageSize == CHUNK) && run >= 0)
                    {
                        write(channel, base + run * pageSize, (p - run) * pageSize, regionOffset + run * pageSize);
                        run = data ? p : -1;
                    }
                }
                regionOffset += length;
            }
            channel.force(false);
            guest.vcpus().resume();
            return (System.nanoTime() - startNs) / 1e6;
        }
    }

    private static double restore(final Path file, final long size)
    {
        try (GuestMemory memory = MappedGuestMemory.anonymous(KERNEL, size, 4096, false))
        {
            final long startNs = System.nanoTime();
            final RestoreReport report = Snapshots.restore(file, memory, null, true);
            final double ms = (System.nanoTime() - startNs) / 1e6;
            if (report.dataPages() == 0)
            {
                throw new IllegalStateException("nothing restored");
            }
            return ms;
        }
    }

    /** Read the whole image into a fresh mapping, 1 MiB at a time: no checks, holes read as zeros. */
    private static double plainRead(final Path file, final long size) throws Exception
    {
        try (GuestMemory memory = MappedGuestMemory.anonymous(KERNEL, size, 4096, false);
            FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            final long startNs = System.nanoTime();
            long at = 0;
            for (int r = 0; r < memory.regionCount(); r++)
            {
                final long base = memory.regionAddress(r);
                final long length = memory.regionLengthBytes(r);
                for (long done = 0; done < length; done += CHUNK)
                {
                    final ByteBuffer into = MemorySegment.ofAddress(base + done).reinterpret(CHUNK).asByteBuffer();
                    while (into.hasRemaining())
                    {
                        if (channel.read(into, at + done + into.position()) < 0)
                        {
                            break; // past the end of the file: the rest are holes, and fresh memory is zero
                        }
                    }
                }
                at += length;
            }
            return (System.nanoTime() - startNs) / 1e6;
        }
    }

    private static double mapped(final Path file)
    {
        final long startNs = System.nanoTime();
        try (MappedSnapshot memory = Snapshots.map(file))
        {
            final double ms = (System.nanoTime() - startNs) / 1e6;
            if (memory.memory().pageCount() == 0)
            {
                throw new IllegalStateException("empty");
            }
            return ms;
        }
    }

    private static void write(final FileChannel channel, final long address, final long length, final long position)
        throws Exception
    {
        final ByteBuffer from = MemorySegment.ofAddress(address).reinterpret(length).asByteBuffer();
        long at = position;
        while (from.hasRemaining())
        {
            at += channel.write(from, at);
        }
    }

    private static double[] ratios(final double[] a, final double[] b)
    {
        final double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++)
        {
            r[i] = a[i] / b[i];
        }
        return r;
    }

    private static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
