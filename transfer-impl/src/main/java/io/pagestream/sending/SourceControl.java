package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationControl;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationSettings;
import io.pagestream.api.MigrationSource;
import io.pagestream.transport.BandwidthLimiter;
import org.agrona.ErrorHandler;

import java.util.ArrayDeque;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The source's management plane: a manager's requests, checked on the caller's thread and handed to the agent
 * thread, which applies them at its next duty cycle ({@link #apply}) to the parts they concern (the bandwidth
 * limiter, the encoding chooser's cost model, the policy's figures, the pre-copy and post-copy sessions) and
 * announces each to the listener. Once the migration has ended ({@link #end()}) every request is checked and then
 * dropped: nothing would apply it.
 * <p>
 * Threading: the {@link MigrationControl} methods from any thread (they lock this object briefly); {@link #apply},
 * {@link #end()} and {@link #inForce()} on the agent thread; {@link #settings()} from any thread.
 */
final class SourceControl implements MigrationControl
{
    private static final long MIN_CAP = 64 * 1024;

    private final AtomicLong requestedVersion = new AtomicLong();
    private final ArrayDeque<String> changes = new ArrayDeque<>();
    private final MigrationListener listener;
    private final ErrorHandler errorHandler;
    private final long migrationId;
    private long maxBandwidth;
    private long postcopyBandwidth;
    private long downtimeTarget;
    private boolean downtimeTargetChanged;
    private boolean postcopyAllowed;
    private boolean postcopyRequested;
    private boolean held;
    private boolean ended;
    private int adjustments;

    // Applied: agent thread only.
    private long appliedVersion;
    private volatile MigrationSettings inForce;

    SourceControl(final MigrationSource.Context ctx)
    {
        listener = ctx.listener();
        errorHandler = ctx.errorHandler();
        migrationId = ctx.migrationId();
        maxBandwidth = ctx.maxBandwidthBytesPerSec();
        postcopyBandwidth = ctx.postcopyBandwidthBytesPerSec();
        downtimeTarget = ctx.downtimeTargetMs();
        postcopyAllowed = ctx.postcopyAllowed();
        inForce = snapshot();
    }

    /** {@inheritDoc} */
    public synchronized MigrationControl maxBandwidth(final long bytesPerSec)
    {
        requireCap("maxBandwidth", bytesPerSec);
        if (!ended)
        {
            maxBandwidth = bytesPerSec;
            changed("maxBandwidth " + rate(bytesPerSec));
        }
        return this;
    }

    /** {@inheritDoc} */
    public synchronized MigrationControl postcopyBandwidth(final long bytesPerSec)
    {
        requireCap("postcopyBandwidth", bytesPerSec);
        if (!ended)
        {
            postcopyBandwidth = bytesPerSec;
            changed("postcopyBandwidth " + (0 == bytesPerSec ? "same as maxBandwidth" : rate(bytesPerSec)));
        }
        return this;
    }

    /** {@inheritDoc} */
    public synchronized MigrationControl downtimeTarget(final long ms)
    {
        if (ms <= 0)
        {
            throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, "downtimeTarget=" + ms + ": must be positive");
        }
        if (!ended)
        {
            downtimeTarget = ms;
            downtimeTargetChanged = true;
            changed("downtimeTarget " + ms + " ms");
        }
        return this;
    }

    /** {@inheritDoc} */
    public synchronized MigrationControl postcopyAllowed(final boolean allowed)
    {
        if (!ended)
        {
            postcopyAllowed = allowed;
            if (!allowed)
            {
                postcopyRequested = false;
            }
            changed("postcopyAllowed " + allowed);
        }
        return this;
    }

    /** {@inheritDoc} */
    public synchronized MigrationControl startPostcopy()
    {
        if (!ended)
        {
            postcopyRequested = true;
            changed("startPostcopy at the end of this round");
        }
        return this;
    }

    /** {@inheritDoc} */
    public synchronized MigrationControl holdSwitchover(final boolean hold)
    {
        if (!ended)
        {
            held = hold;
            changed(hold ? "switchover held" : "switchover released");
        }
        return this;
    }

    /** {@inheritDoc} */
    public synchronized MigrationSettings settings()
    {
        return ended ? inForce : snapshot();
    }

    /**
     * The migration has ended: its report is fixed and nothing applies a change any more. Requests not applied yet
     * are dropped unannounced, later ones are checked and dropped, and {@link #settings()} gives what was in force
     * at the end (what the report says). Agent thread, before the migration's listener and future hear the outcome.
     */
    synchronized void end()
    {
        ended = true;
        changes.clear();
        appliedVersion = requestedVersion.get();
    }

    /** @return the settings the agent thread applied last. Any thread. */
    MigrationSettings inForce()
    {
        return inForce;
    }

    /**
     * Apply what changed since the last call. Agent thread.
     *
     * @param state     the conductor's state.
     * @param limiter   the send limiter.
     * @param lanes     the data lanes (the chooser's cost model, frame sizes).
     * @param tracker   the round figures the policy reads.
     * @param precopy   the pre-copy session.
     * @param postcopy  the post-copy session.
     * @return 1 if anything was applied.
     */
    int apply(
        final SourceState state,
        final BandwidthLimiter limiter,
        final DataLanes lanes,
        final RoundTracker tracker,
        final PrecopySession precopy,
        final PostcopySession postcopy)
    {
        final long version = requestedVersion.get();
        if (version == appliedVersion)
        {
            return 0;
        }
        final MigrationSettings settings;
        final String[] announced;
        final boolean requested;
        final long managedDowntimeTargetMs;
        synchronized (this)
        {
            appliedVersion = requestedVersion.get();
            requested = postcopyRequested;
            if (postcopyRequested && (state == SourceState.SWITCHOVER || state == SourceState.POSTCOPY ||
                state == SourceState.RECOVERY || state == SourceState.DONE || state == SourceState.FAILING))
            {
                postcopyRequested = false;
                changes.add("startPostcopy ignored: the migration is past its switchover decision (" + state + ")");
            }
            else if (postcopyRequested && state == SourceState.PRECOPY && !precopy.postcopyNegotiated())
            {
                postcopyRequested = false;
                changes.add("startPostcopy ignored: post-copy was not enabled on both sides at launch");
            }
            settings = snapshot();
            managedDowntimeTargetMs = downtimeTargetChanged ? downtimeTarget : 0;
            announced = changes.toArray(new String[0]);
            changes.clear();
        }
        final boolean pushing = state == SourceState.POSTCOPY || state == SourceState.RECOVERY;
        final int frameLength = io.pagestream.protocol.PageFlyweight.PAYLOAD_OFFSET +
            lanes.lane(0).sender().chunkLength();
        if (pushing && settings.postcopyBandwidthBytesPerSec() > 0)
        {
            postcopy.caps(settings.postcopyBandwidthBytesPerSec(), settings.maxBandwidthBytesPerSec());
        }
        else
        {
            limiter.rate(settings.maxBandwidthBytesPerSec(), frameLength);
            postcopy.caps(settings.postcopyBandwidthBytesPerSec(), settings.maxBandwidthBytesPerSec());
        }
        lanes.cap(settings.maxBandwidthBytesPerSec());
        tracker.managedDowntimeTargetMs(managedDowntimeTargetMs);
        precopy.manage(settings.postcopyAllowed(), requested && settings.postcopyRequested(),
            settings.switchoverHeld());
        inForce = settings;
        for (final String change : announced)
        {
            final io.pagestream.status.Events.SettingsChanged event =
                new io.pagestream.status.Events.SettingsChanged();
            if (event.isEnabled() && io.pagestream.status.Events.recorded(migrationId))
            {
                event.migrationId = migrationId;
                event.change = change;
                event.settings = settings.toString();
                event.commit();
            }
            try
            {
                listener.onSettingsChanged(settings, change);
            }
            catch (final RuntimeException ex)
            {
                errorHandler.onError(ex);
            }
        }
        return 1;
    }

    /** The request has been taken up by the pre-copy session (it asked for post-copy): clear it. Agent thread. */
    synchronized void postcopyStarted()
    {
        if (postcopyRequested)
        {
            postcopyRequested = false;
            inForce = snapshot();
        }
    }

    private void changed(final String change)
    {
        adjustments++;
        changes.add(change);
        requestedVersion.incrementAndGet();
    }

    private MigrationSettings snapshot()
    {
        return new MigrationSettings(maxBandwidth, postcopyBandwidth, downtimeTarget, postcopyAllowed,
            postcopyRequested, held, adjustments);
    }

    private static void requireCap(final String name, final long bytesPerSec)
    {
        if (bytesPerSec != 0 && bytesPerSec < MIN_CAP)
        {
            throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, name + "=" + bytesPerSec +
                ": must be 0 (none) or at least 64 KiB/s (65536)");
        }
    }

    private static String rate(final long bytesPerSec)
    {
        return 0 == bytesPerSec ? "none" : String.format(Locale.ROOT, "%d B/s (%.1f MB/s)", bytesPerSec,
            bytesPerSec / 1e6);
    }
}
