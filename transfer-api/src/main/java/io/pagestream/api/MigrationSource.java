package io.pagestream.api;

import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.DirtyPageLog;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.VcpuControl;
import io.pagestream.api.policy.MigrationPolicy;
import org.agrona.concurrent.AgentInvoker;

import java.util.concurrent.CompletableFuture;

/**
 * The sending side of one migration. Launched by {@code io.pagestream.PageStream.launchSource(context)}; starts
 * at once and ends by itself, completing {@link #completion()}.
 * <p>
 * On any failure before the switchover, the source resumes the vCPUs, stops dirty tracking and completes with
 * {@link MigrationResult#FAILED} or {@link MigrationResult#CANCELLED}: the guest keeps running here. Once it has
 * switched over to post-copy the guest belongs to the target and is never resumed here: a lost link is recovered by
 * reconnecting, and giving up (after {@code recoveryTimeoutMs}) fails with {@link ErrorCode#GUEST_LOST}. Threading: every method is safe to call from any thread.
 */
public interface MigrationSource extends AutoCloseable
{
    /**
     * @return completes with the report when the migration ends, successfully or not; never completes
     * exceptionally.
     */
    CompletableFuture<MigrationReport> completion();

    /**
     * @return a snapshot of progress, from any thread; after {@link #close()}, the figures as they were at close
     * (a read racing the close is waited out before the counters' memory goes, never a read of freed memory).
     */
    MigrationProgress progress();

    /**
     * @return the management plane of this migration: change its caps, downtime target and post-copy settings while
     * it runs, force post-copy, hold the switchover.
     */
    MigrationControl control();

    /**
     * Ask the migration to stop. Before the switchover (the target's acknowledgement in pre-copy, the post-copy
     * SWITCHOVER frame), the guest keeps running on the source and the migration ends CANCELLED; after, the request
     * has no effect.
     */
    void cancel();

    /**
     * @return the invoker to drive in {@link ThreadingMode#INVOKER} mode, otherwise null.
     */
    AgentInvoker invoker();

    /**
     * @return the migration's session id, agreed with the target in the handshake.
     */
    long migrationId();

    /**
     * Cancel if still running, stop the agent, close Aeron and the embedded driver. Idempotent.
     */
    void close();

