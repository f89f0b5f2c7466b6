package io.pagestream.transport;

import io.aeron.ChannelUriStringBuilder;

/**
 * Builds the Aeron channel URIs PageStream uses, so both sides agree on them.
 */
public final class Channels
{
    /** Term length of the control stream; control frames are small. */
    public static final int CONTROL_TERM_LENGTH = 1024 * 1024;
    /** Term length of the urgent lane: it carries one page per fault, never a backlog. */
    public static final int URGENT_TERM_LENGTH = 1024 * 1024;
    /** Receiver window of the urgent lane. */
    public static final int URGENT_WINDOW_LENGTH = 256 * 1024;
    /** MTU of the control stream. */
    public static final int CONTROL_MTU = 8192;

    private Channels()
    {
    }

    /**
     * Add a subscription on a port a subscription of this client has just given up: the driver's receiver closes
     * that socket on its own thread, so a bind refused as in use is tried again for up to a second.
     *
     * @param aeron    the client.
     * @param channel  with an explicit port.
     * @param streamId the stream.
     * @return the subscription.
     */
    public static io.aeron.Subscription rebind(final io.aeron.Aeron aeron, final String channel, final int streamId)
    {
        final long deadlineNs = System.nanoTime() + 1_000_000_000L;
        while (true)
        {
            try
            {
                return aeron.addSubscription(channel, streamId);
            }
            catch (final io.aeron.exceptions.RegistrationException ex)
            {
                if (System.nanoTime() - deadlineNs > 0 || null == ex.getMessage() ||
                    !ex.getMessage().contains("Address already in use"))
                {
                    throw ex;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
            }
        }
    }

    /**
     * The endpoint a subscription bound: the requested one, or, when that asked for port 0, the same host with the
     * port the kernel chose. The driver binds before it answers the subscription's registration, so the answer is
     * there at once; this waits up to a second for it all the same.
     *
     * @param requested    {@code host:port} in the subscription's channel.
     * @param subscription added on it.
     * @return {@code host:port} with a real port.
     * @throws IllegalStateException if the driver did not say which port it bound.
     */
    public static String boundEndpoint(final String requested, final io.aeron.Subscription subscription)
    {
        final int colon = requested.lastIndexOf(':');
        if (!"0".equals(requested.substring(colon + 1)))
        {
            return requested;
        }
        final long deadlineNs = System.nanoTime() + 1_000_000_000L;
        String resolved;
        while (null == (resolved = subscription.resolvedEndpoint()))
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                throw new IllegalStateException("the media driver did not say which port it bound for " + requested);
            }
            Thread.onSpinWait();
        }
        return requested.substring(0, colon + 1) + resolved.substring(resolved.lastIndexOf(':') + 1);
    }

    /**
     * @param targetEndpoint   {@code host:port} of the target.
     * @param mtuLength        Aeron MTU in bytes.
     * @param termLength       term length in bytes.
     * @param socketBufferLength UDP send buffer in bytes.
     * @return the source's data publication channel.
     */
    public static String dataPublication(
        final String targetEndpoint, final int mtuLength, final int termLength, final int socketBufferLength)
    {
        return new ChannelUriStringBuilder()
            .media("udp")
            .endpoint(targetEndpoint)
            .mtu(mtuLength)
            .termLength(termLength)
            .socketSndbufLength(socketBufferLength)
            .build();
    }

    /**
     * The data publication of a fan-out: manual multi-destination (each destination added with
     * {@link #destination(String)}), under minimum flow control, so the slowest receiver that is alive paces the
     * stream; one silent for {@link #FOLLOWER_TIMEOUT} leaves the group and no longer holds it back.
     *
     * @param mtuLength          Aeron MTU in bytes.
     * @param termLength         term length in bytes.
     * @param socketBufferLength UDP send buffer in bytes.
     * @return the channel.
     */
    public static String multiDestinationDataPublication(
        final int mtuLength, final int termLength, final int socketBufferLength)
    {
        return new ChannelUriStringBuilder()
            .media("udp")
            .controlMode(io.aeron.CommonContext.MDC_CONTROL_MODE_MANUAL)
            .flowControl("min,t:" + FOLLOWER_TIMEOUT)
            .mtu(mtuLength)
            .termLength(termLength)
            .socketSndbufLength(socketBufferLength)
            .build();
    }

    /** How long a receiver of a fan-out may be silent before the stream goes on without it. */
    public static final String FOLLOWER_TIMEOUT = "2s";

    /**
     * @param endpoint {@code host:port} of a receiver.
     * @return the destination URI to add to a multi-destination publication.
     */
    public static String destination(final String endpoint)
    {
        return new ChannelUriStringBuilder().media("udp").endpoint(endpoint).build();
    }

    /**
     * @param listenEndpoint       {@code host:port} to bind.
     * @param socketBufferLength   UDP receive buffer in bytes.
     * @param receiverWindowLength receiver window in bytes.
     * @return the target's data subscription channel.
     */
    public static String dataSubscription(
        final String listenEndpoint, final int socketBufferLength, final int receiverWindowLength)
    {
        return new ChannelUriStringBuilder()
            .media("udp")
            .endpoint(listenEndpoint)
            .socketRcvbufLength(socketBufferLength)
            .receiverWindowLength(receiverWindowLength)
            .build();
    }

    /**
     * @param controlEndpoint {@code host:port} where the source listens for control frames.
     * @return the channel both the target's control publication and the source's control subscription use.
     */
    public static String control(final String controlEndpoint)
    {
        return new ChannelUriStringBuilder()
            .media("udp")
            .endpoint(controlEndpoint)
            .mtu(CONTROL_MTU)
            .termLength(CONTROL_TERM_LENGTH)
            .build();
    }

    /**
     * @param targetEndpoint {@code host:port} the source reaches the target's data stream at.
     * @param urgentPort     the port the target named for its urgent lane.
     * @return {@code host:urgentPort}.
     */
    public static String urgentEndpoint(final String targetEndpoint, final int urgentPort)
    {
        return targetEndpoint.substring(0, targetEndpoint.lastIndexOf(':') + 1) + urgentPort;
    }

    /**
     * @param mtuLength Aeron MTU in bytes.
     * @return the largest frame {@code tryClaim} and unfragmented {@code offer} accept at that MTU.
     */
    public static int maxPayloadLength(final int mtuLength)
    {
        return mtuLength - io.aeron.protocol.DataHeaderFlyweight.HEADER_LENGTH;
    }
}
