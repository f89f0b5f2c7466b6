package io.pagestream.snapshot;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.DirtyPageLog;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.VcpuControl;
import io.pagestream.api.policy.MigrationDecision;
import io.pagestream.api.policy.MigrationPolicy;
import io.pagestream.sending.RoundTracker;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Objects;
import java.util.UUID;

/**
 * Live snapshots of a running guest into files, by the same pre-copy rounds and policy as a migration: a bulk pass
 * writes every page that may hold data at its fixed offset (pages the guest never populated are defined as zero
 * without being read), rounds rewrite the pages the dirty log reports in place, and when the policy stops the rounds
 * the guest pauses for a last pass and its device state, then runs on: a snapshot, not a move. The metadata and
 * the completion footer are written after the guest resumes, so they cost no downtime.
 * <p>
 * The dirty log keeps running between snapshots, so {@link #incremental(Path)} writes only the pages written since
 * the previous snapshot's pause, as a file naming that one as its parent. {@link Snapshots} restores, maps and
 * merges the files. Which pages each snapshot writes is {@link SnapshotPages}' job; the hypervisor's callbacks are
 * made through {@link GuestCalls}.
 * <p>
 * Threading: the methods run on the caller's thread, one at a time; the guest's vCPUs run meanwhile.
 */
public final class GuestSnapshots implements AutoCloseable
{
    /** Settings of a snapshot session. */
    public static final class Context
    {
        private GuestMemory guestMemory;
        private DirtyPageLog dirtyPageLog;
        private VcpuControl vcpuControl;
        private DeviceState deviceState;
        private MigrationPolicy policy;
        private long downtimeTargetMs = 300;
        private int maxRounds = 30;
        private long maxTimeMs = 60_000;
        private UUID vmId;

        /**
         * @param memory the guest's memory (required).
         * @return this.
         */
        public Context guestMemory(final GuestMemory memory)
        {
            guestMemory = memory;
            return this;
        }

        /**
         * @param log the guest's dirty log (required); it keeps tracking from the first snapshot to {@link #close()}.
         * @return this.
         */
        public Context dirtyPageLog(final DirtyPageLog log)
        {
            dirtyPageLog = log;
            return this;
        }

        /**
         * @param control pauses the guest for each snapshot's last pass, and resumes it (required).
         * @return this.
         */
        public Context vcpuControl(final VcpuControl control)
        {
            vcpuControl = control;
            return this;
        }

        /**
         * @param state saved while the guest is paused, or null for none.
         * @return this.
         */
        public Context deviceState(final DeviceState state)
        {
            deviceState = state;
            return this;
        }

        /**
         * @param migrationPolicy decides after each round; default
         *                        {@link MigrationPolicy#downtimeTarget} with the settings below. A post-copy decision
         *                        is taken as stop-and-copy (a file has no post-copy).
         * @return this.
         */
        public Context policy(final MigrationPolicy migrationPolicy)
        {
            policy = migrationPolicy;
            return this;
        }

        /**
         * @param targetMs the pause the default policy aims at (default 300).
         * @return this.
         */
        public Context downtimeTargetMs(final long targetMs)
        {
            downtimeTargetMs = targetMs;
            return this;
        }

        /**
         * @param rounds rounds before the default policy gives up (default 30).
         * @return this.
         */
        public Context maxRounds(final int rounds)
        {
            maxRounds = rounds;
            return this;
        }

        /**
         * @param timeMs time before the default policy gives up (default 60 s).
         * @return this.
         */
        public Context maxTimeMs(final long timeMs)
        {
            maxTimeMs = timeMs;
            return this;
        }

        /**
         * @param id the guest's id, written in every file's header; null for none.
         * @return this.
         */
        public Context vmId(final UUID id)
        {
            vmId = id;
            return this;
        }