    /**
     * Configuration of a source.
     */
    final class Context extends MigrationContext<Context>
    {
        /** Where the target listens for the data stream, {@code host:port}. */
        public static final String TARGET_ENDPOINT_PROP_NAME = "pagestream.target.endpoint";
        /** Default target endpoint. */
        public static final String TARGET_ENDPOINT_DEFAULT = "127.0.0.1:40400";
        /** Where this source listens for the control stream; told to the target in the hello. */
        public static final String CONTROL_ENDPOINT_PROP_NAME = "pagestream.source.control.endpoint";
        /** Default control endpoint. */
        public static final String CONTROL_ENDPOINT_DEFAULT = "127.0.0.1:40401";
        /** Aeron MTU of the data stream in bytes. */
        public static final String MTU_LENGTH_PROP_NAME = "pagestream.mtu.length";
        /** Default MTU: 8 KiB, the smallest that carries a 4 KiB page in one claimed frame (fits jumbo frames). */
        public static final int MTU_LENGTH_DEFAULT = 8192;
        /** Aeron term length of the data stream in bytes. */
        public static final String TERM_LENGTH_PROP_NAME = "pagestream.term.length";
        /**
         * Default term length: 4 MiB. Half a term may be in flight ahead of the receiver, which covers the target's
         * default 2 MiB receiver window, so the window, not the term, paces the stream. Every term page is a fresh
         * page the first time it is written, on both sides: at 16 MiB the 1 GiB hotset demo took 1.29 s (median of
         * six interleaved pairs) against 1.20 s at 4 MiB, and each side's resident memory grew by 72 MiB more (the
         * log buffer is mapped by the driver and the client). 2 MiB was faster still on loopback (0.86x of 4 MiB)
         * but would let the term cap the flight below the window on a long fat link.
         */
        public static final int TERM_LENGTH_DEFAULT = 4 * 1024 * 1024;
        /** Downtime target in milliseconds. */
        public static final String DOWNTIME_TARGET_PROP_NAME = "pagestream.downtime.target.ms";
        /** Default downtime target. */
        public static final long DOWNTIME_TARGET_MS_DEFAULT = 300;
        /** Iterative rounds before the default policy gives up. */
        public static final String MAX_ROUNDS_PROP_NAME = "pagestream.max.rounds";
        /** Default maximum rounds. */
        public static final int MAX_ROUNDS_DEFAULT = 30;
        /** Elapsed milliseconds before the default policy gives up. */
        public static final String MAX_TIME_PROP_NAME = "pagestream.max.time.ms";
        /** Default maximum time: 10 minutes. */
        public static final long MAX_TIME_MS_DEFAULT = 600_000;
        /** Send rate cap in bytes per second, 0 for none. */
        public static final String MAX_BANDWIDTH_PROP_NAME = "pagestream.max.bandwidth";
        /** Default: no cap. */
        public static final long MAX_BANDWIDTH_DEFAULT = 0;
        /** Cap on background pushing after a post-copy switchover in bytes per second; 0 keeps the pre-copy cap. */
        public static final String POSTCOPY_BANDWIDTH_PROP_NAME = "pagestream.postcopy.bandwidth";
        /** Microseconds the post-copy background push holds back after each page request; 0 never. */
        public static final String FAULT_QUIET_PROP_NAME = "pagestream.fault.quiet.us";
        /** Default: 300 µs, which took the median fault on a full 2.5 Gbit link from 9.5x to 1.6x a raw round trip. */
        public static final long FAULT_QUIET_US_DEFAULT = 300;
        /** Milliseconds to find a target and complete the handshake. */
        public static final String CONNECT_TIMEOUT_PROP_NAME = "pagestream.connect.timeout.ms";
        /** Default connect timeout. */
        public static final long CONNECT_TIMEOUT_MS_DEFAULT = 5_000;
        /** Milliseconds from pausing the vCPUs to the target's acknowledgement before giving up and resuming. */
        public static final String SWITCHOVER_TIMEOUT_PROP_NAME = "pagestream.switchover.timeout.ms";
        /** Margin past the downtime target after which a stop-and-copy is abandoned; 0 (default) for never. */
        public static final String DOWNTIME_GUARD_PROP_NAME = "pagestream.downtime.guard.ms";
        /** Default switchover timeout. */
        public static final long SWITCHOVER_TIMEOUT_MS_DEFAULT = 30_000;
        /** Page encodings the source may use: AUTO, NONE, DELTA or LZ4. */
        public static final String COMPRESSION_PROP_NAME = "pagestream.compression";
        /** Default compression: chosen per page by the cost model. */
        public static final Compression COMPRESSION_DEFAULT = Compression.AUTO;
        /** Which policy to build when none is given: AUTO, PRECOPY or POSTCOPY. */
        public static final String STRATEGY_PROP_NAME = "pagestream.strategy";
        /** Default strategy: the adaptive hybrid. */
        public static final MigrationStrategy STRATEGY_DEFAULT = MigrationStrategy.AUTO;
        /** Whether this source may switch to post-copy (the target must enable it too). */
        public static final String POSTCOPY_ALLOWED_PROP_NAME = "pagestream.postcopy.allowed";
        /** Whether the bulk pass skips pages the kernel shows the guest never populated. */
        public static final String SKIP_UNPOPULATED_PROP_NAME = "pagestream.skip.unpopulated";
        /** Bytes of sent page versions cached for delta encoding; 0 picks the default. */
        public static final String PAGE_CACHE_BYTES_PROP_NAME = "pagestream.page.cache.bytes";
        /** Default cache size: 64 MiB, or a quarter of guest memory if that is smaller. */
        public static final long PAGE_CACHE_BYTES_DEFAULT = 64L * 1024 * 1024;
        /** Eviction policy of the page cache: CLOCK or LRU. */
        public static final String PAGE_CACHE_POLICY_PROP_NAME = "pagestream.page.cache.policy";
        /** Default eviction policy. */
        public static final PageCachePolicy PAGE_CACHE_POLICY_DEFAULT = PageCachePolicy.CLOCK;
        /** Data lanes: publications the pages are partitioned between, each its own Aeron stream. */
        public static final String DATA_LANES_PROP_NAME = "pagestream.data.lanes";
        /** Default data lanes. */
        public static final int DATA_LANES_DEFAULT = 1;
        /** Most data lanes a migration may use. */
        public static final int MAX_DATA_LANES = 16;
        /** True to give every data lane after the first a sending thread of its own in pre-copy rounds. */
        public static final String LANE_THREADS_PROP_NAME = "pagestream.data.lane.threads";

