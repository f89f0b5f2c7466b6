package io.pagestream.receiving;

import io.aeron.Subscription;
import io.pagestream.api.MigrationTarget;
import io.pagestream.security.FrameMac;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.status.MigrationLifecycle;
import io.pagestream.transport.Links;

import java.util.concurrent.TimeUnit;

/**
 * The parts of one target migration, built once at launch and wired to each other in dependency order: the
 * {@link SourceProxy}; the {@link GuestImage} and the {@link FaultService} over its present pages; the
 * {@link HelloAcceptor}, {@link SwitchoverReceiver} and {@link RecoveryResponder}; the {@link FanOutRole}; the
 * {@link ReceivingLanes}, whose frames {@link SourceFrames} routes; the figures; the {@link TargetCompletion}; and
 * the {@link TargetWatchdog}. The session's frame key, known only once a hello is accepted, is wired here as well
 * (these are the acceptor's {@link HelloAcceptor.Keys}): control frames and the vCPU threads' page requests are signed
 * under it, data and urgent frames verified. Nothing here runs: the {@link TargetConductor} drives the parts.
 * <p>
 * Threading: built on the launching thread; keys arrive on the conductor's.
 */
final class TargetParts implements HelloAcceptor.Keys
{
    final SourceProxy proxy;
    final GuestImage image;
    final FaultService faults;
    final HelloAcceptor acceptor;
    final SwitchoverReceiver switchover;
    final RecoveryResponder recovery;
    final FanOutRole fanOut;
    final ReceivingLanes lanes;
    final TargetFigures figures;
    final TargetCompletion completion;
    final TargetWatchdog watchdog;
    private final MigrationTarget.Context ctx;

    /**
     * @param conductor          that frames and the watchdog's verdicts go back to; only kept.
     * @param lifecycle          the public phase, which frames and the watchdog read and move.
     * @param ctx                concluded context.
     * @param links              opens streams without blocking a duty cycle.
     * @param dataSubscription   data lane 0.
     * @param urgentSubscription the urgent lane.
     * @param counters           this side's counters.
     * @param startNs            when the target started listening.
     */
    TargetParts(
        final TargetConductor conductor,
        final MigrationLifecycle lifecycle,
        final MigrationTarget.Context ctx,
        final Links links,
        final Subscription dataSubscription,
        final Subscription urgentSubscription,
        final MigrationCounters counters,
        final long startNs)
    {
        this.ctx = ctx;
        proxy = new SourceProxy(links, ctx.follower());
        image = new GuestImage(ctx.guestMemory(), ctx.memoryZeroed(),
            counters.get(CounterType.PAGE_FRAMES_RECEIVED), counters.get(CounterType.ZERO_PAGES_RECEIVED),
            counters.get(CounterType.DUPLICATE_PAGES_SKIPPED));
        faults = new FaultService(image.present(), counters.get(CounterType.FAULTS),
            counters.get(CounterType.PAGE_REQUESTS_SENT), ctx.nanoClock(),
            TimeUnit.MICROSECONDS.toNanos(ctx.jfrFaultThresholdUs()));
        if (ctx.kernelFaultPath())
        {
            image.installer(new UffdFaultPath(ctx.guestMemory(), image.committer().kernel(), faults, ctx.nanoClock()));
        }
        else if (null != ctx.pageInstaller())
        {
            image.installer(ctx.pageInstaller());
        }
        acceptor = new HelloAcceptor(ctx, proxy, this);
        switchover = new SwitchoverReceiver(ctx.deviceState(), ctx.maxDeviceStateBytes(), ctx.postcopyEnabled(),
            ctx.guestMemory().pageCount(), ctx.nanoClock());
        if (ctx.follower())
        {
            switchover.asFollower();
        }
        recovery = new RecoveryResponder(acceptor, proxy, faults, image, ctx.recoveryTimeoutMs(),
            ctx.guestMemory().pageCount());
        fanOut = new FanOutRole(ctx.follower(), ctx.listenEndpoint(), switchover, proxy);
        final SourceFrames frames = new SourceFrames(conductor, lifecycle, acceptor, image, switchover, recovery,
            fanOut, counters.get(CounterType.FOREIGN_FRAMES_DROPPED));
        lanes = new ReceivingLanes(ctx, links, counters, frames, image, dataSubscription, urgentSubscription);
        figures = new TargetFigures(ctx, counters, image, switchover, startNs);
        figures.migrationId(acceptor::migrationId);
        completion = new TargetCompletion(conductor, switchover, proxy, image, figures, faults);
        watchdog = new TargetWatchdog(ctx, conductor, lifecycle, acceptor, switchover, recovery, proxy, lanes);
    }

    /** {@inheritDoc} */
    public void onControlKey(final byte[] frameKey)
    {
        proxy.control().signer(new FrameMac(frameKey, FrameMac.LANE_CONTROL, ctx.frameEncryption()));
        faults.signing(frameKey);
    }

    /** {@inheritDoc} */
    public void onDataKey(final byte[] frameKey)
    {
        lanes.verify(frameKey);
    }
}
