package io.pagestream.api.guest;

import org.agrona.DirectBuffer;

/**
 * The guest's device state as an opaque blob: saved on the source while the vCPUs are paused, restored on the target
 * before it resumes. Any size up to the target's {@code maxDeviceStateBytes} (64 MiB by default).
 */
public interface DeviceState
{
    /**
     * Source side: save the device state. Called once, from PageStream's agent thread, with the vCPUs paused.
     *
     * @return a buffer holding the state from index 0 to {@code capacity() - 1}; PageStream reads it before the
     * migration completes and does not keep it.
     */
    DirectBuffer save();

    /**
     * Target side: restore the device state. Called once, from PageStream's agent thread, after every page has
     * arrived and before the target is told it may resume.
     *
     * @param buffer holding the state; valid only for the duration of the call.
     * @param offset of the first byte.
     * @param length in bytes.
     */
    void restore(DirectBuffer buffer, int offset, int length);

    /**
     * @return about how many bytes {@link #save()} will return, known before the guest pauses (the sizes of the
     * devices' state), for the downtime prediction: sending the device state is part of the downtime. -1 if unknown.
     */
    default int sizeHintBytes()
    {
        return -1;
    }
}
