package io.pagestream;

import io.aeron.Aeron;
import io.aeron.Subscription;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationProgress;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationSource;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.sending.SourceConductor;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.transport.AeronLinks;
import io.pagestream.transport.AeronTransport;
import io.pagestream.transport.Channels;
import io.pagestream.transport.FramePublisher;
import io.pagestream.transport.FrameSink;
import org.agrona.CloseHelper;
import org.agrona.concurrent.AgentInvoker;

import java.util.concurrent.CompletableFuture;

/**
 * The {@link MigrationSource} PageStream launches: owns the transport, counters, streams and the agent's host.
 */
final class DefaultMigrationSource implements MigrationSource
{
    private final ReadGate gate = new ReadGate();
    private final MigrationSource.Context ctx;
    private final CompletableFuture<MigrationReport> completion = new CompletableFuture<>();
    private AeronTransport transport;
    private MigrationCounters counters;
    private Subscription controlSubscription;
    private FrameSink[] lanes;
    private SourceConductor agent;
    private AgentHost host;
    private boolean closed;
    private AeronLinks links;
    private long warmupNs;

    private DefaultMigrationSource(final MigrationSource.Context ctx)
    {
        this.ctx = ctx;
    }

    static DefaultMigrationSource launch(final MigrationSource.Context ctx)
    {
        return launch(ctx, null);
    }

    static DefaultMigrationSource launch(final MigrationSource.Context ctx, final Aeron sharedClient)
    {
        ctx.conclude();
        if (null != sharedClient && (null != ctx.aeronDirectoryName() || null != ctx.driverDirectoryName()))
        {
            throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, "aeron: a client handed in brings its " +
                "own driver: not with aeronDirectoryName or driverDirectoryName");
        }
        if (ctx.guestMemory().regionCount() > HelloFlyweight.MAX_REGIONS)
        {
            throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, "guestMemory has " +
                ctx.guestMemory().regionCount() + " regions, at most " + HelloFlyweight.MAX_REGIONS + " supported");
        }
        final DefaultMigrationSource source = new DefaultMigrationSource(ctx);
        try
        {
            source.warmupNs = EngineWarmup.runOnce(ctx, ctx.compression());
            if (ctx.compression() != io.pagestream.api.Compression.NONE)
            {
                source.warmupNs += io.pagestream.codec.CodecWarmup.run(
                    ctx.guestMemory().pageSize(), io.pagestream.codec.CodecWarmup.SELF_CHECK_ITERATIONS);
            }
            source.transport = null != sharedClient ? AeronTransport.shared(sharedClient) :
                AeronTransport.launch(ctx.aeronDirectoryName(), ctx.driverDirectoryName(), "source", ctx.driverIdleStrategy(), ctx.errorHandler(),
                ctx.driverOnAgentThread());
            final Aeron aeron = source.transport.aeron();
            source.links = new AeronLinks(aeron);
            source.counters = new MigrationCounters(aeron, ctx.migrationId(), CounterType.source());
            source.controlSubscription = aeron.addSubscription(
                Channels.control(ctx.controlEndpoint()), ctx.controlStreamId());
            ctx.controlEndpoint(Channels.boundEndpoint(ctx.controlEndpoint(), source.controlSubscription)); // port 0
            final boolean fanOut = !ctx.followerEndpoints().isEmpty();
            final String dataChannel = fanOut ?
                Channels.multiDestinationDataPublication(ctx.mtuLength(), ctx.termLength(), ctx.socketBufferLength()) :
                Channels.dataPublication(ctx.targetEndpoint(), ctx.mtuLength(), ctx.termLength(),
                ctx.socketBufferLength());
            source.lanes = new FrameSink[ctx.dataLanes()];
            for (int i = 0; i < source.lanes.length; i++)
            {
                final io.aeron.ExclusivePublication publication =
                    aeron.addExclusivePublication(dataChannel, ctx.dataStreamId() + i);
                source.lanes[i] = new FramePublisher(publication,
                    source.counters.get(CounterType.BACK_PRESSURE), source.counters.get(CounterType.ADMIN_ACTIONS));
                if (fanOut)
                {
                    publication.addDestination(Channels.destination(ctx.targetEndpoint()));
                    for (final String follower : ctx.followerEndpoints())
                    {
                        publication.addDestination(Channels.destination(follower));
                    }
                }
            }
            source.agent = new SourceConductor(ctx, source.links, source.lanes,
                source.controlSubscription, source.counters, source.completion);
            source.host = new AgentHost(ctx, source.agent, source.transport.dutyCycle());
            return source;
        }
        catch (final Throwable t)
        {
            source.close();
            throw PageStream.launchFailure("source", t);
        }
    }

    String aeronDirectory()
    {
        return null == transport ? null : transport.directoryName();
    }

    public CompletableFuture<MigrationReport> completion()
    {
        return completion;
    }

    public MigrationProgress progress()
    {
        return gate.progress(agent::progress); // after close: the figures as they were at close
    }

    public void cancel()
    {
        agent.cancel();
    }

    public io.pagestream.api.MigrationControl control()
    {
        return agent.control();
    }

    public AgentInvoker invoker()
    {
        return host.invoker();
    }

    public long migrationId()
    {
        return ctx.migrationId();
    }

    /**
     * @return nanoseconds the warm-ups took at launch (the engine's, first launch in a JVM only, and the codecs'),
     * before the migration clock started; 0 if none ran.
     */
    long warmupNs()
    {
        return warmupNs;
    }

    /**
     * @param type of counter.
     * @return its value; 0 once closed.
     */
    long counter(final CounterType type)
    {
        return gate.counter(counters, type);
    }

    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        // The host closes the agent first, which reverts the guest if the migration is still running.
        CloseHelper.closeAll(host);
        if (null != lanes)
        {
            CloseHelper.closeAll(lanes);
        }
        if (null != links)
        {
            links.releaseAll(); // a shared client keeps nothing of this migration
        }
        gate.snapshotAndShut(null == agent ? null : agent::progress, counters); // before the counters' memory goes
        CloseHelper.closeAll(controlSubscription, counters, transport);
    }
}
