package io.pagestream.status;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * The host's recent CPU load, 0 to 1, from the JDK's operating-system bean; NaN where the platform does not say.
 * Reading it allocates and touches /proc, so callers sample it at most every few milliseconds, never per page.
 */
public final class CpuLoad
{
    private static final OperatingSystemMXBean BEAN = ManagementFactory.getOperatingSystemMXBean();

    private CpuLoad()
    {
    }

    /**
     * @return the whole host's CPU load since the previous call, 0 to 1, or NaN if unknown.
     */
    public static double system()
    {
        if (BEAN instanceof com.sun.management.OperatingSystemMXBean)
        {
            final double load = ((com.sun.management.OperatingSystemMXBean)BEAN).getCpuLoad();
            return load < 0 ? Double.NaN : load;
        }
        return Double.NaN;
    }
}
