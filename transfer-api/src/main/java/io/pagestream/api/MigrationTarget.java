package io.pagestream.api;

import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.GuestMemory;
import org.agrona.concurrent.AgentInvoker;

import java.util.concurrent.CompletableFuture;

/**
 * The receiving side of one migration. Launched by {@code io.pagestream.PageStream.launchTarget(context)}; listens at
 * once, applies pages straight into guest memory and completes {@link #completion()} with
 * {@link MigrationResult#COMPLETED} when the guest may resume here. Until then the guest must not run on the target.
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
     * @return a snapshot of progress.
     */
    MigrationProgress progress();

    /**
     * Abandon the incoming migration; the source is told and keeps its guest running.
     */
    void cancel();

    /**
     * @return the invoker to drive in {@link ThreadingMode#INVOKER} mode, otherwise null.
     */
    AgentInvoker invoker();

    /**
     * @param pageIndex of a guest page.
     * @return true if the page's contents have arrived in this migration (zero pages included).
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

        private GuestMemory guestMemory;
        private DeviceState deviceState;
        private String listenEndpoint = System.getProperty(LISTEN_ENDPOINT_PROP_NAME, LISTEN_ENDPOINT_DEFAULT);
        private int receiverWindowLength =
            Integer.getInteger(RECEIVER_WINDOW_LENGTH_PROP_NAME, RECEIVER_WINDOW_LENGTH_DEFAULT);
        private long handshakeTimeoutMs = Long.getLong(HANDSHAKE_TIMEOUT_PROP_NAME, HANDSHAKE_TIMEOUT_MS_DEFAULT);
        private int maxDeviceStateBytes = Integer.getInteger(MAX_DEVICE_STATE_PROP_NAME, MAX_DEVICE_STATE_DEFAULT);
        private boolean memoryZeroed = true;

        /** {@inheritDoc} */
        public Context conclude()
        {
            super.conclude();
            require(null != guestMemory, "guestMemory", null, "must be set");
            require(null != deviceState, "deviceState", null, "must be set");
            requireEndpoint("listenEndpoint", listenEndpoint);
            require(receiverWindowLength >= 65536 && receiverWindowLength <= (64 << 20),
                "receiverWindowLength", receiverWindowLength, "must be from 64 KiB to 64 MiB");
            require(receiverWindowLength <= socketBufferLength(), "receiverWindowLength", receiverWindowLength,
                "must not exceed socketBufferLength " + socketBufferLength() + " (Aeron refuses such a channel)");
            require(handshakeTimeoutMs >= 0, "handshakeTimeoutMs", handshakeTimeoutMs, "must be 0 (forever) or more");
            require(maxDeviceStateBytes >= 0, "maxDeviceStateBytes", maxDeviceStateBytes, "must not be negative");
            return this;
        }

        /** @param memory the target guest's RAM, the same layout as the source's. @return this. */
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

        /** @param state restored before the target may resume. @return this. */
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

        /** @param endpoint {@code host:port} to listen on for the data stream. @return this. */
        public Context listenEndpoint(final String endpoint)
        {
            listenEndpoint = endpoint;
            return this;
        }

        /** @return the listen endpoint. */
        public String listenEndpoint()
        {
            return listenEndpoint;
        }

        /** @param lengthBytes how far the source may run ahead of this target. @return this. */
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

        /** @param timeoutMs to wait for a source's hello, 0 for ever. @return this. */
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

        /** @param lengthBytes largest device state accepted. @return this. */
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
    }
}
