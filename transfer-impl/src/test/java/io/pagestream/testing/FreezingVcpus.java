package io.pagestream.testing;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.synthetic.ResumeHookVcpus;
import io.pagestream.synthetic.SyntheticGuest;
import org.agrona.UnsafeApi;

/**
 * A synthetic guest's vCPU control that copies guest memory just before the guest resumes from a pause: memory as a
 * snapshot, or a clone's target, must hold it.
 */
public final class FreezingVcpus extends ResumeHookVcpus implements AutoCloseable
{
    private static final MemoryKernel KERNEL = MemoryKernel.create();
    private final SyntheticGuest guest;
    private volatile GuestMemory frozen;

    /**
     * @param guest whose vCPUs this controls.
     */
    public FreezingVcpus(final SyntheticGuest guest)
    {
        super(guest.vcpus());
        this.guest = guest;
    }

    /** Copy guest memory, the guest paused. */
    protected void beforeResume()
    {
        if (null != frozen)
        {
            frozen.close();
        }
        // Only the pages present: reading one never populated would commit it, and the guest must stay
        // sparse for the snapshot to show it skips such pages.
        final GuestMemory memory = guest.memory();
        frozen = MappedGuestMemory.anonymous(KERNEL, memory.sizeBytes(), memory.pageSize(), false);
        final int pageSize = memory.pageSize();
        for (int r = 0; r < memory.regionCount(); r++)
        {
            final long length = memory.regionLengthBytes(r);
            final long[] present = new long[(int)((length / pageSize + 63) >>> 6)];
            KERNEL.presentPages(memory.regionAddress(r), length, pageSize, present);
            for (long p = 0; p < length / pageSize; p++)
            {
                if ((present[(int)(p >>> 6)] & (1L << p)) != 0)
                {
                    UnsafeApi.copyMemory(memory.regionAddress(r) + p * pageSize,
                        frozen.regionAddress(r) + p * pageSize, pageSize);
                }
            }
        }
    }

    /** @return the copy made at the last resume, kept by this object, or null. */
    public GuestMemory frozen()
    {
        return frozen;
    }

    /** @return the copy made at the last resume, now the caller's to close, or null. */
    public GuestMemory takeFrozen()
    {
        final GuestMemory taken = frozen;
        frozen = null;
        return taken;
    }

    /** Free the copy. */
    public void close()
    {
        if (null != frozen)
        {
            frozen.close();
        }
    }
}

