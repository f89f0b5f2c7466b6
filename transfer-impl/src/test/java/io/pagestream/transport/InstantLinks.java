package io.pagestream.transport;

import io.aeron.Subscription;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link Links} for session tests: every stream is a {@link RecordingSink} (or a recording request channel), made
 * after a chosen number of polls so tests can see a session wait across duty cycles. Subscriptions never appear.
 */
public final class InstantLinks implements Links
{
    private final Map<Long, RecordingSink> sinks = new HashMap<>();
    private final Map<Long, Integer> pollsLeft = new HashMap<>();
    private final List<String> channels = new ArrayList<>();
    private final List<Long> requestOffers = new ArrayList<>();
    private int pollsBeforeReady;
    private long nextId = 1;
    private int nextSessionId = 100;

    /**
     * @param polls how many getter calls return null before a stream appears.
     * @return this.
     */
    public InstantLinks pollsBeforeReady(final int polls)
    {
        pollsBeforeReady = polls;
        return this;
    }

    /** {@inheritDoc} */
    public long addExclusivePublication(final String channel, final int streamId)
    {
        channels.add(channel + " stream " + streamId);
        final long id = nextId++;
        pollsLeft.put(id, pollsBeforeReady);
        return id;
    }

    /** {@inheritDoc} */
    public FrameSink exclusivePublication(
        final long registrationId, final AtomicCounter backPressure, final AtomicCounter adminActions)
    {
        final int left = pollsLeft.getOrDefault(registrationId, 0);
        if (left > 0)
        {
            pollsLeft.put(registrationId, left - 1);
            return null;
        }
        return sinks.computeIfAbsent(registrationId, id -> new RecordingSink(nextSessionId++,
            8192 - 32 - io.pagestream.security.FrameMac.TAG_LENGTH));
    }

    /** {@inheritDoc} */
    public long addPublication(final String channel, final int streamId)
    {
        return addExclusivePublication(channel, streamId);
    }

    /** {@inheritDoc} */
    public RequestChannel publication(final long registrationId)
    {
        final int left = pollsLeft.getOrDefault(registrationId, 0);
        if (left > 0)
        {
            pollsLeft.put(registrationId, left - 1);
            return null;
        }
        return (final DirectBuffer buffer, final int offset, final int length) ->
        {
            requestOffers.add((long)length);
            return 1;
        };
    }

    /** {@inheritDoc} */
    public long addSubscription(final String channel, final int streamId)
    {
        channels.add(channel + " stream " + streamId);
        return nextId++;
    }

    /** {@inheritDoc} */
    public Subscription subscription(final long registrationId)
    {
        return null;
    }

    /** @return every sink made so far, in registration order. */
    public List<RecordingSink> sinks()
    {
        final List<RecordingSink> made = new ArrayList<>();
        sinks.keySet().stream().sorted().forEach(id -> made.add(sinks.get(id)));
        return made;
    }

    /** @return channels and streams asked for, in order. */
    public List<String> channels()
    {
        return channels;
    }

    /** @return page requests offered, by length. */
    public List<Long> requestOffers()
    {
        return requestOffers;
    }
}
