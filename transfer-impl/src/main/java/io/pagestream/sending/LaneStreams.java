package io.pagestream.sending;

import io.pagestream.transport.FrameSink;
import io.pagestream.transport.Links;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * The Aeron side of the source's data lanes: every lane's session for the HELLO, whether every lane's stream is
 * connected and (in a fan-out) joined by every receiver, reopening the lanes on new sessions after a post-copy link
 * loss without blocking a duty cycle, and the bytes they put on the wire across such reopenings.
 * <p>
 * Threading: the source conductor's thread, while no lane is on a thread of its own.
 */
final class LaneStreams
{
    private static final long NO_REGISTRATION = -1;

    private final DataLane[] lanes;
    private final Links links;
    private final String channel;
    private final int firstStreamId;
    private final AtomicCounter backPressure;
    private final AtomicCounter adminActions;
    private final int followers;
    private final String targetEndpoint;
    private final long[] registrations;
    private final int[] sessionIds;
    private long retiredBytes;

    /**
     * @param lanes          the lanes, index i on stream {@code firstStreamId + i}.
     * @param links          to reopen lanes after a link loss.
     * @param channel        the lanes' channel (the target's endpoint, or a manual multi-destination one).
     * @param firstStreamId  stream id of lane 0.
     * @param backPressure   counter for reopened lanes' refused offers, may be null.
     * @param adminActions   counter for reopened lanes' admin actions, may be null.
     * @param followers      followers the lanes fan out to besides the target.
     * @param targetEndpoint the target's endpoint, the one destination of a reopened fan-out lane.
     */
    LaneStreams(
        final DataLane[] lanes,
        final Links links,
        final String channel,
        final int firstStreamId,
        final AtomicCounter backPressure,
        final AtomicCounter adminActions,
        final int followers,
        final String targetEndpoint)
    {
        this.lanes = lanes;
        this.links = links;
        this.channel = channel;
        this.firstStreamId = firstStreamId;
        this.backPressure = backPressure;
        this.adminActions = adminActions;
        this.followers = followers;
        this.targetEndpoint = targetEndpoint;
        this.registrations = new long[lanes.length];
        this.sessionIds = new int[lanes.length];
        java.util.Arrays.fill(registrations, NO_REGISTRATION);
    }

    /** @return every lane's Aeron session id, for the HELLO. */
    int[] sessionIds()
    {
        for (int i = 0; i < lanes.length; i++)
        {
            sessionIds[i] = lanes[i].sink().sessionId();
        }
        return sessionIds;
    }

    /** @return true once every lane's stream has a subscriber. */
    boolean allConnected()
    {
        for (final DataLane lane : lanes)
        {
            if (null == lane.sink() || !lane.sink().isConnected())
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @return true once every lane's flow control counts the target and every follower: a receiver that joins a
     * stream late starts where the stream is then, so a fan-out sends its first frame only after all have joined.
     * Always true without followers.
     */
    boolean everyReceiverJoined()
    {
        if (0 == followers)
        {
            return true;
        }
        for (final DataLane lane : lanes)
        {
            if (links.flowControlReceivers(lane.sink()) < 1 + followers)
            {
                return false;
            }
        }
        return true;
    }

    /** @return the fewest receivers any lane's flow control counts now, for messages. */
    int fewestReceivers()
    {
        int fewest = Integer.MAX_VALUE;
        for (final DataLane lane : lanes)
        {
            fewest = Math.min(fewest, links.flowControlReceivers(lane.sink()));
        }
        return fewest;
    }

    /** @return followers the lanes fan out to besides the target. */
    int followers()
    {
        return followers;
    }

    /** @return the first lane not connected, or -1. */
    int firstUnconnected()
    {
        for (final DataLane lane : lanes)
        {
            if (!lane.sink().isConnected())
            {
                return lane.index();
            }
        }
        return -1;
    }

    /**
     * Close every lane's stream and start opening new ones (new Aeron sessions); {@link #pollReopened()} completes.
     */
    void reopen()
    {
        for (int i = 0; i < lanes.length; i++)
        {
            final FrameSink old = lanes[i].sink();
            retiredBytes += old.bytesSent();
            old.close();
            registrations[i] = links.addExclusivePublication(channel, firstStreamId + i);
        }
    }

    /**
     * @return true once every lane reopened by {@link #reopen()} has its new stream.
     */
    boolean pollReopened()
    {
        boolean all = true;
        for (int i = 0; i < lanes.length; i++)
        {
            if (registrations[i] != NO_REGISTRATION)
            {
                final FrameSink sink = links.exclusivePublication(registrations[i], backPressure, adminActions);
                if (null == sink)
                {
                    all = false;
                }
                else
                {
                    registrations[i] = NO_REGISTRATION;
                    if (followers > 0)
                    {
                        // A reopened fan-out lane serves the target alone: post-copy released the followers.
                        links.addDestination(sink, targetEndpoint);
                    }
                    lanes[i].retarget(sink);
                }
            }
        }
        return all;
    }

    /** @return bytes every lane put on the wire, streams closed by recoveries included. */
    long bytesOnWire()
    {
        long bytes = retiredBytes;
        for (final DataLane lane : lanes)
        {
            bytes += lane.sink().bytesSent();
        }
        return bytes;
    }
}
