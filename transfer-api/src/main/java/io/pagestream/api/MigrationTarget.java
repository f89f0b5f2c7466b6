package io.pagestream.api;

import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.GuestMemory;
import org.agrona.concurrent.AgentInvoker;

import java.util.concurrent.CompletableFuture;

/**
 * The receiving side of one migration. Launched by {@code io.pagestream.PageStream.launchTarget(context)}; listens at
 * once and applies pages straight into guest memory.
 * <p>
 * When the guest may run here is told by {@link #readyToRun()}: with {@link MigrationPhase#COMPLETE} after a
 * pre-copy migration (every page is in place), or with {@link MigrationPhase#POSTCOPY} when the source switched to
 * post-copy. In post-copy the guest runs before all pages have arrived, so the hypervisor's fault path must call
 * {@link #awaitPage(long, long)} (blocking) or {@link #requestPage(long)} (polling) before the guest touches a page
 * for which {@link #isPageReceived(long)} is false. Post-copy happens only if the context enables it.
 * <p>
 * Threading: every method is safe to call from any thread.
 */
public interface MigrationTarget extends AutoCloseable
{
    /**
     * @return completes with the report when the migration ends; {@link MigrationResult#COMPLETED} means every page
     * and the device state are in place and the guest may resume. Never completes exceptionally.
     */
    CompletableFuture<MigrationReport> completion();

    /**
     * @return completes when the guest may run on this host: with {@link MigrationPhase#POSTCOPY} (run now, fault
     * missing pages in through {@link #awaitPage(long, long)}) or {@link MigrationPhase#COMPLETE} (every page is
     * here); with {@link MigrationPhase#FAILED} or {@link MigrationPhase#CANCELLED} if it never may. Never completes
     * exceptionally.
     */
    CompletableFuture<MigrationPhase> readyToRun();

    /**
     * Resolve the one window a two-phase switchover cannot close by itself: the target sent COMPLETE, the source
     * may have sent COMMIT, and the link died between them. While it waits for COMMIT (re-sending COMPLETE, so a
     * source that committed answers again when the link returns, for up to {@code recoveryTimeoutMs}), the embedder
     * may ask the source's host out of band: a source whose report is COMPLETED committed, and keeps the guest
     * paused for good; one that failed resumed it there. Then {@code resolveCommit(true)} resumes the guest here
     * (the migration completes, {@link #readyToRun()} with COMPLETE), {@code resolveCommit(false)} ends it here
     * without resuming (CANCELLED). Any thread; applied at the agent's next duty cycle.
     *
     * @param sourceCommitted what the source's side says.
     * @return true if this target was waiting for COMMIT and takes the answer; false otherwise (nothing changes).
     */
    boolean resolveCommit(boolean sourceCommitted);

    /**
     * The blocking fault path: return once the page's contents are in guest memory. The first call for a missing
     * page sends a request that the source answers on the urgent lane, ahead of bulk pages; the request is repeated
     * while the wait lasts, so it survives a reconnection. Cheap when the page is present (one acquire load).
     * Fault service times (of calls that had to wait) go into the histogram reported as {@code postcopy} figures.
     *
     * @param pageIndex of the guest page the vCPU touched.
     * @param timeoutNs how long to wait at most.
     * @return true once the page is present; false if {@code timeoutNs} passed first (the caller may call again).
     * @throws IndexOutOfBoundsException if the page index is outside guest memory.
     * @throws MigrationException with {@link ErrorCode#GUEST_LOST} if the migration failed after the guest started
     *                            running here: the page will never arrive and the guest must not continue.
     */
    boolean awaitPage(long pageIndex, long timeoutNs);

    /**
     * The polling fault path: never blocks. If the page is missing, a request for it is sent (at most one per page
     * per retry interval); poll again with {@link #isPageReceived(long)} or this method.
     *
     * @param pageIndex of the guest page.
     * @return true if the page is present now.
     * @throws IndexOutOfBoundsException if the page index is outside guest memory.
     * @throws MigrationException with {@link ErrorCode#GUEST_LOST} as for {@link #awaitPage(long, long)}.
     */
    boolean requestPage(long pageIndex);

