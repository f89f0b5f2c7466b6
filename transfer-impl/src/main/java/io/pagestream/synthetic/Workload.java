package io.pagestream.synthetic;

import java.util.Locale;

/**
 * Which pages the synthetic vCPUs write.
 */
public enum Workload
{
    /** No writes at all. */
    IDLE,
    /** Most writes (90% by default) hit a small working set (2% of pages by default); the rest land anywhere. */
    HOTSET,
    /** Every page equally likely. */
    UNIFORM,
    /** Each vCPU walks memory page after page, wrapping at the end. */
    SEQUENTIAL;

    /**
     * @param name case-insensitive workload name.
     * @return the workload.
     * @throws IllegalArgumentException naming the valid choices.
     */
    public static Workload parse(final String name)
    {
        for (final Workload w : values())
        {
            if (w.name().equalsIgnoreCase(name.trim()))
            {
                return w;
            }
        }
        throw new IllegalArgumentException("unknown workload '" + name + "', expected one of idle, hotset, " +
            "uniform, sequential");
    }

    /** @return the lower-case name used on command lines. */
    public String label()
    {
        return name().toLowerCase(Locale.ROOT);
    }
}
