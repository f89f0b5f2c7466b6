package io.pagestream.transport;

import io.aeron.Aeron;
import io.aeron.CommonContext;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.CloseHelper;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.IdleStrategy;

import java.util.UUID;

/**
 * An Aeron client connected either to an embedded media driver in a fresh directory (deleted on start and on
 * close) or to an external driver named by its directory.
 * <p>
 * The embedded driver runs in SHARED threading mode: one thread for conductor, sender and receiver, since hypervisor
 * hosts have cores to spare for guests, not for us; its idle strategy is the context's.
 * Threading: create and close from one thread; {@link #aeron()} is thread-safe as Aeron is.
 */
public final class AeronTransport implements AutoCloseable
{
    private final MediaDriver driver;
    private final Aeron aeron;
    private final String directoryName;

    private AeronTransport(final MediaDriver driver, final Aeron aeron, final String directoryName)
    {
        this.driver = driver;
        this.aeron = aeron;
        this.directoryName = directoryName;
    }

    /**
     * Launch an embedded driver (unless {@code externalDirectoryName} is given) and connect a client.
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
        MediaDriver driver = null;
        Aeron aeron = null;
        try
        {
            String directoryName = externalDirectoryName;
            if (null == directoryName)
            {
                directoryName = CommonContext.getAeronDirectoryName() + "-pagestream-" + role + "-" + UUID.randomUUID();
                final MediaDriver.Context driverContext = new MediaDriver.Context()
                    .aeronDirectoryName(directoryName)
                    .dirDeleteOnStart(true)
                    .dirDeleteOnShutdown(true)
                    .warnIfDirectoryExists(false)
                    .threadingMode(ThreadingMode.SHARED)
                    .sharedIdleStrategy(driverIdleStrategy)
                    .termBufferSparseFile(true)
                    .errorHandler(errorHandler);
                driver = MediaDriver.launch(driverContext);
            }

            final Aeron.Context clientContext = new Aeron.Context()
                .aeronDirectoryName(directoryName)
                .errorHandler(errorHandler)
                .subscriberErrorHandler(errorHandler);
            aeron = Aeron.connect(clientContext);
            return new AeronTransport(driver, aeron, directoryName);
        }
        catch (final Throwable t)
        {
            CloseHelper.quietCloseAll(aeron, driver);
            throw t;
        }
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
     * Close the client, then the embedded driver (which deletes its directory). Idempotent.
     */
    public void close()
    {
        CloseHelper.closeAll(aeron, driver);
    }
}