    /**
     * @return a snapshot of progress, from any thread; after {@link #close()}, the figures as they were at close
     * (a read racing the close is waited out before the counters' memory goes, never a read of freed memory).
     */
    MigrationProgress progress();

    /**
     * Abandon the incoming migration before the guest runs here; the source is told and keeps its guest running.
     * Once the guest runs here (post-copy), pages it lacks exist only on the source, so a cancel has no effect.
     */
    void cancel();

    /**
     * @return the invoker to drive in {@link ThreadingMode#INVOKER} mode, otherwise null.
     */
    AgentInvoker invoker();

    /**
     * @return the {@code host:port} this target listens on for the source: the context's listen endpoint, with the
     * port the kernel chose when that asked for port 0. This is what the source's target endpoint must be.
     */
    String listenEndpoint();

    /**
     * @param pageIndex of a guest page.
     * @return true if the page's current contents are in guest memory (zero pages included); in post-copy, false
     * for a page whose newer version has not arrived yet. An acquire load: the contents are visible once it is true.
     */
    boolean isPageReceived(long pageIndex);

    /**
     * Cancel if still running, stop the agent, close Aeron and the embedded driver. Idempotent.
     */
    void close();

    /**
     * Configuration of a target.
     */
    final class Context extends MigrationContext<Context>
    {
        /** Where this target listens for the data stream, {@code host:port}. */
        public static final String LISTEN_ENDPOINT_PROP_NAME = "pagestream.listen.endpoint";
        /** Default listen endpoint. */
        public static final String LISTEN_ENDPOINT_DEFAULT = "127.0.0.1:40400";
        /** Receiver window in bytes: how far the source may run ahead of what this target has consumed. */
        public static final String RECEIVER_WINDOW_LENGTH_PROP_NAME = "pagestream.receiver.window.length";
        /** Default receiver window: 2 MiB. */
        public static final int RECEIVER_WINDOW_LENGTH_DEFAULT = 2 * 1024 * 1024;
        /** Milliseconds to wait for a source's hello; 0 waits forever. */
        public static final String HANDSHAKE_TIMEOUT_PROP_NAME = "pagestream.handshake.timeout.ms";
        /** Default handshake timeout. */
        public static final long HANDSHAKE_TIMEOUT_MS_DEFAULT = 60_000;
        /** Largest device state accepted, in bytes. */
        public static final String MAX_DEVICE_STATE_PROP_NAME = "pagestream.max.device.state.bytes";
        /** Default maximum device state: 64 MiB. */
        public static final int MAX_DEVICE_STATE_DEFAULT = 64 * 1024 * 1024;

        /**
         * Where this target receives the urgent lane, {@code host:port}: its own socket, so a faulted page never
         * queues behind bulk pages in a socket buffer. Default: the listen host, the listen port plus two
         * (40402 beside the default 40400; plus one is the source's default control port, 40401).
         */
        public static final String URGENT_ENDPOINT_PROP_NAME = "pagestream.urgent.endpoint";
        /** Whether this target accepts post-copy; only if its hypervisor wires the fault path. */
        public static final String POSTCOPY_ENABLED_PROP_NAME = "pagestream.postcopy.enabled";
        /** Set to true to let PageStream own the post-copy fault path through userfaultfd. */
        public static final String KERNEL_FAULT_PATH_PROP_NAME = "pagestream.kernel.fault.path";
        /** Set to false to accept a guest whatever the memory this process may have. */
        public static final String ADMISSION_CHECK_PROP_NAME = "pagestream.admission.check";
        /** Memory kept free beyond the guest's pages by the admission check (Aeron's buffers, the JVM). */
        public static final long ADMISSION_HEADROOM_BYTES = 64L << 20;
        /**
         * Post-copy faults served slower than this are recorded as the {@code io.pagestream.PostcopyFault} JFR
         * event: a plain number in microseconds, or a duration in Agrona's syntax (2ms).
         */
        public static final String JFR_FAULT_THRESHOLD_PROP_NAME = "pagestream.jfr.fault.threshold.us";
        /** Default post-copy fault event threshold: 1 ms. */
        public static final long JFR_FAULT_THRESHOLD_US_DEFAULT = 1_000;

