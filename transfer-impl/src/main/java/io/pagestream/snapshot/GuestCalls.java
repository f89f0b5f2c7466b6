package io.pagestream.snapshot;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.DeviceState;
import org.agrona.DirectBuffer;

import java.nio.ByteBuffer;

/**
 * The hypervisor's callbacks as a snapshot makes them: a callback that throws becomes a {@link MigrationException}
 * naming it ({@code HYPERVISOR_CALLBACK_FAILED}, or {@code DEVICE_STATE_FAILED} for the device state), so the
 * snapshot fails with the guest running on.
 * <p>
 * Threading: stateless; the caller's thread.
 */
final class GuestCalls
{
    private GuestCalls()
    {
    }

    /**
     * @param callback a call into the hypervisor.
     * @param name     the callback's name, for the error.
     * @throws MigrationException the callback's own, or {@code HYPERVISOR_CALLBACK_FAILED} for any other exception.
     */
    static void call(final Runnable callback, final String name)
    {
        try
        {
            callback.run();
        }
        catch (final MigrationException ex)
        {
            throw ex;
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.HYPERVISOR_CALLBACK_FAILED, name + ": " + ex, ex);
        }
    }

    /**
     * @param deviceState the guest's device state, or null for none.
     * @return a copy of what it saved (empty for none), positioned at 0.
     * @throws MigrationException {@code DEVICE_STATE_FAILED} if saving threw.
     */
    static ByteBuffer saveDevice(final DeviceState deviceState)
    {
        if (null == deviceState)
        {
            return ByteBuffer.allocate(0);
        }
        final DirectBuffer saved;
        try
        {
            saved = deviceState.save();
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.DEVICE_STATE_FAILED, "deviceState.save: " + ex, ex);
        }
        final ByteBuffer copy = ByteBuffer.allocateDirect(saved.capacity());
        saved.getBytes(0, copy, 0, saved.capacity());
        return copy.clear();
    }
}
