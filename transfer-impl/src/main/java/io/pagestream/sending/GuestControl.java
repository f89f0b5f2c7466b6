package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.DirtyPageLog;
import io.pagestream.api.guest.VcpuControl;
import io.pagestream.pages.PageBitmap;
import org.agrona.DirectBuffer;
import org.agrona.ErrorHandler;

/**
 * Every call into the hypervisor on the source: the dirty log, the vCPUs and the device state, and the revert that
 * puts the guest back to running here when a migration fails before the target runs it. It remembers what it did
 * (tracking, paused, throttled) so that the revert undoes exactly that, once. A hypervisor callback that throws
 * becomes a {@link MigrationException} with {@link ErrorCode#HYPERVISOR_CALLBACK_FAILED} (or
 * {@link ErrorCode#DEVICE_STATE_FAILED}) naming the call.
 * <p>
 * Threading: the source conductor's thread.
 */
final class GuestControl
{
    private final DirtyPageLog dirtyLog;
    private final VcpuControl vcpus;
    private final DeviceState deviceState;
    private final ErrorHandler errorHandler;
    private final org.agrona.concurrent.NanoClock clock;
    private boolean tracking;
    private boolean paused;
    private boolean throttled;
    private double throttleFraction;
    private double maxThrottle;
    private long pauseNs;
    private long lastFetchNs;
    private long deviceSaveNs;
    private long deviceSavedBytes;

    GuestControl(
        final DirtyPageLog dirtyLog,
        final VcpuControl vcpus,
        final DeviceState deviceState,
        final ErrorHandler errorHandler,
        final org.agrona.concurrent.NanoClock clock)
    {
        this.clock = clock;
        this.dirtyLog = dirtyLog;
        this.vcpus = vcpus;
        this.deviceState = deviceState;
        this.errorHandler = errorHandler;
    }

    void startTracking()
    {
        try
        {
            dirtyLog.startTracking();
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.HYPERVISOR_CALLBACK_FAILED, "dirtyPageLog.startTracking: " + ex, ex);
        }
        tracking = true;
    }

    /**
     * @param into bitmap the log ORs the pages dirtied since the previous fetch into.
     * @return what the log returned: pages newly dirtied, or -1 if it does not count them.
     */
    long fetchDirty(final PageBitmap into)
    {
        try
        {
            final long startNs = clock.nanoTime();
            final long fetched = dirtyLog.fetchAndClear(into.words());
            lastFetchNs = clock.nanoTime() - startNs;
            return fetched;
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.HYPERVISOR_CALLBACK_FAILED, "dirtyPageLog.fetchAndClear: " + ex, ex);
        }
    }

    /** @return how long the last dirty-log fetch took: the stop-and-copy makes one more with the guest paused. */
    long lastFetchNs()
    {
        return lastFetchNs;
    }

    /** Stop dirty tracking if it runs; an exception is reported to the error handler, not thrown. */
    void stopTracking()
    {
        if (tracking)
        {
            tracking = false;
            try
            {
                dirtyLog.stopTracking();
            }
            catch (final RuntimeException ex)
            {
                errorHandler.onError(ex);
            }
        }
    }

    /**
     * Pause the vCPUs; downtime counts from when the hypervisor says they stopped.
     *
     * @return the time the guest stopped running.
     */
    long pause()
    {
        try
        {
            vcpus.pause();
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.HYPERVISOR_CALLBACK_FAILED, "vcpuControl.pause: " + ex, ex);
        }
        paused = true;
        pauseNs = clock.nanoTime();
        return pauseNs;
    }

    /**
     * @param fraction of vCPU time to hold back, 0 to lift the throttle.
     */
    void throttle(final double fraction)
    {
        try
        {
            vcpus.throttle(fraction);
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.HYPERVISOR_CALLBACK_FAILED, "vcpuControl.throttle: " + ex, ex);
        }
        throttled = fraction > 0;
        throttleFraction = fraction;
        maxThrottle = Math.max(maxThrottle, fraction);
    }

    /**
     * Save the device state, timed on the engine's clock: the save is downtime, and what it cost is kept for the
     * predictions of later migrations ({@link DeviceSaveRecord}).
     *
     * @return the device state the hypervisor saved while paused, or null for none.
     */
    DirectBuffer saveDeviceState()
    {
        final long startNs = clock.nanoTime();
        final DirectBuffer saved;
        try
        {
            saved = deviceState.save();
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.DEVICE_STATE_FAILED, "deviceState.save: " + ex, ex);
        }
        deviceSaveNs = clock.nanoTime() - startNs;
        deviceSavedBytes = null == saved ? 0 : saved.capacity();
        DeviceSaveRecord.onSaved(deviceState, deviceSaveNs, deviceSavedBytes);
        return saved;
    }

    /** @return how long the device-state save took, with the guest paused; 0 if it was not saved. */
    long deviceSaveNs()
    {
        return deviceSaveNs;
    }

    /** The migration completed: its device-state save, if any, may teach the migrations of other devices. */
    void onCompleted()
    {
        if (deviceSavedBytes > 0)
        {
            DeviceSaveRecord.onCompleted(deviceSaveNs, deviceSavedBytes);
        }
    }

    /**
     * Undo what this migration did to the guest here: resume paused or throttled vCPUs, stop tracking. Exceptions
     * go to the error handler: reverting must not stop half-way.
     *
     * @return true if the vCPUs had been paused (the pause ended now).
     */
    boolean revert()
    {
        final boolean wasPaused = paused;
        if (paused || throttled)
        {
            try
            {
                vcpus.resume();
            }
            catch (final RuntimeException ex)
            {
                errorHandler.onError(ex);
            }
            paused = false;
            throttled = false;
        }
        stopTracking();
        return wasPaused;
    }

    boolean isPaused()
    {
        return paused;
    }

    boolean isTracking()
    {
        return tracking;
    }

    long pauseNs()
    {
        return pauseNs;
    }

    double throttleFraction()
    {
        return throttleFraction;
    }

    double maxThrottle()
    {
        return maxThrottle;
    }
}
