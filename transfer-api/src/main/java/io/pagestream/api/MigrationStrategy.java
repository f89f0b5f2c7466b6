package io.pagestream.api;

import java.util.Locale;

/**
 * Which policy a source builds when the application does not hand it one.
 */
public enum MigrationStrategy
{
    /**
     * The adaptive hybrid (the default): pre-copy rounds while they converge; when the dirty rate holds near or above
     * the achieved bandwidth it switches to post-copy if both sides allow it, otherwise throttles the guest in steps
     * (auto-converge) until the predicted downtime fits.
     */
    AUTO,
    /** Pre-copy only: rounds until the predicted downtime fits; gives up at the round or time bound. */
    PRECOPY,
    /** Post-copy right after the bulk pass; the target needs post-copy enabled. */
    POSTCOPY;

    /**
     * @param name case-insensitive name.
     * @return the strategy.
     * @throws IllegalArgumentException naming the valid choices.
     */
    public static MigrationStrategy parse(final String name)
    {
        for (final MigrationStrategy s : values())
        {
            if (s.name().equalsIgnoreCase(name.trim()))
            {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown strategy '" + name + "', expected auto, precopy or postcopy");
    }

    /** @return the lower-case name used on command lines. */
    public String label()
    {
        return name().toLowerCase(Locale.ROOT);
    }
}