        private GuestMemory guestMemory;
        private DirtyPageLog dirtyPageLog;
        private VcpuControl vcpuControl;
        private DeviceState deviceState;
        private String targetEndpoint = System.getProperty(TARGET_ENDPOINT_PROP_NAME, TARGET_ENDPOINT_DEFAULT);
        private String controlEndpoint = System.getProperty(CONTROL_ENDPOINT_PROP_NAME, CONTROL_ENDPOINT_DEFAULT);
        private int mtuLength = intSizeProperty(MTU_LENGTH_PROP_NAME, MTU_LENGTH_DEFAULT);
        private int termLength = intSizeProperty(TERM_LENGTH_PROP_NAME, TERM_LENGTH_DEFAULT);
        private long downtimeTargetMs = msProperty(DOWNTIME_TARGET_PROP_NAME, DOWNTIME_TARGET_MS_DEFAULT);
        private int maxRounds = intProperty(MAX_ROUNDS_PROP_NAME, MAX_ROUNDS_DEFAULT);
        private long maxTimeMs = msProperty(MAX_TIME_PROP_NAME, MAX_TIME_MS_DEFAULT);
        private long maxBandwidthBytesPerSec = sizeProperty(MAX_BANDWIDTH_PROP_NAME, MAX_BANDWIDTH_DEFAULT);
        private long postcopyBandwidthBytesPerSec = sizeProperty(POSTCOPY_BANDWIDTH_PROP_NAME, 0);
        private long faultQuietUs = usProperty(FAULT_QUIET_PROP_NAME, FAULT_QUIET_US_DEFAULT);
        private long connectTimeoutMs = msProperty(CONNECT_TIMEOUT_PROP_NAME, CONNECT_TIMEOUT_MS_DEFAULT);
        private long switchoverTimeoutMs = msProperty(SWITCHOVER_TIMEOUT_PROP_NAME, SWITCHOVER_TIMEOUT_MS_DEFAULT);
        private long downtimeGuardMs = msProperty(DOWNTIME_GUARD_PROP_NAME, 0);
        private MigrationPolicy policy;
        private MigrationStrategy strategy = enumProperty(STRATEGY_PROP_NAME, MigrationStrategy.class, STRATEGY_DEFAULT);
        private boolean postcopyAllowed = booleanProperty(POSTCOPY_ALLOWED_PROP_NAME, true);
        private boolean skipUnpopulated = booleanProperty(SKIP_UNPOPULATED_PROP_NAME, true);
        private long migrationId;
        private Compression compression = enumProperty(COMPRESSION_PROP_NAME, Compression.class, COMPRESSION_DEFAULT);
        private long pageCacheBytes = sizeProperty(PAGE_CACHE_BYTES_PROP_NAME, 0);
        private PageCachePolicy pageCachePolicy = enumProperty(PAGE_CACHE_POLICY_PROP_NAME, PageCachePolicy.class, PAGE_CACHE_POLICY_DEFAULT);
        private int dataLanes = intProperty(DATA_LANES_PROP_NAME, DATA_LANES_DEFAULT);
        private boolean laneThreads = booleanProperty(LANE_THREADS_PROP_NAME, false);
        /** Followers one migration may fan out to. */
        public static final int MAX_FOLLOWERS = 16;
        private java.util.UUID cloneVmId;
        private java.util.List<String> followerEndpoints = java.util.List.of();

