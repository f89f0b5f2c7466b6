package io.pagestream.testing;

import io.pagestream.api.guest.DeviceState;
import org.agrona.DirectBuffer;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A device that takes its time: it saves (with the guest paused for stop-and-copy) or restores (on the target, before
 * it says COMPLETE) after a delay, then does what the real device does. Tests use it to hold a phase open long enough
 * to cut a link or kill a process in it.
 */
public final class SlowDeviceState implements DeviceState
{
    private final DeviceState real;
    private final long saveDelayNs;
    private final long restoreDelayNs;

    private SlowDeviceState(final DeviceState real, final long saveDelayMs, final long restoreDelayMs)
    {
        this.real = real;
        this.saveDelayNs = TimeUnit.MILLISECONDS.toNanos(saveDelayMs);
        this.restoreDelayNs = TimeUnit.MILLISECONDS.toNanos(restoreDelayMs);
    }

    /**
     * @param real    the device.
     * @param delayMs how long each save takes first.
     * @return the device, slow to save.
     */
    public static DeviceState slowToSave(final DeviceState real, final long delayMs)
    {
        return new SlowDeviceState(real, delayMs, 0);
    }

    /**
     * @param real    the device.
     * @param delayMs how long each restore takes first.
     * @return the device, slow to restore.
     */
    public static DeviceState slowToRestore(final DeviceState real, final long delayMs)
    {
        return new SlowDeviceState(real, 0, delayMs);
    }

    public DirectBuffer save()
    {
        LockSupport.parkNanos(saveDelayNs);
        return real.save();
    }

    public void restore(final DirectBuffer buffer, final int offset, final int length)
    {
        LockSupport.parkNanos(restoreDelayNs);
        real.restore(buffer, offset, length);
    }

    public int sizeHintBytes()
    {
        return real.sizeHintBytes();
    }
}
