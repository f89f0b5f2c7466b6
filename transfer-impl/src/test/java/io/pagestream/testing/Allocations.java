package io.pagestream.testing;

import java.lang.management.ManagementFactory;

/**
 * Bytes the current thread has allocated on the heap, for tests that bound what a piece of code allocates.
 */
public final class Allocations
{
    private static final com.sun.management.ThreadMXBean THREADS =
        (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();

    private Allocations()
    {
    }

    /** @return classes loaded in this JVM so far: a change means an allocation figure includes class loading. */
    public static long classesLoaded()
    {
        return ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount();
    }

    /** @return bytes allocated by the calling thread since it started. */
    public static long ofThisThread()
    {
        return THREADS.getCurrentThreadAllocatedBytes();
    }
}