        /**
         * A context with every setting at its system-property default; set the hypervisor's parts before
         * {@link #conclude()}.
         */
        public Context()
        {
        }

        /** {@inheritDoc} */
        public Context conclude()
        {
            super.conclude();
            require(null != guestMemory, "guestMemory", null, "must be set");
            require(null != dirtyPageLog, "dirtyPageLog", null, "must be set");
            require(null != vcpuControl, "vcpuControl", null, "must be set");
            require(null != deviceState, "deviceState", null, "must be set");
            requireEndpoint("targetEndpoint", targetEndpoint);
            requireEndpoint("controlEndpoint", controlEndpoint, true);
            require(mtuLength >= 4096 && mtuLength <= 65504 && (mtuLength & 31) == 0,
                "mtuLength", mtuLength, "must be a multiple of 32 from 4096 to 65504");
            require(termLength >= (1 << 20) && termLength <= (1 << 30) && Integer.bitCount(termLength) == 1,
                "termLength", termLength, "must be a power of two from 1 MiB to 1 GiB");
            require(downtimeTargetMs > 0, "downtimeTargetMs", downtimeTargetMs, "must be positive");
            require(maxRounds > 0, "maxRounds", maxRounds, "must be positive");
            require(maxTimeMs > 0, "maxTimeMs", maxTimeMs, "must be positive");
            require(maxBandwidthBytesPerSec >= 0, "maxBandwidthBytesPerSec", maxBandwidthBytesPerSec,
                "must be 0 (unlimited) or positive");
            require(maxBandwidthBytesPerSec == 0 || maxBandwidthBytesPerSec >= 64 * 1024,
                "maxBandwidthBytesPerSec", maxBandwidthBytesPerSec, "must be at least 64 KiB/s when set");
            require(postcopyBandwidthBytesPerSec == 0 || postcopyBandwidthBytesPerSec >= 64 * 1024,
                "postcopyBandwidthBytesPerSec", postcopyBandwidthBytesPerSec,
                "must be 0 (same as maxBandwidthBytesPerSec) or at least 64 KiB/s");
            require(faultQuietUs >= 0 && faultQuietUs <= 1_000_000, "faultQuietUs", faultQuietUs,
                "must be from 0 to 1000000");
            require(connectTimeoutMs > 0, "connectTimeoutMs", connectTimeoutMs, "must be positive");
            require(switchoverTimeoutMs > 0, "switchoverTimeoutMs", switchoverTimeoutMs, "must be positive");
            require(downtimeGuardMs >= 0, "downtimeGuardMs", downtimeGuardMs, "must be 0 (off) or positive");
            require(null != compression, "compression", null, "must be set");
            require(dataLanes >= 1 && dataLanes <= MAX_DATA_LANES, "dataLanes", dataLanes,
                "must be from 1 to " + MAX_DATA_LANES);
            require(dataStreamId() + dataLanes - 1 >= dataStreamId(), "dataLanes", dataLanes,
                "lane stream ids dataStreamId..dataStreamId+dataLanes-1 overflow");
            require(!laneThreads || threadingMode() == ThreadingMode.DEDICATED, "laneThreads", laneThreads,
                "needs threadingMode DEDICATED: with INVOKER PageStream starts no thread of its own");
            require(null != pageCachePolicy, "pageCachePolicy", null, "must be set");
            require(null == cloneVmId || !cloneVmId.equals(vmId()), "cloneVmId", cloneVmId,
                "must differ from vmId: a clone is another guest");
            for (final String follower : followerEndpoints)
            {
                requireEndpoint("followerEndpoints", follower);
                require(!follower.equals(targetEndpoint), "followerEndpoints", follower,
                    "must not name the target endpoint");
            }
            require(followerEndpoints.size() <= MAX_FOLLOWERS, "followerEndpoints", followerEndpoints.size(),
                "must name at most " + MAX_FOLLOWERS + " followers");
            require(followerEndpoints.isEmpty() || !(frameAuthentication() || frameEncryption()),
                "followerEndpoints", followerEndpoints, "cannot be used with frame authentication or encryption: " +
                "the frame keys are agreed with the target alone, so followers could not check a frame");
            require(pageCacheBytes >= 0 && pageCacheBytes <= (1L << 31) - (1L << 20), "pageCacheBytes",
                pageCacheBytes, "must be from 0 (default) to 2 GiB - 1 MiB");
            if (0 == pageCacheBytes)
            {
                pageCacheBytes = Math.min(PAGE_CACHE_BYTES_DEFAULT, guestMemory.sizeBytes() / 4);
            }
            require(null != strategy, "strategy", null, "must be set");
            require(strategy != MigrationStrategy.POSTCOPY || postcopyAllowed, "strategy", strategy,
                "needs postcopyAllowed=true");
            if (null == policy)
            {
                switch (strategy)
                {
                    case PRECOPY:
                        policy = MigrationPolicy.downtimeTarget(downtimeTargetMs, maxRounds, maxTimeMs);
                        break;
                    case POSTCOPY:
                        policy = MigrationPolicy.postcopyAfterBulk();
                        break;
                    case AUTO:
                    default:
                        policy = MigrationPolicy.hybrid(downtimeTargetMs, maxRounds, maxTimeMs);
                        break;
                }
            }
            while (0 == migrationId)
            {
                migrationId = new java.security.SecureRandom().nextLong();
            }
            return this;
        }

