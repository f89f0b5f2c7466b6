package io.pagestream.synthetic;

import io.pagestream.api.guest.VcpuControl;

/**
 * A synthetic guest's vCPU control that does something while the guest is still paused, just before it resumes from
 * a pause: how a check takes the memory as it was at a snapshot's or a clone's pause point.
 * <p>
 * Threading: as {@link VcpuControl}.
 */
public abstract class ResumeHookVcpus implements VcpuControl
{
    private final SyntheticVcpus vcpus;
    private volatile boolean paused;

    /**
     * @param vcpus the guest's vCPUs.
     */
    protected ResumeHookVcpus(final SyntheticVcpus vcpus)
    {
        this.vcpus = vcpus;
    }

    /** {@inheritDoc} */
    public void pause()
    {
        vcpus.pause();
        paused = true;
    }

    /** {@inheritDoc} Runs {@link #beforeResume()} first if the guest was paused. */
    public void resume()
    {
        if (paused)
        {
            beforeResume();
            paused = false;
        }
        vcpus.resume();
    }

    /** {@inheritDoc} */
    public void throttle(final double fraction)
    {
        vcpus.throttle(fraction);
    }

    /** Called with the guest paused, once per pause, before it resumes. */
    protected abstract void beforeResume();
}