        void conclude()
        {
            require(guestMemory, "guestMemory");
            require(dirtyPageLog, "dirtyPageLog");
            require(vcpuControl, "vcpuControl");
            if (downtimeTargetMs <= 0 || maxRounds < 1 || maxTimeMs <= 0)
            {
                throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, "downtimeTargetMs, maxRounds and " +
                    "maxTimeMs must be positive: " + downtimeTargetMs + ", " + maxRounds + ", " + maxTimeMs);
            }
            if (guestMemory.regionCount() > SnapshotFormat.MAX_REGIONS)
            {
                throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, "a snapshot holds at most " +
                    SnapshotFormat.MAX_REGIONS + " regions; guestMemory has " + guestMemory.regionCount());
            }
        }

        private static void require(final Object value, final String name)
        {
            if (null == value)
            {
                throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, name + " is required for snapshots");
            }
        }
    }

    private final Context ctx;
    private final DirtyPageLog log;
    private final int pageSize;
    private final long pageCount;
    private final long[] regionLengths;
    private final SnapshotPages pages;
    private boolean closed;
    private Path lastFile;
    private UUID lastId;

    private GuestSnapshots(final Context ctx)
    {
        this.ctx = ctx;
        final GuestMemory memory = ctx.guestMemory;
        this.log = ctx.dirtyPageLog;
        this.pageSize = memory.pageSize();
        this.pageCount = memory.pageCount();
        this.regionLengths = new long[memory.regionCount()];
        for (int i = 0; i < regionLengths.length; i++)
        {
            regionLengths[i] = memory.regionLengthBytes(i);
        }
        this.pages = new SnapshotPages(memory, log);
    }

    /**
     * @param ctx the settings, checked now.
     * @return a session; nothing is tracked until the first snapshot.
     * @throws MigrationException {@code INVALID_CONFIGURATION} naming a missing or bad setting.
     */
    public static GuestSnapshots open(final Context ctx)
    {
        Objects.requireNonNull(ctx, "ctx").conclude();
        return new GuestSnapshots(ctx);
    }

    /**
     * Take a full snapshot: every page, pages never populated as zero without reading them.
     *
     * @param file the file to write (replaced if it exists).
     * @return what was done.
     * @throws MigrationException {@code NOT_CONVERGED} if the policy gave up (no file is left), or
     *                            {@code HYPERVISOR_CALLBACK_FAILED} if a callback threw; the guest runs on either way.
     */
    public SnapshotReport full(final Path file)
    {
        return take(file, true);
    }

    /**
     * Take an incremental snapshot: only the pages written since the previous snapshot of this session paused, as a
     * file naming that one as its parent (by id, and by path relative to this file's directory when both lie in
     * the same directory tree).
     *
     * @param file the file to write.
     * @return what was done.
     * @throws IllegalStateException    if this session has taken no snapshot yet.
     * @throws IllegalArgumentException if {@code file} is the parent's file.
     */
    public SnapshotReport incremental(final Path file)
    {
        if (null == lastFile)
        {
            throw new IllegalStateException("no snapshot to be incremental to: take a full one first");
        }
        if (file.toAbsolutePath().normalize().equals(lastFile.toAbsolutePath().normalize()))
        {
            throw new IllegalArgumentException("an incremental snapshot cannot replace its parent " + lastFile +
                ": write it to another file");
        }
        return take(file, false);
    }

    /** @return the last file this session wrote, or null. */
    public Path lastSnapshot()
    {
        return lastFile;
    }

    private SnapshotReport take(final Path file, final boolean full)
    {
        if (closed)
        {
            throw new IllegalStateException("closed");
        }
        final long startNs = System.nanoTime();
        final UUID id = Snapshots.newId();
        final SnapshotFormat.Header header = new SnapshotFormat.Header(pageSize, pageCount, regionLengths,
            ctx.vmId, id, full ? null : lastId, full ? null : parentPath(file, lastFile), System.currentTimeMillis());
        final MigrationPolicy policy = null != ctx.policy ? ctx.policy :
            MigrationPolicy.downtimeTarget(ctx.downtimeTargetMs, ctx.maxRounds, ctx.maxTimeMs);
        final VcpuControl vcpus = ctx.vcpuControl;
        try (SnapshotWriter writer = new SnapshotWriter(file, header))
        {
            pages.startTracking();
            final RoundTracker tracker = new RoundTracker(startNs, pageSize);
            if (null != ctx.deviceState)
            {
                tracker.deviceStateBytes(Math.max(0, ctx.deviceState.sizeHintBytes()));
            }
            int round = 0;
            tracker.beginRound(0, System.nanoTime());
            pages.fetch();
            pages.carryOver(); // what a snapshot that failed since had fetched
            if (full)
            {
                pages.bulk(writer, tracker);
            }
            else
            {
                pages.writeDirty(writer, tracker);
            }
            MigrationDecision decision = endRound(writer, tracker, policy);
            boolean throttled = false;
            try
            {
                while (decision.action() == MigrationDecision.Action.CONTINUE ||
                    decision.action() == MigrationDecision.Action.THROTTLE)
                {
                    if (decision.action() == MigrationDecision.Action.THROTTLE)
                    {
                        final double fraction = decision.throttleFraction();
                        GuestCalls.call(() -> vcpus.throttle(fraction), "vcpuControl.throttle");
                        tracker.throttleFraction(fraction);
                        throttled = true;
                    }
                    tracker.beginRound(++round, System.nanoTime());
                    pages.writeDirty(writer, tracker);
                    decision = endRound(writer, tracker, policy);
                }
                if (decision.action() == MigrationDecision.Action.ABORT)
                {
                    throw new MigrationException(ErrorCode.NOT_CONVERGED, "snapshot " + file + " abandoned after " +
                        (round + 1) + " rounds: " + decision.reason());
                }
            }
            finally
            {
                if (throttled && decision.action() != MigrationDecision.Action.STOP_AND_COPY &&
                    decision.action() != MigrationDecision.Action.POSTCOPY)
                {
                    GuestCalls.call(vcpus::resume, "vcpuControl.resume");
                }
            }
            // The last pass: the guest paused, the pages written since the last fetch, the device state.
            final long pausedAtMs = System.currentTimeMillis();
            final long pauseNs = System.nanoTime();
            GuestCalls.call(vcpus::pause, "vcpuControl.pause");
            final ByteBuffer device;
            long downtimeNs = 0;
            try
            {
                tracker.beginRound(++round, System.nanoTime());
                pages.fetch();
                pages.writeDirty(writer, tracker);
                writer.flush();
                device = GuestCalls.saveDevice(ctx.deviceState);
            }
            finally
            {
                // The pause this snapshot asked for ends when it asks the guest to resume.
                downtimeNs = System.nanoTime() - pauseNs;
                GuestCalls.call(vcpus::resume, "vcpuControl.resume");
            }
            final SnapshotFormat.Footer footer = writer.finish(device, round + 1, pausedAtMs);
            pages.cut(); // the cut was the pause: later writes are the next one's
            lastFile = file;
            lastId = id;
            return new SnapshotReport(file, id, header.parentId(), round + 1, footer.definedPages(),
                footer.dataPages(), writer.dataPagesWritten(), footer.fileLength(),
                (System.nanoTime() - startNs) / 1_000_000,
                downtimeNs / 1_000_000, pausedAtMs, decision.reason(), log.name());
        }
    }

    private MigrationDecision endRound(
        final SnapshotWriter writer, final RoundTracker tracker, final MigrationPolicy policy)
    {
        final long fetchStart = System.nanoTime();
        final long newly = pages.fetch();
        final long now = System.nanoTime();
        tracker.fetchCostNs(now - fetchStart);
        tracker.endRound(now, newly, pages.dirtyPages());
        final MigrationDecision decision;
        try
        {
            decision = policy.onRoundComplete(tracker);
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.HYPERVISOR_CALLBACK_FAILED, "policy.onRoundComplete: " + ex, ex);
        }
        if (null == decision)
        {
            throw new MigrationException(ErrorCode.HYPERVISOR_CALLBACK_FAILED, "policy.onRoundComplete returned null");
        }
        return decision;
    }

    private static String parentPath(final Path file, final Path parent)
    {
        final Path dir = file.toAbsolutePath().normalize().getParent();
        final Path parentAbsolute = parent.toAbsolutePath().normalize();
        if (null != dir && parentAbsolute.startsWith(dir))
        {
            return dir.relativize(parentAbsolute).toString();
        }
        return parentAbsolute.toString();
    }

    /** Stop the dirty log. Idempotent. */
    public void close()
    {
        if (!closed)
        {
            closed = true;
            pages.stopTracking();
        }
    }
}
