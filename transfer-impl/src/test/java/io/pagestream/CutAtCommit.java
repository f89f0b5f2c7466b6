package io.pagestream;

import io.aeron.driver.ext.LossGenerator;
import io.pagestream.protocol.FrameType;
import org.agrona.concurrent.UnsafeBuffer;

import java.net.InetSocketAddress;
import java.nio.ByteOrder;

/**
 * Drops every datagram a driver sends (or receives) from the first one carrying a COMMIT frame on, until healed: the
 * window two-phase commit cannot close by itself. The frame type is read at Aeron's data header plus one.
 */
public final class CutAtCommit implements LossGenerator
{
    public volatile boolean cut;
    public volatile boolean healed;
    public volatile long cutAtNs;

    public boolean shouldDropFrame(final InetSocketAddress address, final UnsafeBuffer buffer, final int length)
    {
        if (!cut)
        {
            for (int offset = 0; offset + 34 <= length; )
            {
                final int frameLength = buffer.getInt(offset, ByteOrder.LITTLE_ENDIAN);
                if (frameLength >= 34 && (buffer.getByte(offset + 32 + 1) & 0xFF) == FrameType.COMMIT)
                {
                    cut = true;
                    cutAtNs = System.nanoTime();
                    break;
                }
                if (frameLength <= 0)
                {
                    break;
                }
                offset += (frameLength + 31) & ~31;
            }
        }
        return cut && !healed;
    }
}
