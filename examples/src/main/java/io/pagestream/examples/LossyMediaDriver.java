package io.pagestream.examples;

import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.driver.ext.DebugReceiveChannelEndpoint;
import io.aeron.driver.ext.LossGenerator;
import io.aeron.driver.ext.RandomLossGenerator;
import org.agrona.CloseHelper;
import org.agrona.IoUtil;

import java.io.File;
import java.util.UUID;

/**
 * The demo target's own media driver when asked for loss ({@code --loss}): its receive endpoints drop a seeded
 * random fraction of the data frames that arrive (Aeron's debug endpoints), and Aeron repairs them by NAK and
 * retransmission. For showing loss repair, never for a real migration.
 */
final class LossyMediaDriver implements AutoCloseable
{
    final String directory;
    private final MediaDriver driver;

    LossyMediaDriver(final double rate, final long seed)
    {
        directory = new File(System.getProperty("java.io.tmpdir"), "pagestream-demo-lossy-" + UUID.randomUUID())
            .getAbsolutePath();
        final LossGenerator dataLoss = new RandomLossGenerator(rate, seed);
        final LossGenerator noLoss = (address, buffer, length) -> false;
        driver = MediaDriver.launch(new MediaDriver.Context()
            .aeronDirectoryName(directory)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .threadingMode(ThreadingMode.SHARED)
            .termBufferSparseFile(true)
            .receiveChannelEndpointSupplier((channel, dispatcher, status, context) ->
                new DebugReceiveChannelEndpoint(channel, dispatcher, status, context, dataLoss, noLoss)));
    }

    public void close()
    {
        CloseHelper.close(driver);
        IoUtil.delete(new File(directory), true);
    }
}