        /**
         * @param lanes data lanes (1 to {@value #MAX_DATA_LANES}): publications the pages are partitioned between
         *              in 2 MiB stripes, each its own Aeron stream ({@code dataStreamId + lane}) with its own sender
         *              state, so a lane's loss or back-pressure never holds the others up. Control frames travel on
         *              lane 0. All lanes run on the source's agent thread unless {@link #laneThreads(boolean)}.
         * @return this.
         */
        public Context dataLanes(final int lanes)
        {
            dataLanes = lanes;
            return this;
        }

        /**
         * @return data lanes.
         */
        public int dataLanes()
        {
            return dataLanes;
        }

        /**
         * The embedder's choice of threads for the data lanes. Off (the default), every lane sends on the source's
         * agent thread, in turn within each duty cycle: right where cores are few, since a second sending thread then
         * only competes with the first and with the media driver. On, every lane after the first gets a sending
         * thread of its own ({@code pagestream-lane-N}) for the pre-copy rounds (the bulk pass, later rounds and the
         * stop-and-copy round), where encoding and copying pages is the work: worth it where each lane can have a
         * core (and the driver its own). Lane 0 carries the control frames and stays on the agent's thread, as does
         * every lane in post-copy, where faults steer the push. Each threaded lane then keeps its own share of the
         * page cache ({@code pageCacheBytes / dataLanes}) and its own encoding choice; the bandwidth cap stays one
         * cap for all. Needs {@link ThreadingMode#DEDICATED}.
         *
         * @param threads true for a sending thread per lane after the first.
         * @return this.
         */
        public Context laneThreads(final boolean threads)
        {
            laneThreads = threads;
            return this;
        }

        /**
         * @return true if every data lane after the first sends pre-copy rounds on its own thread.
         */
        public boolean laneThreads()
        {
            return laneThreads;
        }

        /**
         * @param memory the guest's RAM.
         * @return this.
         */
        public Context guestMemory(final GuestMemory memory)
        {
            guestMemory = memory;
            return this;
        }

        /** @return the guest's RAM. */
        public GuestMemory guestMemory()
        {
            return guestMemory;
        }

