package io.pagestream;

import io.aeron.Aeron;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.aeron.Subscription;
import io.pagestream.api.MigrationProgress;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationTarget;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.receiving.TargetConductor;
import io.pagestream.transport.AeronLinks;
import io.pagestream.transport.AeronTransport;
import io.pagestream.transport.Channels;
import org.agrona.CloseHelper;
import org.agrona.concurrent.AgentInvoker;

import java.util.concurrent.CompletableFuture;

/**
 * The {@link MigrationTarget} PageStream launches: owns the transport, counters, the data subscription and the
 * agent's host.
 */
final class DefaultMigrationTarget implements MigrationTarget
{
    private final ReadGate gate = new ReadGate();
    private final MigrationTarget.Context ctx;
    private final CompletableFuture<MigrationReport> completion = new CompletableFuture<>();
    private AeronTransport transport;
    private MigrationCounters counters;
    private Subscription dataSubscription;
    private Subscription urgentSubscription;
    private TargetConductor agent;
    private AgentHost host;
    private boolean closed;
    private AeronLinks links;

    private DefaultMigrationTarget(final MigrationTarget.Context ctx)
    {
        this.ctx = ctx;
    }

    static DefaultMigrationTarget launch(final MigrationTarget.Context ctx)
    {
        return launch(ctx, null);
    }

    static DefaultMigrationTarget launch(final MigrationTarget.Context ctx, final Aeron sharedClient)
    {
        ctx.conclude();
        if (null != sharedClient && (null != ctx.aeronDirectoryName() || null != ctx.driverDirectoryName()))
        {
            throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, "aeron: a client handed in brings its " +
                "own driver: not with aeronDirectoryName or driverDirectoryName");
        }
        final DefaultMigrationTarget target = new DefaultMigrationTarget(ctx);
        try
        {
            EngineWarmup.runOnce(ctx, io.pagestream.api.Compression.AUTO);
            io.pagestream.codec.CodecWarmup.run(ctx.guestMemory().pageSize(), io.pagestream.codec.CodecWarmup.ITERATIONS);
            target.transport = null != sharedClient ? AeronTransport.shared(sharedClient) :
                AeronTransport.launch(ctx.aeronDirectoryName(), ctx.driverDirectoryName(), "target", ctx.driverIdleStrategy(), ctx.errorHandler(),
                ctx.driverOnAgentThread());
            final Aeron aeron = target.transport.aeron();
            target.links = new AeronLinks(aeron);
            target.counters = new MigrationCounters(aeron, 0, CounterType.target());
            target.dataSubscription = aeron.addSubscription(
                Channels.dataSubscription(ctx.listenEndpoint(), ctx.socketBufferLength(), ctx.receiverWindowLength()),
                ctx.dataStreamId());
            final String listen = Channels.boundEndpoint(ctx.listenEndpoint(), target.dataSubscription);
            if (!listen.equals(ctx.listenEndpoint()))
            {
                // Port 0: the kernel chose a port. Lanes after 0 subscribe at the first hello, and Aeron matches
                // them to this endpoint only by an explicit port, so lane 0 moves to that port too. The driver's
                // receiver closes the old socket on its own thread, so the new bind is retried for a second; the
                // port is free only for that gap, and were it taken meanwhile the launch fails clearly.
                target.dataSubscription.close();
                target.dataSubscription = null;
                ctx.listenEndpoint(listen);
                target.dataSubscription = Channels.rebind(aeron, Channels.dataSubscription(
                    listen, ctx.socketBufferLength(), ctx.receiverWindowLength()), ctx.dataStreamId());
            }
            target.urgentSubscription = aeron.addSubscription(
                Channels.dataSubscription(ctx.urgentEndpoint(), ctx.socketBufferLength(), Channels.URGENT_WINDOW_LENGTH),
                ctx.urgentStreamId());
            // Port 0 asked the kernel for a free port: from here on the context names the one bound.
            ctx.urgentEndpoint(Channels.boundEndpoint(ctx.urgentEndpoint(), target.urgentSubscription));
            target.agent = new TargetConductor(ctx, target.links, target.dataSubscription,
                target.urgentSubscription, target.counters, target.completion);
            target.host = new AgentHost(ctx, target.agent, target.transport.dutyCycle());
            return target;
        }
        catch (final Throwable t)
        {
            target.close();
            throw PageStream.launchFailure("target", t);
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

    public AgentInvoker invoker()
    {
        return host.invoker();
    }

    public String listenEndpoint()
    {
        return ctx.listenEndpoint();
    }

    public boolean isPageReceived(final long pageIndex)
    {
        return agent.faults().isPresent(pageIndex);
    }

    public CompletableFuture<io.pagestream.api.MigrationPhase> readyToRun()
    {
        return agent.readyToRun();
    }

    public boolean resolveCommit(final boolean sourceCommitted)
    {
        return agent.resolveCommit(sourceCommitted);
    }

    public boolean awaitPage(final long pageIndex, final long timeoutNs)
    {
        return agent.faults().awaitPage(pageIndex, timeoutNs);
    }

    public boolean requestPage(final long pageIndex)
    {
        return agent.faults().requestPage(pageIndex);
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
        CloseHelper.closeAll(host);
        if (null != links)
        {
            links.releaseAll(); // a shared client keeps nothing of this migration
        }
        gate.snapshotAndShut(null == agent ? null : agent::progress, counters); // before the counters' memory goes
        CloseHelper.closeAll(urgentSubscription, dataSubscription, counters, transport);
    }
}
