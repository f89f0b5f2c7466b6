package io.pagestream.transport;

import io.aeron.Subscription;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * Opens streams without blocking a duty cycle: each {@code add...} call starts the work and returns a registration id
 * at once, and the matching getter returns the stream once it exists (null until then), so a session waits across
 * duty cycles instead of inside one. The production implementation is Aeron's asynchronous add; session tests use
 * links that open at once. Threading: the conductor's thread.
 */
public interface Links
{
    /**
     * @param channel  Aeron channel URI.
     * @param streamId stream id.
     * @return registration id.
     */
    long addExclusivePublication(String channel, int streamId);

    /**
     * @param registrationId from {@link #addExclusivePublication}.
     * @param backPressure   counter of refused offers, may be null.
     * @param adminActions   counter of admin-action retries, may be null.
     * @return the stream once made, else null.
     * @throws io.pagestream.api.MigrationException if the driver refused it.
     */
    FrameSink exclusivePublication(long registrationId, AtomicCounter backPressure, AtomicCounter adminActions);

    /**
     * @param channel  Aeron channel URI.
     * @param streamId stream id.
     * @return registration id of a publication many threads may offer to.
     */
    long addPublication(String channel, int streamId);

    /**
     * @param registrationId from {@link #addPublication}.
     * @return the stream once made, else null.
     */
    RequestChannel publication(long registrationId);

    /**
     * @param channel  Aeron channel URI.
     * @param streamId stream id.
     * @return registration id.
     */
    long addSubscription(String channel, int streamId);

    /**
     * @param registrationId from {@link #addSubscription}.
     * @return the subscription once made, else null.
     */
    Subscription subscription(long registrationId);

    /**
     * @param sink a stream from {@link #exclusivePublication}.
     * @return how many receivers its flow control counts now (a multi-destination stream under minimum flow
     * control), or -1 if this link cannot tell.
     */
    default int flowControlReceivers(final FrameSink sink)
    {
        return -1;
    }

    /**
     * Add a destination to a multi-destination stream, without waiting for the driver.
     *
     * @param sink     a stream from {@link #exclusivePublication} on a manual multi-destination channel.
     * @param endpoint {@code host:port} of the receiver.
     */
    default void addDestination(final FrameSink sink, final String endpoint)
    {
        throw new UnsupportedOperationException("these links have no multi-destination streams");
    }
}
