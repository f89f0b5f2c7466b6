package io.pagestream.transport;

import io.aeron.Aeron;
import io.aeron.CommonContext;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.CloseHelper;
import org.agrona.ErrorHandler;
import org.agrona.IoUtil;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.IdleStrategy;

import java.io.File;
import java.util.UUID;

/**
 * An Aeron client connected either to an embedded media driver in a fresh directory (deleted on start and on
 * close), or in one the embedder names (deleted on start, kept at close, and never taken from a live driver: see
 * {@link #requireNoLiveDriver(String, long)}), or to an external driver named by its directory.
 * <p>
 * The embedded driver runs its conductor, sender and receiver together, since hypervisor hosts have cores to spare for
 * guests, not for us: either on the migration agent's own thread ({@code invoked}: see {@link #dutyCycle()}), or in
 * SHARED mode on one thread of its own with the context's driver idle strategy.
 * Threading: create and close from one thread; {@link #aeron()} is thread-safe as Aeron is.
 */
public final class AeronTransport implements AutoCloseable
{
    /** Counter values in an embedded driver's CnC file: 8,192 counters (their metadata is four times this). */
    static final int COUNTER_VALUES_BUFFER_LENGTH = 1024 * 1024;

    private final MediaDriver driver;
    private final Aeron aeron;
    private final String directoryName;
    private final AgentInvoker driverInvoker;
    private final AgentInvoker clientInvoker;
    private final boolean ownsClient;

    private AeronTransport(final MediaDriver driver, final Aeron aeron, final String directoryName,
        final boolean invoked)
    {
        this.driver = driver;
        this.aeron = aeron;
        this.directoryName = directoryName;
        this.driverInvoker = invoked && null != driver ? driver.sharedAgentInvoker() : null;
        this.clientInvoker = invoked ? aeron.conductorAgentInvoker() : null;
        this.ownsClient = true;
    }

    private AeronTransport(final Aeron sharedClient)
    {
        this.driver = null;
        this.aeron = sharedClient;
        this.directoryName = sharedClient.context().aeronDirectoryName();
        this.driverInvoker = null;
        this.clientInvoker = null;
        this.ownsClient = false;
    }

    /**
     * Use the embedder's Aeron client (and so its media driver): never closed here, and its conductor runs where
     * the embedder runs it.
     *
     * @param sharedClient a connected client.
     * @return the transport.
     */
    public static AeronTransport shared(final Aeron sharedClient)
    {
        if (sharedClient.isClosed())
        {
            throw new io.pagestream.api.MigrationException(io.pagestream.api.ErrorCode.INVALID_CONFIGURATION,
                "aeron: the client handed in is closed");
        }
        return new AeronTransport(sharedClient);
    }

    /** @return true if the client is the embedder's, not to be closed here. */
    public boolean isShared()
    {
        return !ownsClient;
    }

    /**
     * Launch an embedded driver (unless {@code externalDirectoryName} is given) and connect a client, each on its
     * own thread.
     *
     * @param externalDirectoryName directory of an external driver, or null for an embedded one.
     * @param role                  short name used in the embedded driver's directory name.
     * @param driverIdleStrategy    for the embedded driver's shared thread.
     * @param errorHandler          for the driver's and client's threads; never exits the JVM.
     * @return the connected transport.
     */
    public static AeronTransport launch(
        final String externalDirectoryName,
        final String role,
        final IdleStrategy driverIdleStrategy,
        final ErrorHandler errorHandler)
    {
        return launch(externalDirectoryName, null, role, driverIdleStrategy, errorHandler, false);
    }

