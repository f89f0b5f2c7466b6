package io.pagestream.testing;

import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.DirtyPageLog;
import io.pagestream.api.guest.VcpuControl;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The hypervisor's side for session tests: a dirty log that returns the pages a test queues for each fetch, vCPUs
 * that record what was asked of them, and a device state of a chosen size. Every call is recorded in order.
 */
public final class FakeHypervisor implements DirtyPageLog, VcpuControl, DeviceState
{
    /** Calls made, in order: "startTracking", "fetch", "stopTracking", "pause", "resume", "throttle 0.5", ... */
    public final List<String> calls = new ArrayList<>();
    private final ArrayDeque<long[]> dirtyPerFetch = new ArrayDeque<>();
    private final byte[] deviceState;
    private DirectBuffer restored;
    private boolean paused;
    private RuntimeException failNext;

    /**
     * @param deviceStateBytes size of the saved device state.
     */
    public FakeHypervisor(final int deviceStateBytes)
    {
        deviceState = new byte[deviceStateBytes];
        for (int i = 0; i < deviceStateBytes; i++)
        {
            deviceState[i] = (byte)(i * 7 + 3);
        }
    }

    /**
     * @param pageIndices pages the next fetch reports dirty (fetches with nothing queued report none).
     * @return this.
     */
    public FakeHypervisor dirtyNext(final long... pageIndices)
    {
        dirtyPerFetch.add(pageIndices);
        return this;
    }

    /**
     * @param ex thrown by the next hypervisor call.
     * @return this.
     */
    public FakeHypervisor failNext(final RuntimeException ex)
    {
        failNext = ex;
        return this;
    }

    private void call(final String name)
    {
        calls.add(name);
        final RuntimeException ex = failNext;
        if (null != ex)
        {
            failNext = null;
            throw ex;
        }
    }

    /** @return true while paused. */
    public boolean isPaused()
    {
        return paused;
    }

    /** @return the device state restored on this side, or null. */
    public DirectBuffer restored()
    {
        return restored;
    }

    /** @return the device state bytes {@link #save()} returns. */
    public byte[] deviceStateBytes()
    {
        return deviceState;
    }

    /** @param name a call. @return how many times it was made. */
    public long count(final String name)
    {
        return calls.stream().filter(c -> c.equals(name)).count();
    }

    public void startTracking()
    {
        call("startTracking");
    }

    public long fetchAndClear(final long[] bitmap)
    {
        call("fetch");
        final long[] pages = dirtyPerFetch.isEmpty() ? new long[0] : dirtyPerFetch.poll();
        long newlyDirty = 0;
        for (final long pageIndex : pages)
        {
            final int w = (int)(pageIndex >>> 6);
            if ((bitmap[w] & (1L << pageIndex)) == 0)
            {
                newlyDirty++;
            }
            bitmap[w] |= 1L << pageIndex;
        }
        return newlyDirty;
    }

    public void stopTracking()
    {
        call("stopTracking");
    }

    public void pause()
    {
        call("pause");
        paused = true;
    }

    public void resume()
    {
        call("resume");
        paused = false;
    }

    public void throttle(final double fraction)
    {
        call("throttle " + fraction);
    }

    public DirectBuffer save()
    {
        call("save");
        return new UnsafeBuffer(deviceState);
    }

    public void restore(final DirectBuffer buffer, final int offset, final int length)
    {
        call("restore");
        final byte[] copy = new byte[length];
        buffer.getBytes(offset, copy);
        restored = new UnsafeBuffer(copy);
    }
}
