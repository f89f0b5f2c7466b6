package io.pagestream.sending;

import io.pagestream.api.guest.DeviceState;

import java.util.Map;
import java.util.WeakHashMap;

/**
 * What saving device state has cost in this JVM, in nanoseconds per byte saved, for the downtime prediction of the
 * migrations that come after ({@link RoundTracker#deviceSaveNsPerByte(double)}); the save itself is timed by
 * {@link GuestControl} with the guest paused.
 * <ul>
 * <li>Per device: the latest save of each {@link DeviceState} object, whatever became of its migration. A
 * stop-and-copy the downtime guard abandoned ends that migration; the retry, a new migration of the same device,
 * predicts with the save measured then.</li>
 * <li>Any other device: the lowest rate measured by a migration that completed, a floor. The lowest, and only from
 * completed migrations, because a rate that only rises could keep every later pre-copy migration from ever fitting
 * its downtime target, so from ever saving again to correct it.</li>
 * </ul>
 * No rate known: 0, and the prediction holds the device state's transfer only.
 * <p>
 * Threading: thread-safe (one lock); written once per save and per completion, read once per launch.
 */
final class DeviceSaveRecord
{
    private static final Map<DeviceState, Double> LATEST_BY_DEVICE = new WeakHashMap<>();
    private static double completedFloorNsPerByte = Double.NaN;

    private DeviceSaveRecord()
    {
    }

    /**
     * A save was measured.
     *
     * @param device     the device saved.
     * @param durationNs how long {@code save()} took.
     * @param bytes      how much it saved; a save of nothing teaches nothing.
     */
    static synchronized void onSaved(final DeviceState device, final long durationNs, final long bytes)
    {
        if (bytes > 0 && durationNs >= 0)
        {
            LATEST_BY_DEVICE.put(device, durationNs / (double)bytes);
        }
    }

    /**
     * A migration whose device state was saved completed.
     *
     * @param durationNs how long its save took.
     * @param bytes      how much it saved.
     */
    static synchronized void onCompleted(final long durationNs, final long bytes)
    {
        if (bytes > 0 && durationNs >= 0)
        {
            final double nsPerByte = durationNs / (double)bytes;
            if (Double.isNaN(completedFloorNsPerByte) || nsPerByte < completedFloorNsPerByte)
            {
                completedFloorNsPerByte = nsPerByte;
            }
        }
    }

    /**
     * @param device the device a migration is about to save.
     * @return its latest measured save rate, else the floor from completed migrations, else 0: ns per byte.
     */
    static synchronized double nsPerByte(final DeviceState device)
    {
        final Double latest = LATEST_BY_DEVICE.get(device);
        return null != latest ? latest : Double.isNaN(completedFloorNsPerByte) ? 0 : completedFloorNsPerByte;
    }
}