        /**
         * @param log the hypervisor's dirty page log.
         * @return this.
         */
        public Context dirtyPageLog(final DirtyPageLog log)
        {
            dirtyPageLog = log;
            return this;
        }

        /** @return the dirty page log. */
        public DirtyPageLog dirtyPageLog()
        {
            return dirtyPageLog;
        }

        /**
         * @param control the hypervisor's vCPU control.
         * @return this.
         */
        public Context vcpuControl(final VcpuControl control)
        {
            vcpuControl = control;
            return this;
        }

        /** @return the vCPU control. */
        public VcpuControl vcpuControl()
        {
            return vcpuControl;
        }

        /**
         * @param state the device state saved at switchover.
         * @return this.
         */
        public Context deviceState(final DeviceState state)
        {
            deviceState = state;
            return this;
        }

        /** @return the device state. */
        public DeviceState deviceState()
        {
            return deviceState;
        }

        /**
         * @param endpoint where the target listens, {@code host:port}.
         * @return this.
         */
        public Context targetEndpoint(final String endpoint)
        {
            targetEndpoint = endpoint;
            return this;
        }

        /** @return where the target listens. */
        public String targetEndpoint()
        {
            return targetEndpoint;
        }

        /**
         * @param endpoint {@code host:port} where this source receives the control stream; must be reachable from
         *                 the target, which learns it from the hello. Port 0: a free port the kernel chooses at
         *                 launch, written back here.
         * @return this.
         */
        public Context controlEndpoint(final String endpoint)
        {
            controlEndpoint = endpoint;
            return this;
        }

        /** @return where this source receives the control stream. */
        public String controlEndpoint()
        {
            return controlEndpoint;
        }

        /**
         * @param lengthBytes Aeron MTU of the data stream.
         * @return this.
         */
        public Context mtuLength(final int lengthBytes)
        {
            mtuLength = lengthBytes;
            return this;
        }

        /** @return Aeron MTU of the data stream in bytes. */
        public int mtuLength()
        {
            return mtuLength;
        }

        /**
         * @param lengthBytes Aeron term length of the data stream (default {@link #TERM_LENGTH_DEFAULT}); keep half of
         *                    it at least the target's receiver window.
         * @return this.
         */
        public Context termLength(final int lengthBytes)
        {
            termLength = lengthBytes;
            return this;
        }

        /** @return Aeron term length in bytes. */
        public int termLength()
        {
            return termLength;
        }

        /**
         * @param targetMs largest acceptable downtime for the default policy.
         * @return this.
         */
        public Context downtimeTargetMs(final long targetMs)
        {
            downtimeTargetMs = targetMs;
            return this;
        }

        /** @return the downtime target in milliseconds. */
        public long downtimeTargetMs()
        {
            return downtimeTargetMs;
        }

        /**
         * @param rounds iterative rounds before the default policy gives up.
         * @return this.
         */
        public Context maxRounds(final int rounds)
        {
            maxRounds = rounds;
            return this;
        }

        /** @return maximum iterative rounds. */
        public int maxRounds()
        {
            return maxRounds;
        }

        /**
         * @param timeMs elapsed time before the default policy gives up.
         * @return this.
         */
        public Context maxTimeMs(final long timeMs)
        {
            maxTimeMs = timeMs;
            return this;
        }

        /** @return maximum elapsed time in milliseconds. */
        public long maxTimeMs()
        {
            return maxTimeMs;
        }

        /**
         * @param bytesPerSec cap on the send rate, 0 for none.
         * @return this.
         */
        public Context maxBandwidthBytesPerSec(final long bytesPerSec)
        {
            maxBandwidthBytesPerSec = bytesPerSec;
            return this;
        }

        /** @return cap on the send rate in bytes per second, 0 for none. */
        public long maxBandwidthBytesPerSec()
        {
            return maxBandwidthBytesPerSec;
        }