        private GuestMemory guestMemory;
        private DeviceState deviceState;
        private String listenEndpoint = System.getProperty(LISTEN_ENDPOINT_PROP_NAME, LISTEN_ENDPOINT_DEFAULT);
        private int receiverWindowLength =
            intSizeProperty(RECEIVER_WINDOW_LENGTH_PROP_NAME, RECEIVER_WINDOW_LENGTH_DEFAULT);
        private long handshakeTimeoutMs = msProperty(HANDSHAKE_TIMEOUT_PROP_NAME, HANDSHAKE_TIMEOUT_MS_DEFAULT);
        private int maxDeviceStateBytes = intSizeProperty(MAX_DEVICE_STATE_PROP_NAME, MAX_DEVICE_STATE_DEFAULT);
        private boolean memoryZeroed = true;
        private boolean postcopyEnabled = booleanProperty(POSTCOPY_ENABLED_PROP_NAME, false);
        private io.pagestream.api.guest.PageInstaller pageInstaller;
        private boolean kernelFaultPath = booleanProperty(KERNEL_FAULT_PATH_PROP_NAME, false);
        private boolean admissionCheck = booleanProperty(ADMISSION_CHECK_PROP_NAME, true);
        private String urgentEndpoint = System.getProperty(URGENT_ENDPOINT_PROP_NAME);
        private long jfrFaultThresholdUs = usProperty(JFR_FAULT_THRESHOLD_PROP_NAME, JFR_FAULT_THRESHOLD_US_DEFAULT);
        private boolean follower;

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
            require(null != deviceState, "deviceState", null, "must be set");
            requireEndpoint("listenEndpoint", listenEndpoint, true);
            final int colon = listenEndpoint.lastIndexOf(':');
            final int port = Integer.parseInt(listenEndpoint.substring(colon + 1));
            if (null == urgentEndpoint)
            {
                require(port < 65534, "urgentEndpoint", null, "cannot default to listen port + 2 when that is " +
                    (port + 2) + "; set it");
                urgentEndpoint = listenEndpoint.substring(0, colon + 1) + (0 == port ? 0 : port + 2);
            }
            requireEndpoint("urgentEndpoint", urgentEndpoint, true);
            require(!urgentEndpoint.equals(listenEndpoint) || 0 == port, "urgentEndpoint", urgentEndpoint,
                "must differ from listenEndpoint");
            require(receiverWindowLength >= 65536 && receiverWindowLength <= (64 << 20),
                "receiverWindowLength", receiverWindowLength, "must be from 64 KiB to 64 MiB");
            require(receiverWindowLength <= socketBufferLength(), "receiverWindowLength", receiverWindowLength,
                "must not exceed socketBufferLength " + socketBufferLength() + " (Aeron refuses such a channel)");
            require(handshakeTimeoutMs >= 0, "handshakeTimeoutMs", handshakeTimeoutMs, "must be 0 (forever) or more");
            require(maxDeviceStateBytes >= 0, "maxDeviceStateBytes", maxDeviceStateBytes, "must not be negative");
            require(jfrFaultThresholdUs >= 0, "jfrFaultThresholdUs", jfrFaultThresholdUs,
                "must be 0 (every fault) or positive");
            require(!(kernelFaultPath && null != pageInstaller), "kernelFaultPath", true,
                "and a pageInstaller exclude each other: PageStream owns the userfaultfd, or the VMM does");
            require(!(kernelFaultPath || null != pageInstaller) || postcopyEnabled, "postcopyEnabled", false,
                "must be true with " + (kernelFaultPath ? "kernelFaultPath" : "a pageInstaller"));
            require(!follower || (null == secretKey() && !postcopyEnabled && !frameAuthentication() &&
                !frameEncryption()), "follower", true, "needs no secret key, no frame protection and post-copy " +
                "off: a follower answers nothing, so it can check no proof of the source's, and it takes no " +
                "post-copy (allowUnauthenticated(true), on a trusted network)");
            return this;
        }