    /**
     * Launch an embedded driver (unless {@code externalDirectoryName} is given) and connect a client.
     *
     * @param externalDirectoryName directory of an external driver, or null for an embedded one.
     * @param keptDirectoryName     the embedded driver's directory, kept after close (its counters with it), or
     *                              null for a fresh one deleted at close.
     * @param role                  short name used in the embedded driver's directory name.
     * @param driverIdleStrategy    for the embedded driver's shared thread.
     * @param errorHandler          for the driver's and client's threads; never exits the JVM.
     * @param invoked               true to run an embedded driver and the client's conductor on the caller's agent
     *                              thread (see {@link #dutyCycle()}) instead of threads of their own.
     * @return the connected transport.
     */
    public static AeronTransport launch(
        final String externalDirectoryName,
        final String keptDirectoryName,
        final String role,
        final IdleStrategy driverIdleStrategy,
        final ErrorHandler errorHandler,
        final boolean invoked)
    {
        MediaDriver driver = null;
        Aeron aeron = null;
        try
        {
            String directoryName = externalDirectoryName;
            if (null == directoryName)
            {
                reapStaleDirectories();
                directoryName = null != keptDirectoryName ? keptDirectoryName :
                    CommonContext.getAeronDirectoryName() + DIRECTORY_INFIX + role + "-" + UUID.randomUUID();
                final MediaDriver.Context driverContext = new MediaDriver.Context();
                if (null != keptDirectoryName)
                {
                    requireNoLiveDriver(keptDirectoryName, driverContext.driverTimeoutMs());
                }
                driverContext
                    .aeronDirectoryName(directoryName)
                    .dirDeleteOnStart(true)
                    .dirDeleteOnShutdown(null == keptDirectoryName)
                    .warnIfDirectoryExists(false)
                    .threadingMode(invoked ? ThreadingMode.INVOKER : ThreadingMode.SHARED)
                    .sharedIdleStrategy(driverIdleStrategy)
                    .termBufferSparseFile(true)
                    // Aeron's default of 8 MiB of counter values (and 32 MiB of their metadata) is for a driver
                    // shared by many clients, and all of it is resident from the start. One migration needs about a
                    // hundred counters: 8,192 fit in 1 MiB.
                    .counterValuesBufferLength(COUNTER_VALUES_BUFFER_LENGTH)
                    .errorHandler(errorHandler);
                driver = MediaDriver.launch(driverContext);
            }

            final boolean onAgentThread = invoked;
            final Aeron.Context clientContext = new Aeron.Context()
                .aeronDirectoryName(directoryName)
                .errorHandler(errorHandler)
                .subscriberErrorHandler(errorHandler);
            if (onAgentThread)
            {
                // The client's conductor runs on the agent's thread, with an external driver too (no thread of its
                // own); synchronous client calls run an embedded driver themselves while they wait for its answer.
                clientContext.useConductorAgentInvoker(true);
                if (null != driver)
                {
                    clientContext.driverAgentInvoker(driver.sharedAgentInvoker());
                    driver.sharedAgentInvoker().start();
                }
            }
            aeron = Aeron.connect(clientContext);
            return new AeronTransport(driver, aeron, directoryName, onAgentThread);
        }
        catch (final Throwable t)
        {
            CloseHelper.quietCloseAll(aeron, driver);
            throw t;
        }
    }

    /**
     * Refuse an embedder-named directory that a live media driver uses. The embedded driver is launched with
     * {@code dirDeleteOnStart(true)}, under which Aeron deletes the directory without first asking whether a driver
     * is active in it (it asks only without that flag): it would take the CnC file and log buffers from under that
     * driver and every client of it, another process's or this one's (a source and a target given the same
     * {@code pagestream.driver.dir}, say). A driver counts as live, as for Aeron's clients, while its heartbeat is
     * younger than the driver timeout; one that closed cleanly clears its heartbeat, so a directory kept by a
     * migration that has closed is reused at once.
     *
     * @param directoryName   the directory the embedded driver is to use.
     * @param driverTimeoutMs a heartbeat younger than this is a live driver.
     * @throws io.pagestream.api.MigrationException with {@link io.pagestream.api.ErrorCode#INVALID_CONFIGURATION}
     *                                             naming the directory, if a driver is live there or that cannot be
     *                                             told.
     */
    public static void requireNoLiveDriver(final String directoryName, final long driverTimeoutMs)
    {
        final boolean active;
        try
        {
            active = CommonContext.isDriverActive(new File(directoryName), driverTimeoutMs, message -> { });
        }
        catch (final RuntimeException ex)
        {
            // A CnC file never initialised, or of another Aeron version: nothing says no driver lives there.
            throw new io.pagestream.api.MigrationException(io.pagestream.api.ErrorCode.INVALID_CONFIGURATION,
                "driverDirectoryName=" + directoryName + ": cannot tell whether a media driver uses it (" + ex +
                "); delete the directory if none does, or name another", ex);
        }
        if (active)
        {
            throw new io.pagestream.api.MigrationException(io.pagestream.api.ErrorCode.INVALID_CONFIGURATION,
                "driverDirectoryName=" + directoryName + ": a live media driver uses this directory (its " +
                "heartbeat is under " + driverTimeoutMs + " ms old), and launching would delete it from under " +
                "that driver and its clients; name a directory of its own, or connect to that driver with " +
                "aeronDirectoryName");
        }
    }

