package io.pagestream.sending;

import io.aeron.Subscription;
import io.pagestream.api.MigrationSource;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.security.FrameGuard;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.status.MigrationEnding;
import io.pagestream.status.MigrationLifecycle;
import io.pagestream.transport.BandwidthLimiter;
import io.pagestream.transport.FrameSink;
import io.pagestream.transport.Links;

/**
 * The parts of one source migration, built once at launch and wired to each other in dependency order: the guest's
 * control; the bandwidth limiter, round tracker and encoding chooser under the data lanes and the urgent lane; the
 * {@link TargetProxy} on lane 0's stream; the control stream's frame guard, shared by both handshakes (first and
 * resumed) and the {@link ControlAdapter}, whose frames {@link TargetFrames} routes; the five sessions and the pending
 * set they hand on; the figures over all of them; and the {@link SourceWatchdog}. Nothing here runs: the
 * {@link SourceConductor} drives the parts.
 * <p>
 * Threading: built on the launching thread, then used on the conductor's.
 */
final class SourceParts
{
    final GuestControl guest;
    final RoundTracker tracker;
    final DataLanes lanes;
    final UrgentLane urgent;
    final TargetProxy proxy;
    final PageBitmap pending;
    final HandshakeSession handshake;
    final PrecopySession precopy;
    final SwitchoverSession switchover;
    final RecoverySession recovery;
    final SourceFigures figures;
    final ControlAdapter adapter;
    final PostcopySession postcopy;
    final SourceWatchdog watchdog;
    final BandwidthLimiter limiter;
    final SourceControl control;
    final MigrationEnding ending;
    final SourceOutcome outcome;
    final FollowerPromotions promotions;

    /**
     * @param conductor           that the control stream's frames and the watchdog's verdicts go back to; only kept.
     * @param ctx                 concluded context.
     * @param links               opens streams after launch without blocking.
     * @param laneSinks           data lane i's stream at index i, made at launch.
     * @param controlSubscription the control stream from the target.
     * @param counters            this side's counters.
     * @param lifecycle           the public phase, which pre-copy's policy and the watchdog read.
     */
    SourceParts(
        final SourceConductor conductor,
        final MigrationSource.Context ctx,
        final Links links,
        final FrameSink[] laneSinks,
        final Subscription controlSubscription,
        final MigrationCounters counters,
        final MigrationLifecycle lifecycle)
    {
        final long builtFromNs = ctx.nanoClock().nanoTime();
        final long pageCount = ctx.guestMemory().pageCount();
        final int pageSize = ctx.guestMemory().pageSize();
        guest = new GuestControl(ctx.dirtyPageLog(), ctx.vcpuControl(), ctx.deviceState(), ctx.errorHandler(),
            ctx.nanoClock());
        limiter = new BandwidthLimiter(ctx.maxBandwidthBytesPerSec(),
            PageFlyweight.PAYLOAD_OFFSET + PageSender.chunkLength(pageSize, laneSinks[0].maxFrameLength()),
            builtFromNs);
        tracker = new RoundTracker(builtFromNs, PageFlyweight.PAYLOAD_OFFSET + pageSize);
        tracker.deviceStateBytes(ctx.deviceState().sizeHintBytes());
        tracker.deviceSaveNsPerByte(DeviceSaveRecord.nsPerByte(ctx.deviceState()));
        final EncodingChooser chooser =
            new EncodingChooser(ctx.compression(), pageSize, ctx.maxBandwidthBytesPerSec(), builtFromNs);
        lanes = DataLanes.create(ctx, laneSinks, links, limiter, tracker, chooser,
            counters.get(CounterType.BACK_PRESSURE), counters.get(CounterType.ADMIN_ACTIONS));
        urgent = UrgentLane.create(ctx, links, limiter, laneSinks[0], builtFromNs);
        proxy = new TargetProxy(ctx.migrationId());
        proxy.controlSink(lanes.controlSink());

        final FrameGuard guard = new FrameGuard("control stream", FrameGuard.FailurePolicy.DROP_AND_COUNT,
            counters.get(CounterType.BAD_FRAME_TAGS));
        final LaneStats controlStats = new LaneStats();
        handshake = new HandshakeSession(ctx, proxy, lanes, urgent, guard);
        pending = new PageBitmap(pageCount);
        precopy = new PrecopySession(lanes, guest, tracker, ctx.policy(), ctx.listener(), ctx.errorHandler(),
            lifecycle::phase, new PageBitmap(pageCount), pending);
        precopy.migrationId(ctx.migrationId());
        switchover = new SwitchoverSession(proxy, guest, limiter, controlStats);
        recovery = new RecoverySession(lanes, urgent, proxy, guard,
            new HandshakeSession(ctx, proxy, lanes, urgent, guard), ctx.recoveryTimeoutMs(), ctx.frameAuthentication());
        figures = new SourceFigures(ctx, counters, lanes, urgent, controlStats, tracker);
        figures.sessions(guest, precopy, switchover, recovery);
        final TargetFrames frames = new TargetFrames(conductor, handshake, switchover, recovery, figures, guest);
        adapter = new ControlAdapter(controlSubscription, guard, frames, ctx.migrationId(), pageCount);
        postcopy = new PostcopySession(lanes, urgent, adapter, ctx.faultQuietUs(), limiter,
            ctx.postcopyBandwidthBytesPerSec());
        frames.postcopy(postcopy);
        figures.postcopy(postcopy);
        control = new SourceControl(ctx);
        figures.control(control);
        watchdog = new SourceWatchdog(ctx, conductor, lifecycle, handshake, switchover, recovery, guest);
        watchdog.downtimeTarget(() -> control.inForce().downtimeTargetMs());
        counters.get(CounterType.DATA_LANES).setOrdered(lanes.count());
        ending = new MigrationEnding(lifecycle, proxy, ctx.nanoClock(), over -> conductor.onEnding(over));
        outcome = new SourceOutcome(ctx, guest, figures, handshake, postcopy, ending);
        promotions = new FollowerPromotions(ctx.followerEndpoints(), proxy, precopy, guest);
    }
}
