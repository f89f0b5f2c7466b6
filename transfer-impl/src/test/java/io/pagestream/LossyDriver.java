package io.pagestream;

import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.driver.ext.DebugReceiveChannelEndpoint;
import io.aeron.driver.ext.DebugSendChannelEndpoint;
import io.aeron.driver.ext.LossGenerator;
import org.agrona.CloseHelper;
import org.agrona.IoUtil;

import java.io.File;
import java.util.UUID;

/**
 * A media driver of the test's own, in a fresh directory, whose channel endpoints drop frames as loss generators say
 * (Aeron's debug endpoints): a side uses it through {@code aeronDirectoryName}, with no hook in PageStream. Public
 * for the examples' process tests, which share this test jar.
 */
public final class LossyDriver implements AutoCloseable
{
    /** Drops nothing. */
    public static final LossGenerator NO_LOSS = (address, buffer, length) -> false;

    public final String directory;
    public final MediaDriver driver;

    /**
     * @param sent     decides on data frames this driver sends (source to target).
     * @param received decides on data frames this driver receives (target to source: the control stream).
     * @param control  decides on Aeron's own control messages (status, NAKs) both ways.
     */
    public LossyDriver(final LossGenerator sent, final LossGenerator received, final LossGenerator control)
    {
        directory = new File(System.getProperty("java.io.tmpdir"), "pagestream-lossy-" + UUID.randomUUID())
            .getAbsolutePath();
        driver = MediaDriver.launch(new MediaDriver.Context()
            .aeronDirectoryName(directory)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .threadingMode(ThreadingMode.SHARED)
            .termBufferSparseFile(true)
            .sendChannelEndpointSupplier((channel, status, context) ->
                new DebugSendChannelEndpoint(channel, status, context, sent, control))
            .receiveChannelEndpointSupplier((channel, dispatcher, status, context) ->
                new DebugReceiveChannelEndpoint(channel, dispatcher, status, context, received, control)));
    }

    public void close()
    {
        CloseHelper.close(driver);
        IoUtil.delete(new File(directory), true);
    }
}