    /**
     * Delete embedded driver directories that processes killed before they could close left behind (a SIGKILLed
     * hypervisor leaves its log buffers in /dev/shm): those of ours, untouched for {@value #STALE_DIRECTORY_MS} ms,
     * whose driver heartbeat is as old.
     *
     * @return directories deleted.
     */
    public static int reapStaleDirectories()
    {
        final File base = new File(CommonContext.getAeronDirectoryName());
        final File parent = base.getAbsoluteFile().getParentFile();
        final String prefix = base.getName() + DIRECTORY_INFIX;
        final File[] candidates = null == parent ? null : parent.listFiles(
            (dir, name) -> name.startsWith(prefix));
        int reaped = 0;
        if (null != candidates)
        {
            final long nowMs = System.currentTimeMillis();
            for (final File dir : candidates)
            {
                try
                {
                    if (nowMs - dir.lastModified() > STALE_DIRECTORY_MS &&
                        !CommonContext.isDriverActive(dir, STALE_DIRECTORY_MS, message -> { }))
                    {
                        IoUtil.delete(dir, true);
                        reaped++;
                    }
                }
                catch (final RuntimeException ignore)
                {
                    // Unreadable or vanishing under us: another process's business.
                }
            }
        }
        return reaped;
    }

    /**
     * @return an agent that runs the embedded driver's and the client conductor's duty cycles, to compose with the
     * migration agent on its thread; null if they have threads of their own.
     */
    public Agent dutyCycle()
    {
        if (null == clientInvoker)
        {
            return null;
        }
        return new Agent()
        {
            public int doWork()
            {
                return (null == driverInvoker ? 0 : driverInvoker.invoke()) + clientInvoker.invoke();
            }

            public String roleName()
            {
                return "aeron-driver-and-client";
            }
        };
    }

    /**
     * @return the connected client.
     */
    public Aeron aeron()
    {
        return aeron;
    }

    /**
     * @return the driver's directory.
     */
    public String directoryName()
    {
        return directoryName;
    }

    /**
     * @return true if this transport launched its own driver.
     */
    public boolean isEmbedded()
    {
        return null != driver;
    }

    /**
     * Close the client, then the embedded driver (which deletes its directory). When the driver runs on the agent's
     * thread, which has stopped by now, it is first run on for a moment (until it has had nothing to do for
     * {@value #LINGER_IDLE_CYCLES} cycles, at most {@value #LINGER_MAX_MS} ms) so frames already published, such as a
     * last ERROR to the peer, still go out. Idempotent.
     */
    public void close()
    {
        if (null != driverInvoker && !driverInvoker.isClosed() && !aeron.isClosed())
        {
            final long deadlineNs = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(LINGER_MAX_MS);
            int idleCycles = 0;
            while (idleCycles < LINGER_IDLE_CYCLES && System.nanoTime() < deadlineNs)
            {
                final int work = driverInvoker.invoke() + clientInvoker.invoke();
                idleCycles = work == 0 ? idleCycles + 1 : 0;
                java.util.concurrent.locks.LockSupport.parkNanos(200_000);
            }
        }
        if (ownsClient)
        {
            CloseHelper.closeAll(aeron, driver);
        }
    }

    /** Part of every embedded driver directory's name, after the Aeron base directory. */
    public static final String DIRECTORY_INFIX = "-pagestream-";
    /** Age after which an embedded driver directory with a silent driver counts as abandoned. */
    public static final long STALE_DIRECTORY_MS = 60_000;
    private static final int LINGER_IDLE_CYCLES = 50;
    private static final long LINGER_MAX_MS = 250;
}
