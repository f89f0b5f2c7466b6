package io.pagestream.receiving;

import io.aeron.Subscription;
import io.pagestream.api.MigrationTarget;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.security.FrameGuard;
import io.pagestream.security.FrameMac;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.transport.Channels;
import io.pagestream.transport.Links;

/**
 * The target's lanes as one: a {@link DataLaneAdapter} per data lane the hello named (lane 0 exists from launch;
 * the others are subscribed to, without blocking, when the first hello arrives) and the urgent lane. Pins and unpins
 * them together, gives them their frame keys, and reads them in the order the round barrier and post-copy allow.
 * <p>
 * Threading: the target conductor's thread.
 */
final class ReceivingLanes implements AutoCloseable
{
    private static final int POSTCOPY_FRAGMENTS_PER_POLL = 8;
    private static final int POSTCOPY_POLLS = 8;

    private final MigrationTarget.Context ctx;
    private final Links links;
    private final MigrationCounters counters;
    private final DataListener listener;
    private final GuestImage image;
    private final DataLaneAdapter[] lanes = new DataLaneAdapter[HelloFlyweight.MAX_LANES];
    private final UrgentLaneAdapter urgent;
    private int laneCount = 1;

    ReceivingLanes(
        final MigrationTarget.Context ctx,
        final Links links,
        final MigrationCounters counters,
        final DataListener listener,
        final GuestImage image,
        final Subscription dataSubscription,
        final Subscription urgentSubscription)
    {
        this.ctx = ctx;
        this.links = links;
        this.counters = counters;
        this.listener = listener;
        this.image = image;
        this.urgent = new UrgentLaneAdapter(urgentSubscription, listener,
            new FrameGuard("urgent lane", FrameGuard.FailurePolicy.DROP_AND_COUNT,
            counters.get(CounterType.FOREIGN_FRAMES_DROPPED)).requireVerifier(ctx.frameAuthentication()),
            counters.get(CounterType.FOREIGN_FRAMES_DROPPED), counters.get(CounterType.BAD_FRAMES),
            counters.get(CounterType.BYTES_RECEIVED));
        lanes[0] = newLane(0, dataSubscription);
    }

    private DataLaneAdapter newLane(final int lane, final Subscription subscription)
    {
        final DataLaneAdapter adapter = new DataLaneAdapter(lane, subscription, links, listener,
            new FrameGuard("data lane " + lane, FrameGuard.FailurePolicy.FAIL_MIGRATION, null),
            counters.get(CounterType.FOREIGN_FRAMES_DROPPED), counters.get(CounterType.BAD_FRAMES),
            counters.get(CounterType.BYTES_RECEIVED));
        adapter.rejectForeignImages(counters.get(CounterType.FOREIGN_IMAGES_REJECTED));
        return adapter;
    }

    int count()
    {
        return laneCount;
    }

    /**
     * @param lane a data lane.
     * @return its adapter.
     */
    DataLaneAdapter lane(final int lane)
    {
        return lanes[lane];
    }

    /**
     * Pin every lane to the sessions an accepted hello named; on the first hello, subscribe to the lanes after 0.
     *
     * @param acceptor    holding the accepted hello.
     * @param firstHello  true for the first hello of this migration.
     */
    void pin(final HelloAcceptor acceptor, final boolean firstHello)
    {
        if (firstHello)
        {
            laneCount = acceptor.laneCount();
            image.laneCount(laneCount);
            final String channel = Channels.dataSubscription(ctx.listenEndpoint(), ctx.socketBufferLength(),
                ctx.receiverWindowLength());
            for (int i = 1; i < laneCount; i++)
            {
                lanes[i] = newLane(i, null);
                lanes[i].subscribe(channel, ctx.dataStreamId() + i);
            }
        }
        for (int i = 0; i < laneCount; i++)
        {
            lanes[i].pin(acceptor.laneSessionId(i), acceptor.migrationId());
        }
        urgent.migrationId(acceptor.migrationId());
    }

    /** Unpin every lane and forget the frame keys: wait for a resumed source. */
    void unpin()
    {
        for (int i = 0; i < laneCount; i++)
        {
            lanes[i].unpin();
        }
        urgent.guard().verifier(null);
    }

    /**
     * Verify every data and urgent frame under the session's key from now on.
     *
     * @param frameKey the session's frame key.
     */
    void verify(final byte[] frameKey)
    {
        for (int i = 0; i < laneCount; i++)
        {
            lanes[i].guard().verifier(new FrameMac(frameKey, FrameMac.dataLane(i), ctx.frameEncryption()));
        }
        urgent.guard().verifier(new FrameMac(frameKey, FrameMac.LANE_URGENT, ctx.frameEncryption()));
    }

    /**
     * Read the data lanes the round barrier lets through.
     *
     * @param limit frames per lane at most.
     * @return frames read.
     */
    int poll(final int limit)
    {
        int work = 0;
        for (int i = 0; i < laneCount; i++)
        {
            if (image.mayPoll(i))
            {
                work += lanes[i].poll(limit);
            }
        }
        return work;
    }

    /**
     * Post-copy: the urgent lane before, and between, small batches of the pushed pages.
     *
     * @param stillPostcopy true while the conductor stays in post-copy (a frame may end it).
     * @return frames read.
     */
    int pollPostcopy(final java.util.function.BooleanSupplier stillPostcopy)
    {
        int work = urgent.poll();
        for (int i = 0; i < POSTCOPY_POLLS && stillPostcopy.getAsBoolean(); i++)
        {
            final int fragments = poll(POSTCOPY_FRAGMENTS_PER_POLL);
            work += fragments;
            if (stillPostcopy.getAsBoolean())
            {
                work += urgent.poll();
            }
            if (fragments == 0)
            {
                break;
            }
        }
        return work;
    }

    /** @return the protocol version of the last hello refused for its version, 0 if none. */
    int refusedVersion()
    {
        return lanes[0].refusedVersion();
    }

    /** @return hellos refused for their protocol version. */
    long refusedHellos()
    {
        return lanes[0].refusedHellos();
    }

    /** Close the subscriptions opened here (lanes after 0). */
    public void close()
    {
        for (int i = 1; i < laneCount; i++)
        {
            lanes[i].close();
        }
    }
}
