package io.pagestream;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationTarget;
import io.pagestream.status.CounterType;

/**
 * Launches the two sides of a migration.
 * <pre>{@code
 * try (MigrationTarget target = PageStream.launchTarget(new MigrationTarget.Context()
 *         .guestMemory(memory).deviceState(devices).listenEndpoint("10.0.0.2:40400")))
 * {
 *     MigrationReport report = target.completion().join();   // COMPLETED: resume the guest here
 * }
 * }</pre>
 * Each launch starts an embedded media driver in a fresh directory unless the context names an external one.
 * If a launch fails half-way, whatever it made is closed before the exception propagates.
 */
public final class PageStream
{
    private PageStream()
    {
    }

    /**
     * Start migrating the guest described by the context to its target. Returns at once; the migration runs on
     * the agent (its own thread, or the application's invoker).
     *
     * @param ctx configuration; concluded here.
     * @return the running source; close it after its completion future is done.
     * @throws io.pagestream.api.MigrationException with INVALID_CONFIGURATION for a bad setting.
     */
    public static MigrationSource launchSource(final MigrationSource.Context ctx)
    {
        return DefaultMigrationSource.launch(ctx);
    }

    /**
     * The same on the embedder's own Aeron client (and so its media driver), like Aeron Archive's
     * {@code aeron(Aeron)} with {@code ownsAeronClient(false)}: PageStream never closes the client, and at close it
     * removes every publication, subscription and counter it made on it. With {@code ThreadingMode.INVOKER}, the
     * client's conductor is the embedder's to run (as its own thread, or its own invoker); the context must not
     * name a driver directory.
     *
     * @param ctx          configuration; concluded here.
     * @param sharedClient a connected client, kept open.
     * @return the running source.
     */
    public static MigrationSource launchSource(final MigrationSource.Context ctx, final io.aeron.Aeron sharedClient)
    {
        return DefaultMigrationSource.launch(ctx, java.util.Objects.requireNonNull(sharedClient, "sharedClient"));
    }

    /**
     * The same as {@link #launchTarget(MigrationTarget.Context)} on the embedder's own Aeron client, kept open (see
     * {@link #launchSource(MigrationSource.Context, io.aeron.Aeron)}).
     *
     * @param ctx          configuration; concluded here.
     * @param sharedClient a connected client, kept open.
     * @return the running target.
     */
    public static MigrationTarget launchTarget(final MigrationTarget.Context ctx, final io.aeron.Aeron sharedClient)
    {
        return DefaultMigrationTarget.launch(ctx, java.util.Objects.requireNonNull(sharedClient, "sharedClient"));
    }

    /**
     * Start listening for a migration into the guest memory described by the context.
     *
     * @param ctx configuration; concluded here.
     * @return the running target; the guest may resume once its completion future reports COMPLETED.
     * @throws io.pagestream.api.MigrationException with INVALID_CONFIGURATION for a bad setting.
     */
    public static MigrationTarget launchTarget(final MigrationTarget.Context ctx)
    {
        return DefaultMigrationTarget.launch(ctx);
    }

    /**
     * @param source launched by this class.
     * @return nanoseconds its launch spent warming up before the migration clock started (the engine warm-up, on the
     * first launch in a JVM, and the codecs' unless compression is NONE), for reports that want to count it.
     */
    public static long launchWarmupNs(final MigrationSource source)
    {
        return source instanceof DefaultMigrationSource ? ((DefaultMigrationSource)source).warmupNs() : 0;
    }

    /**
     * Warm the engine up now, if no launch in this JVM did yet: a migration of a small synthetic guest between two
     * engines of this process over UDP loopback (about half a second to a second on two cores), so the page path is
     * compiled before a real guest depends on it. A VMM calls this when it starts, long before a migration; a
     * launch that finds it done skips its own. Blocks until done; never throws.
     *
     * @return nanoseconds spent; 0 if a warm-up already ran in this JVM.
     */
    public static long warmUp()
    {
        return EngineWarmup.runOnce(false, false, io.pagestream.api.Compression.AUTO);
    }

