package io.pagestream.synthetic;

import io.pagestream.api.guest.DeviceState;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.zip.CRC32C;

/**
 * A device state blob: on the source, deterministic bytes of a chosen size; on the target, whatever was restored.
 * {@link #checksum()} lets a demo or test compare the two.
 */
public final class SyntheticDeviceState implements DeviceState
{
    private volatile UnsafeBuffer state;

    private SyntheticDeviceState(final UnsafeBuffer state)
    {
        this.state = state;
    }

    /**
     * @param lengthBytes size of the blob.
     * @param seed        for its contents.
     * @return a source-side device state.
     */
    public static SyntheticDeviceState source(final int lengthBytes, final long seed)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(Math.max(64, lengthBytes), 64),
            0, lengthBytes);
        long x = seed | 1;
        for (int i = 0; i + 8 <= lengthBytes; i += 8)
        {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            buffer.putLong(i, x);
        }
        for (int i = lengthBytes & ~7; i < lengthBytes; i++)
        {
            buffer.putByte(i, (byte)i);
        }
        return new SyntheticDeviceState(buffer);
    }

    /**
     * @return a target-side device state, empty until restored.
     */
    public static SyntheticDeviceState target()
    {
        return new SyntheticDeviceState(null);
    }

    /** {@inheritDoc} */
    public int sizeHintBytes()
    {
        return null == state ? -1 : state.capacity();
    }

    /** {@inheritDoc} */
    public DirectBuffer save()
    {
        return state;
    }

    /** {@inheritDoc} */
    public void restore(final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] copy = new byte[length];
        buffer.getBytes(offset, copy);
        state = new UnsafeBuffer(copy);
    }

    /**
     * @return true once a state is held (always on the source, after restore on the target).
     */
    public boolean hasState()
    {
        return null != state;
    }

    /**
     * @return CRC32C of the held state, -1 if none.
     */
    public long checksum()
    {
        final UnsafeBuffer s = state;
        if (null == s)
        {
            return -1;
        }
        final byte[] bytes = new byte[s.capacity()];
        s.getBytes(0, bytes);
        final CRC32C crc = new CRC32C();
        crc.update(bytes);
        return crc.getValue();
    }

    /** @return length of the held state, -1 if none. */
    public int lengthBytes()
    {
        final UnsafeBuffer s = state;
        return null == s ? -1 : s.capacity();
    }
}