        /**
         * @param bytesPerSec cap on the background push after a post-copy switchover, leaving the rest of the link
         *                    to pages the guest faults on (which are never held back, only charged to the cap); 0
         *                    keeps {@link #maxBandwidthBytesPerSec()}.
         * @return this.
         */
        public Context postcopyBandwidthBytesPerSec(final long bytesPerSec)
        {
            postcopyBandwidthBytesPerSec = bytesPerSec;
            return this;
        }

        /** @return cap on the post-copy background push in bytes per second, 0 for the pre-copy cap. */
        public long postcopyBandwidthBytesPerSec()
        {
            return postcopyBandwidthBytesPerSec;
        }

        /**
         * @param quietUs how long the post-copy background push holds back after each page request, so the faulted
         *                page's way through both hosts is clear of bulk; 0 never holds back. Trades push rate for
         *                fault latency while faults are frequent.
         * @return this.
         */
        public Context faultQuietUs(final long quietUs)
        {
            faultQuietUs = quietUs;
            return this;
        }

        /** @return microseconds the background push holds back after a page request. */
        public long faultQuietUs()
        {
            return faultQuietUs;
        }

        /**
         * @param timeoutMs to find a target and complete the handshake.
         * @return this.
         */
        public Context connectTimeoutMs(final long timeoutMs)
        {
            connectTimeoutMs = timeoutMs;
            return this;
        }

        /** @return the connect timeout in milliseconds. */
        public long connectTimeoutMs()
        {
            return connectTimeoutMs;
        }

        /**
         * @param timeoutMs from pause to the target's acknowledgement before resuming here.
         * @return this.
         */
        public Context switchoverTimeoutMs(final long timeoutMs)
        {
            switchoverTimeoutMs = timeoutMs;
            return this;
        }

        /** @return the switchover timeout in milliseconds. */
        public long switchoverTimeoutMs()
        {
            return switchoverTimeoutMs;
        }

        /**
         * @param marginMs the downtime guard, like vMotion's stun-time guard: if a stop-and-copy keeps the guest
         *                 paused longer than the downtime target (the one in force, a manager's change included) plus
         *                 this margin before the target has confirmed and COMMIT has gone, the source abandons the
         *                 switchover, tells the target, and resumes the guest here: the migration fails with
         *                 {@link ErrorCode#DOWNTIME_GUARD} and the guest never sees the long pause out. 0 (the
         *                 default) for never; post-copy switchovers are not guarded (the guest runs on the target at
         *                 once).
         * @return this.
         */
        public Context downtimeGuardMs(final long marginMs)
        {
            downtimeGuardMs = marginMs;
            return this;
        }

        /** @return the downtime guard's margin in milliseconds, 0 for none. */
        public long downtimeGuardMs()
        {
            return downtimeGuardMs;
        }

        /**
         * @param migrationPolicy deciding after each round; default built from the downtime target.
         * @return this.
         */
        public Context policy(final MigrationPolicy migrationPolicy)
        {
            policy = migrationPolicy;
            return this;
        }

        /** @return the policy. */
        public MigrationPolicy policy()
        {
            return policy;
        }

        /**
         * @param migrationStrategy which policy to build if {@link #policy(MigrationPolicy)} is not set.
         * @return this.
         */
        public Context strategy(final MigrationStrategy migrationStrategy)
        {
            strategy = migrationStrategy;
            return this;
        }

        /** @return the strategy. */
        public MigrationStrategy strategy()
        {
            return strategy;
        }

        /**
         * @param allowed whether this source may switch to post-copy; it also needs a target with post-copy enabled.
         *                Without post-copy the hybrid throttles the guest instead (auto-converge).
         * @return this.
         */
        public Context postcopyAllowed(final boolean allowed)
        {
            postcopyAllowed = allowed;
            return this;
        }

        /** @return whether this source may switch to post-copy. */
        public boolean postcopyAllowed()
        {
            return postcopyAllowed;
        }