    /**
     * @return what the engine warm-up of this JVM did (the first launch runs a small loopback migration so the page
     * path is compiled before a real guest depends on it), or why it gave up; "not run" if no launch asked for it.
     */
    public static String warmupOutcome()
    {
        return EngineWarmup.lastOutcome();
    }

    /**
     * Read one of a source's or target's counters, for tests and tools in the same process. Other processes read
     * the same counters from the media driver's counters file.
     *
     * @param sourceOrTarget launched by this class.
     * @param type           of counter.
     * @return its value, 0 if that side does not keep it or is closed.
     */
    public static long counter(final AutoCloseable sourceOrTarget, final CounterType type)
    {
        if (sourceOrTarget instanceof DefaultMigrationSource)
        {
            return ((DefaultMigrationSource)sourceOrTarget).counter(type);
        }
        if (sourceOrTarget instanceof DefaultMigrationTarget)
        {
            return ((DefaultMigrationTarget)sourceOrTarget).counter(type);
        }
        throw new IllegalArgumentException("not launched by PageStream: " + sourceOrTarget);
    }

    /**
     * Predict a migration before committing to it: total time, downtime, mode, and whether pre-copy converges or
     * what throttle or post-copy it needs. Samples the guest's dirty log for {@code sampleMs} (so no migration of
     * this guest may run meanwhile), then plays the rounds over the link with the built-in policy of the context's
     * strategy. The context is read, not concluded: launch it afterwards as it is.
     *
     * @param ctx             the source's context as it would launch.
     * @param linkBytesPerSec the link's rate (measured, or from an earlier migration's report); 0 for the
     *                        context's cap.
     * @param sampleMs        the sampling window, 40 to 60000 ms; a second sees most working sets.
     * @param targetPostcopy  whether the target would run post-copy (its {@code postcopyEnabled}).
     * @return the estimate.
     * @throws MigrationException INVALID_CONFIGURATION if the guest, the dirty log or the link rate is missing.
     */
    public static io.pagestream.api.MigrationEstimate estimate(final MigrationSource.Context ctx,
        final long linkBytesPerSec, final long sampleMs, final boolean targetPostcopy)
    {
        return io.pagestream.sending.Estimator.estimate(ctx, linkBytesPerSec, sampleMs, targetPostcopy);
    }

    /**
     * @param sourceOrTarget launched by this class.
     * @return the directory of the media driver its counters live in (named by
     * {@code Context.driverDirectoryName}, or fresh, or the external driver's), for {@code pagestream-stat} or
     * AeronStat in another process.
     */
    public static String aeronDirectory(final AutoCloseable sourceOrTarget)
    {
        if (sourceOrTarget instanceof DefaultMigrationSource)
        {
            return ((DefaultMigrationSource)sourceOrTarget).aeronDirectory();
        }
        if (sourceOrTarget instanceof DefaultMigrationTarget)
        {
            return ((DefaultMigrationTarget)sourceOrTarget).aeronDirectory();
        }
        throw new IllegalArgumentException("not launched by PageStream: " + sourceOrTarget);
    }

    /**
     * What a launch throws when it fails: a {@link MigrationException} as it is; a transport failure (Aeron could not
     * bind an endpoint, reach or start its driver) as {@link ErrorCode#TRANSPORT_FAILED}; anything else unexpected
     * as {@link ErrorCode#INTERNAL}; each with the original as its cause. Errors (out of memory) pass unchanged.
     */
    static RuntimeException launchFailure(final String side, final Throwable t)
    {
        if (t instanceof Error)
        {
            throw (Error)t;
        }
        if (t instanceof MigrationException)
        {
            return (MigrationException)t;
        }
        boolean transport = false;
        for (Throwable c = t; null != c && !transport; c = c.getCause() == c ? null : c.getCause())
        {
            transport = c instanceof io.aeron.exceptions.AeronException || c instanceof java.net.SocketException ||
                c instanceof java.nio.channels.UnresolvedAddressException;
        }
        return new MigrationException(transport ? ErrorCode.TRANSPORT_FAILED : ErrorCode.INTERNAL,
            "could not launch the " + side + ": " + t, t);
    }
}
