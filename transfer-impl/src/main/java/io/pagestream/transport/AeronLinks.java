package io.pagestream.transport;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.exceptions.RegistrationException;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * {@link Links} over an Aeron client's asynchronous adds ({@code asyncAdd...} then {@code get...} until ready).
 * Threading: the conductor's thread.
 */
public final class AeronLinks implements Links
{
    private final Aeron aeron;
    private final org.agrona.collections.LongArrayList publications = new org.agrona.collections.LongArrayList();
    private final org.agrona.collections.LongArrayList subscriptions = new org.agrona.collections.LongArrayList();

    /**
     * @param aeron the connected client.
     */
    public AeronLinks(final Aeron aeron)
    {
        this.aeron = aeron;
    }

    /** {@inheritDoc} */
    public long addExclusivePublication(final String channel, final int streamId)
    {
        final long registrationId = aeron.asyncAddExclusivePublication(channel, streamId);
        publications.addLong(registrationId);
        return registrationId;
    }

    /** {@inheritDoc} */
    public FrameSink exclusivePublication(
        final long registrationId, final AtomicCounter backPressure, final AtomicCounter adminActions)
    {
        final ExclusivePublication publication;
        try
        {
            publication = aeron.getExclusivePublication(registrationId);
        }
        catch (final RegistrationException ex)
        {
            throw new MigrationException(ErrorCode.PEER_LOST, "the media driver refused a publication: " +
                ex.getMessage(), ex);
        }
        return null == publication ? null : new FramePublisher(publication, backPressure, adminActions);
    }

    /** {@inheritDoc} */
    public long addPublication(final String channel, final int streamId)
    {
        final long registrationId = aeron.asyncAddPublication(channel, streamId);
        publications.addLong(registrationId);
        return registrationId;
    }

    /** {@inheritDoc} */
    public RequestChannel publication(final long registrationId)
    {
        final Publication publication;
        try
        {
            publication = aeron.getPublication(registrationId);
        }
        catch (final RegistrationException ex)
        {
            throw new MigrationException(ErrorCode.PEER_LOST, "the media driver refused a publication: " +
                ex.getMessage(), ex);
        }
        if (null == publication)
        {
            return null;
        }
        return new RequestChannel()
        {
            public long offer(final org.agrona.DirectBuffer buffer, final int offset, final int length)
            {
                return publication.offer(buffer, offset, length);
            }

            public void close()
            {
                org.agrona.CloseHelper.quietClose(publication);
            }
        };
    }

    /** {@inheritDoc} */
    public long addSubscription(final String channel, final int streamId)
    {
        final long registrationId = aeron.asyncAddSubscription(channel, streamId);
        subscriptions.addLong(registrationId);
        return registrationId;
    }

    /** {@inheritDoc} */
    public Subscription subscription(final long registrationId)
    {
        try
        {
            return aeron.getSubscription(registrationId);
        }
        catch (final RegistrationException ex)
        {
            throw new MigrationException(ErrorCode.PEER_LOST, "the media driver refused a subscription: " +
                ex.getMessage(), ex);
        }
    }

    /**
     * Remove every publication and subscription added here, taken or still pending (a no-op for those already
     * closed): a client shared with the embedder keeps nothing of this migration. Call after the agent closed.
     */
    public void releaseAll()
    {
        for (int i = 0; i < publications.size(); i++)
        {
            try
            {
                aeron.asyncRemovePublication(publications.getLong(i));
            }
            catch (final RuntimeException ignore)
            {
                // the client closed under us: nothing of ours is left in it
            }
        }
        for (int i = 0; i < subscriptions.size(); i++)
        {
            try
            {
                aeron.asyncRemoveSubscription(subscriptions.getLong(i));
            }
            catch (final RuntimeException ignore)
            {
                // as above
            }
        }
        publications.clear();
        subscriptions.clear();
    }

    /** {@inheritDoc} */
    public int flowControlReceivers(final FrameSink sink)
    {
        if (!(sink instanceof FramePublisher))
        {
            return -1;
        }
        final ExclusivePublication publication = ((FramePublisher)sink).publication();
        final org.agrona.concurrent.status.CountersReader counters = aeron.countersReader();
        final int sessionId = publication.sessionId();
        final int streamId = publication.streamId();
        for (int id = 0, max = counters.maxCounterId(); id < max; id++)
        {
            if (counters.getCounterState(id) == org.agrona.concurrent.status.CountersReader.RECORD_ALLOCATED &&
                counters.getCounterTypeId(id) == io.aeron.AeronCounters.FLOW_CONTROL_RECEIVERS_COUNTER_TYPE_ID)
            {
                final org.agrona.DirectBuffer meta = counters.metaDataBuffer();
                final int key = org.agrona.concurrent.status.CountersReader.metaDataOffset(id) +
                    org.agrona.concurrent.status.CountersReader.KEY_OFFSET;
                if (meta.getInt(key + SESSION_ID_KEY_OFFSET) == sessionId &&
                    meta.getInt(key + STREAM_ID_KEY_OFFSET) == streamId)
                {
                    return (int)counters.getCounterValue(id);
                }
            }
        }
        return 0;
    }

    /** {@inheritDoc} */
    public void addDestination(final FrameSink sink, final String endpoint)
    {
        ((FramePublisher)sink).publication().asyncAddDestination(Channels.destination(endpoint));
    }

    /** A stream counter's key: registration id (8 bytes), session id, stream id, then the channel. */
    private static final int SESSION_ID_KEY_OFFSET = 8;
    private static final int STREAM_ID_KEY_OFFSET = 12;
}