        /**
         * A follower of a fan-out ({@code MigrationSource.Context.followerEndpoints}): it listens like a target,
         * applies and checks every page and the device state on its own, but sends nothing back (the source's
         * target runs the protocol for all). When the target commits a stop-and-copy the follower completes holding
         * the guest as it was at the switchover ({@code readyToRun} gives {@code COMPLETE}: the VMM may run it as a
         * clone, under its own identity, or release it); if the hand-over goes to post-copy it is released
         * ({@code CANCELLED}). A follower cannot check the source's key or frame tags, and takes no post-copy.
         *
         * @param isFollower true for a follower; false (the default) for a target.
         * @return this.
         */
        public Context follower(final boolean isFollower)
        {
            follower = isFollower;
            return this;
        }

        /** @return true if this is a follower of a fan-out. */
        public boolean follower()
        {
            return follower;
        }

        /**
         * @param memory the target guest's RAM, the same layout as the source's.
         * @return this.
         */
        public Context guestMemory(final GuestMemory memory)
        {
            guestMemory = memory;
            return this;
        }

        /** @return the target guest's RAM. */
        public GuestMemory guestMemory()
        {
            return guestMemory;
        }

        /**
         * @param state restored before the target may resume.
         * @return this.
         */
        public Context deviceState(final DeviceState state)
        {
            deviceState = state;
            return this;
        }

        /** @return the device state sink. */
        public DeviceState deviceState()
        {
            return deviceState;
        }

        /**
         * @param endpoint {@code host:port} to listen on for the data stream. Port 0: a free port the kernel chooses
         *                 at launch, written back here and returned by {@link MigrationTarget#listenEndpoint()}, for
         *                 the embedder to tell the source.
         * @return this.
         */
        public Context listenEndpoint(final String endpoint)
        {
            listenEndpoint = endpoint;
            return this;
        }

        /**
         * @param endpoint {@code host:port} where the urgent lane arrives (post-copy faults); its port is told to the
         *                 source in the handshake. Default: listen port plus two, or any free port when the listen
         *                 port is 0. Port 0: a free port the kernel chooses at launch.
         * @return this.
         */
        public Context urgentEndpoint(final String endpoint)
        {
            urgentEndpoint = endpoint;
            return this;
        }

        /** @return where the urgent lane arrives. */
        public String urgentEndpoint()
        {
            return urgentEndpoint;
        }

        /** @return the listen endpoint. */
        public String listenEndpoint()
        {
            return listenEndpoint;
        }

        /**
         * @param lengthBytes how far the source may run ahead of this target.
         * @return this.
         */
        public Context receiverWindowLength(final int lengthBytes)
        {
            receiverWindowLength = lengthBytes;
            return this;
        }

        /** @return the receiver window in bytes. */
        public int receiverWindowLength()
        {
            return receiverWindowLength;
        }

        /**
         * @param timeoutMs to wait for a source's hello, 0 for ever.
         * @return this.
         */
        public Context handshakeTimeoutMs(final long timeoutMs)
        {
            handshakeTimeoutMs = timeoutMs;
            return this;
        }

        /** @return the handshake timeout in milliseconds. */
        public long handshakeTimeoutMs()
        {
            return handshakeTimeoutMs;
        }

        /**
         * @param lengthBytes largest device state accepted.
         * @return this.
         */
        public Context maxDeviceStateBytes(final int lengthBytes)
        {
            maxDeviceStateBytes = lengthBytes;
            return this;
        }

        /** @return largest device state accepted in bytes. */
        public int maxDeviceStateBytes()
        {
            return maxDeviceStateBytes;
        }

        /**
         * @param zeroed true if the target's guest memory is known to be all zero at the start (freshly mapped), so
         *               zero pages need not be written; false to clear each zero page explicitly.
         * @return this.
         */
        public Context memoryZeroed(final boolean zeroed)
        {
            memoryZeroed = zeroed;
            return this;
        }

        /** @return whether target memory starts all zero. */
        public boolean memoryZeroed()
        {
            return memoryZeroed;
        }

        /**
         * @param enabled true if this target may run the guest in post-copy: the hypervisor's fault path calls
         *                {@link MigrationTarget#awaitPage(long, long)} or {@link MigrationTarget#requestPage(long)}
         *                before the guest touches a missing page. Off by default: without a fault path, post-copy
         *                would run the guest on stale pages.
         * @return this.
         */
        public Context postcopyEnabled(final boolean enabled)
        {
            postcopyEnabled = enabled;
            return this;
        }

