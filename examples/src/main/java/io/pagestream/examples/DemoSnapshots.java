package io.pagestream.examples;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.kernel.ProcessMemory;
import io.pagestream.snapshot.GuestSnapshots;
import io.pagestream.snapshot.MappedSnapshot;
import io.pagestream.snapshot.RestoreReport;
import io.pagestream.snapshot.SnapshotInfo;
import io.pagestream.snapshot.SnapshotReport;
import io.pagestream.snapshot.Snapshots;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.ResumeHookVcpus;
import io.pagestream.synthetic.SyntheticDeviceState;
import io.pagestream.synthetic.SyntheticGuest;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.BiFunction;

/**
 * The demo's snapshot modes: {@code --to-file} (snapshot the running guest, optionally on top of a {@code --parent}
 * taken first, then restore it in a second process and compare) and {@code --from-file} (restore a snapshot and
 * map it, checking every page, and print the memory's digest).
 */
final class DemoSnapshots
{
    private final PrintStream out;

    DemoSnapshots(final PrintStream out)
    {
        this.out = out;
    }

    /**
     * Snapshot a running synthetic guest, then verify the file in a child process.
     *
     * @param config      the guest.
     * @param toFile      the snapshot to write.
     * @param parent      a full snapshot to write first, the new one then incremental to it; or null.
     * @param downtimeMs  the pause the policy aims at.
     * @param maxRounds   rounds before giving up.
     * @param maxTimeMs   time before giving up.
     * @param startChild  starts this demo with the given arguments in a child process, its lines into the queue.
     * @return the exit code: 0 verified, 1 not.
     * @throws Exception on a failure.
     */
    int snapshot(
        final SyntheticGuest.Config config, final Path toFile, final Path parent, final long downtimeMs,
        final int maxRounds, final long maxTimeMs,
        final BiFunction<List<String>, LinkedBlockingQueue<String>, Process> startChild) throws Exception
    {
        try (SyntheticGuest guest = SyntheticGuest.create(config))
        {
            final DigestingVcpus vcpus = new DigestingVcpus(guest);
            guest.vcpus().start();
            Thread.sleep(200); // let the guest reach its dirty rate
            final GuestSnapshots.Context ctx = new GuestSnapshots.Context().guestMemory(guest.memory())
                .dirtyPageLog(guest.dirtyLog()).vcpuControl(vcpus).deviceState(guest.deviceState())
                .downtimeTargetMs(downtimeMs).maxRounds(maxRounds).maxTimeMs(maxTimeMs);
            final SnapshotReport report;
            try (GuestSnapshots snapshots = GuestSnapshots.open(ctx))
            {
                if (null != parent)
                {
                    print(snapshots.full(parent), vcpus);
                    Thread.sleep(1000); // the guest writes on; the incremental holds what it wrote
                }
                report = null != parent ? snapshots.incremental(toFile) : snapshots.full(toFile);
                print(report, vcpus);
            }
            final long written = guest.vcpus().pagesWritten();
            Thread.sleep(100);
            final boolean running = !guest.vcpus().isPaused() &&
                (config.workload() == io.pagestream.synthetic.Workload.IDLE || guest.vcpus().pagesWritten() > written);
            final String expected = Long.toHexString(vcpus.digest) + " " +
                Long.toHexString(guest.deviceState().checksum());

            final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
            final Process child = startChild.apply(List.of("--from-file=" + toFile.toAbsolutePath()), lines);
            final String restored = DemoMigration.awaitLine(child, lines, "RESTORED", 300);
            final String mapped = DemoMigration.awaitLine(child, lines, "MAPPED", 300);
            child.waitFor();
            final boolean restoredEqual = restored.startsWith("RESTORED " + expected + " ");
            final boolean mappedEqual = mapped.startsWith("MAPPED " + expected + " ");
            final boolean verified = running && restoredEqual && mappedEqual && child.exitValue() == 0;

            out.println();
            out.println("==================== snapshot report ====================");
            out.printf(Locale.ROOT, "verified          %s (%s)%n", verified, verified ?
                "restored and mapped in another process, both equal to the guest's memory and device state at " +
                "the snapshot's pause; the guest runs on here" :
                "MISMATCH or failure: expected " + expected + "; the restoring process said '" + restored + "' and '" +
                mapped + "', exit " + child.exitValue() + "; guest running here: " + running);
            out.printf(Locale.ROOT, "guest on source   %s%n", running ? "running (a snapshot is not a move)" :
                "NOT RUNNING");
            out.printf(Locale.ROOT, "peak resident     %s (this process)%n",
                ProcessMemory.format(ProcessMemory.peakResidentBytes()));
            return verified ? 0 : 1;
        }
    }

