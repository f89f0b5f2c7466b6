package io.pagestream.api.guest;

/**
 * The hypervisor's control over the guest's virtual CPUs on the source.
 * <p>
 * Threading: PageStream calls these from its own agent thread; implementations must be safe to call from a thread
 * that is not a vCPU thread.
 */
public interface VcpuControl
{
    /**
     * Stop every vCPU and return only when none can write guest memory any more. Idempotent.
     */
    void pause();

    /**
     * Let the vCPUs run again at full speed (clears any throttle). Idempotent.
     */
    void resume();

    /**
     * Hold the vCPUs back for a fraction of their time (auto-converge).
     *
     * @param fraction from 0.0 (not throttled) up to but excluding 1.0.
     */
    void throttle(double fraction);
}