        /** @return whether this target accepts post-copy. */
        public boolean postcopyEnabled()
        {
            return postcopyEnabled;
        }

        /**
         * @param enabled true (the default) to refuse, in the handshake and before any page moves, a guest this
         *                process cannot hold: the bytes the source will send (its populated pages, from its HELLO)
         *                less what the target's guest memory already holds, plus
         *                {@value #ADMISSION_HEADROOM_BYTES} bytes, against MemAvailable bounded by the least room
         *                (limit less usage) that this process's memory cgroup or any ancestor up to the root leaves
         *                (a guest of 2 MiB pages is admitted: its huge pages were reserved when its memory was
         *                mapped). A refusal is {@link ErrorCode#INSUFFICIENT_MEMORY} on both sides, naming the
         *                figures; the guest keeps running on the source.
         * @return this.
         */
        public Context admissionCheck(final boolean enabled)
        {
            admissionCheck = enabled;
            return this;
        }

        /** @return whether the admission check runs. */
        public boolean admissionCheck()
        {
            return admissionCheck;
        }

        /**
         * @param enabled true to have PageStream own the post-copy fault path (needs {@link #postcopyEnabled}): at a
         *                post-copy switchover it discards the stale pages, registers guest memory (private
         *                anonymous) with a userfaultfd for missing pages, and serves faults on a thread of its own;
         *                guest threads read and write plain memory and block in the kernel until their page is
         *                installed (UFFDIO_COPY, or UFFDIO_ZEROPAGE for zero pages). The launch fails with
         *                {@link ErrorCode#MISSING_CAPABILITY}, naming why, where the kernel has no userfaultfd for
         *                this process, and where guest memory is file-backed: a file, a memfd or other shared memory
         *                (MADV_DONTNEED there leaves the stale page readable through the file, and missing-page
         *                faults never fire), or where /proc/self/maps cannot be read to tell. For such memory give
         *                the target a {@link #pageInstaller} that registers it for MINOR faults and installs pages
         *                by writing through a second mapping plus UFFDIO_CONTINUE, or map guest memory private and
         *                anonymous (or hugetlb). Guest threads that are Java
         *                threads must touch each page from native code first (a Java thread blocked in the kernel
         *                on a missing page holds up the JVM's safepoints, the fault thread's included: the whole
         *                JVM stops); a VMM's vCPUs run natively and need nothing.
         * @return this.
         */
        public Context kernelFaultPath(final boolean enabled)
        {
            kernelFaultPath = enabled;
            return this;
        }

        /** @return whether PageStream owns the fault path through userfaultfd. */
        public boolean kernelFaultPath()
        {
            return kernelFaultPath;
        }

        /**
         * @param installer the VMM's page-install hook, for a VMM that owns the userfaultfd of its guest memory
         *                  (needs {@link #postcopyEnabled}); null for none.
         * @return this.
         */
        public Context pageInstaller(final io.pagestream.api.guest.PageInstaller installer)
        {
            pageInstaller = installer;
            return this;
        }

        /** @return the VMM's page-install hook, or null. */
        public io.pagestream.api.guest.PageInstaller pageInstaller()
        {
            return pageInstaller;
        }

        /**
         * @param thresholdUs post-copy faults served in this many microseconds or more are recorded as the
         *                    {@code io.pagestream.PostcopyFault} JFR event (when JFR records it); 0 records every
         *                    fault. Every fault is in the fault histogram whatever this is. Default: the
         *                    {@value #JFR_FAULT_THRESHOLD_PROP_NAME} system property, else
         *                    {@value #JFR_FAULT_THRESHOLD_US_DEFAULT}.
         * @return this.
         */
        public Context jfrFaultThresholdUs(final long thresholdUs)
        {
            jfrFaultThresholdUs = thresholdUs;
            return this;
        }

        /** @return the post-copy fault event's threshold in microseconds. */
        public long jfrFaultThresholdUs()
        {
            return jfrFaultThresholdUs;
        }
    }
}