        /**
         * @param skip whether the bulk pass asks the kernel which pages the guest never populated (page tables, and a
         *             file's data extents for file-backed memory) and sends those as zero runs without reading them:
         *             reading a page that was never written commits it, so a sparse guest would otherwise cost its
         *             full size in time and in resident memory. Where the kernel cannot tell, pages are read. On by
         *             default; off only to measure what it saves.
         * @return this.
         */
        public Context skipUnpopulated(final boolean skip)
        {
            skipUnpopulated = skip;
            return this;
        }

        /** @return whether the bulk pass skips pages the guest never populated. */
        public boolean skipUnpopulated()
        {
            return skipUnpopulated;
        }

        /**
         * @param mode which page encodings to use.
         * @return this.
         */
        public Context compression(final Compression mode)
        {
            compression = mode;
            return this;
        }

        /** @return which page encodings to use. */
        public Compression compression()
        {
            return compression;
        }

        /**
         * @param lengthBytes of sent page versions cached for delta encoding; 0 for the default (64 MiB or a quarter
         *                    of guest memory, whichever is smaller).
         * @return this.
         */
        public Context pageCacheBytes(final long lengthBytes)
        {
            pageCacheBytes = lengthBytes;
            return this;
        }

        /** @return bytes of sent page versions cached. */
        public long pageCacheBytes()
        {
            return pageCacheBytes;
        }

        /**
         * @param cachePolicy eviction policy of the page cache.
         * @return this.
         */
        public Context pageCachePolicy(final PageCachePolicy cachePolicy)
        {
            pageCachePolicy = cachePolicy;
            return this;
        }

        /** @return eviction policy of the page cache. */
        public PageCachePolicy pageCachePolicy()
        {
            return pageCachePolicy;
        }

        /**
         * Clone instead of move: when the migration completes, the guest resumes here too (it was paused only for
         * the switchover, or until post-copy delivered its last page) and the target receives it as a new guest.
         * The HELLO names {@code id} instead of {@link #vmId()}, so a target expecting the clone's id accepts it.
         * Both guests then run from the same memory at the switchover point: the hypervisor must give the clone its
         * own identity (MAC addresses, disks) before it resumes it.
         *
         * @param id the clone's vmId, or null (the default) to move the guest.
         * @return this.
         */
        public Context cloneVmId(final java.util.UUID id)
        {
            cloneVmId = id;
            return this;
        }

        /** @return the clone's vmId, or null if this migration moves the guest. */
        public java.util.UUID cloneVmId()
        {
            return cloneVmId;
        }

        /**
         * Fan-out: also send the migration to these followers, over the same data streams. Every data lane becomes
         * one Aeron multi-destination publication (manual control mode) with the target and each follower as a
         * destination, under minimum flow control: the slowest live receiver paces the stream, and one that stops
         * sending status messages for 2 s is dropped from the group, so a follower that fails or is closed never
         * stalls or fails the others. The source waits, within {@code connectTimeoutMs}, until every lane has every
         * receiver before its first frame. The target ({@link #targetEndpoint}) runs the protocol and gets the
         * hand-over; a follower ({@code MigrationTarget.Context.follower(true)}) applies and checks every page on its
         * own and ends, when the target commits a stop-and-copy, holding the guest as of the switchover; in
         * post-copy it is released. Followers cannot check the source's key or frame tags: use them on a trusted
         * network, without frame authentication or encryption.
         *
         * @param endpoints {@code host:port} of each follower's listen endpoint; none (the default) for a plain
         *                  migration.
         * @return this.
         */
        public Context followerEndpoints(final String... endpoints)
        {
            followerEndpoints = java.util.List.of(endpoints);
            return this;
        }

        /** @return the followers' endpoints, empty for a plain migration. */
        public java.util.List<String> followerEndpoints()
        {
            return followerEndpoints;
        }

        /**
         * @param id non-zero session id; default random.
         * @return this.
         */
        public Context migrationId(final long id)
        {
            migrationId = id;
            return this;
        }

        /** @return the session id. */
        public long migrationId()
        {
            return migrationId;
        }
    }
}