    private void print(final SnapshotReport r, final DigestingVcpus vcpus)
    {
        out.printf(Locale.ROOT, "snapshot          %s: %s, %,d pages defined, %,d of them data, %,d page writes " +
            "over %d rounds; %,d ms in all, guest paused %,d ms (%s); file %s bytes%n", r.file(),
            r.isFull() ? "full" : "incremental to " + r.parentId(), r.pagesDefined(), r.dataPages(), r.pageWrites(),
            r.rounds(), r.totalTimeMs() - vcpus.digestMs, r.downtimeMs(), r.reason(),
            String.format(Locale.ROOT, "%,d", r.fileBytes()));
        out.printf(Locale.ROOT, "                  then the demo digested the paused memory for the check, %,d ms " +
            "before resuming the guest (counted in neither figure)%n", vcpus.digestMs);
    }

    /**
     * Restore a snapshot into fresh memory, then map it, and print both digests.
     *
     * @param file the snapshot (or the newest of a chain).
     * @return 0 if every page checked and the two agree; 1 otherwise.
     */
    int restore(final Path file)
    {
        try
        {
            return restoreChecked(file);
        }
        catch (final io.pagestream.api.MigrationException ex)
        {
            out.println("restore refused: " + ex.errorCode() + ": " + ex.getMessage());
            return 1;
        }
    }

    private int restoreChecked(final Path file)
    {
        final SnapshotInfo info = Snapshots.info(file);
        out.printf(Locale.ROOT, "snapshot %s: %s, %,d pages of %d bytes, %,d data pages, taken %d rounds, paused at " +
            "%tT%n", file, info.isFull() ? "full" : "incremental to " + info.parentId() + " (" + info.parentPath() + ")",
            info.pageCount(), info.pageSize(), info.dataPages(), info.rounds(), info.pausedAtMs());
        final MemoryKernel kernel = MemoryKernel.create();
        final String restoredLine;
        try (GuestMemory memory = MappedGuestMemory.anonymous(kernel, info.pageCount() * info.pageSize(),
            info.pageSize(), false))
        {
            final SyntheticDeviceState device = SyntheticDeviceState.target();
            final RestoreReport report = Snapshots.restore(file, memory, device, true);
            final long digest = MemoryDigest.digest(memory);
            out.printf(Locale.ROOT, "restored          %d file(s), %,d data pages read and checked, %,d zero pages " +
                "not touched, %,d ms%n", report.layers(), report.dataPages(), report.zeroPages(), report.timeMs());
            restoredLine = Long.toHexString(digest) + " " + Long.toHexString(device.checksum());
            out.println("RESTORED " + restoredLine + " " + report.timeMs());
        }
        try (MappedSnapshot mapped = Snapshots.map(file))
        {
            final long usableUs = mapped.mapNanos() / 1000;
            final SyntheticDeviceState device = SyntheticDeviceState.target();
            mapped.restoreDeviceState(device);
            final long digest = MemoryDigest.digest(mapped.memory());
            final String line = Long.toHexString(digest) + " " + Long.toHexString(device.checksum());
            out.printf(Locale.ROOT, "mapped            usable in %,d us (pages load from the file as touched)%n",
                usableUs);
            out.println("MAPPED " + line + " " + usableUs);
            return line.equals(restoredLine) ? 0 : 1;
        }
    }

    /**
     * The guest's vCPU control, digesting guest memory when it resumes from a pause (while still paused). The dirty
     * log still runs then, so only the pages present are read ({@link MemoryDigest#digestPresent}).
     */
    static final class DigestingVcpus extends ResumeHookVcpus
    {
        private final SyntheticGuest guest;
        volatile long digest;
        volatile long digestMs;

        DigestingVcpus(final SyntheticGuest guest)
        {
            super(guest.vcpus());
            this.guest = guest;
        }

        protected void beforeResume()
        {
            final long startNs = System.nanoTime();
            digest = MemoryDigest.digestPresent(guest.memory());
            digestMs = (System.nanoTime() - startNs) / 1_000_000;
        }
    }
}
