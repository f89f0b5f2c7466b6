package io.pagestream.transport;

import io.aeron.logbuffer.BufferClaim;
import io.aeron.protocol.DataHeaderFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.security.FrameMac;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link FrameSink} that keeps every frame offered or claimed, in order, in native memory (as a term buffer would,
 * so receivers that read payloads by address can be fed from it), and answers offers from a script: tests decide
 * when the stream is back-pressured, closed or not yet connected.
 */
public final class RecordingSink implements FrameSink
{
    /** Room for the first frames; the log doubles as a test sends more (fuzzers make thousands of sinks). */
    private static final int INITIAL_LOG_CAPACITY = 1 << 20;

    private final UnsafeBuffer scratch = new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024));
    private final UnsafeBuffer log = new UnsafeBuffer(ByteBuffer.allocateDirect(INITIAL_LOG_CAPACITY));
    private final List<int[]> frames = new ArrayList<>();
    private final ArrayDeque<Integer> script = new ArrayDeque<>();
    private final int maxFrameLength;
    private final int sessionId;
    private final java.util.Set<String> senderThreads = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private int defaultOutcome = SENT;
    private boolean connected = true;
    private boolean closed;
    private int writePosition;
    private long bytesSent;
    private FrameMac signer;

    /**
     * @param sessionId      the Aeron session id this stream reports.
     * @param maxFrameLength the largest frame, as an MTU would allow.
     */
    public RecordingSink(final int sessionId, final int maxFrameLength)
    {
        this.sessionId = sessionId;
        this.maxFrameLength = maxFrameLength;
    }

    /** A sink with an 8 KiB MTU's room. */
    public RecordingSink()
    {
        this(1, 8192 - DataHeaderFlyweight.HEADER_LENGTH - FrameMac.TAG_LENGTH);
    }

    /**
     * @param outcomes the next offers' outcomes, in order, before the default applies again.
     * @return this.
     */
    public RecordingSink script(final int... outcomes)
    {
        for (final int outcome : outcomes)
        {
            script.add(outcome);
        }
        return this;
    }

    /**
     * @param outcome what every offer returns once the script is used up.
     * @return this.
     */
    public RecordingSink defaultOutcome(final int outcome)
    {
        defaultOutcome = outcome;
        return this;
    }

    /**
     * @param isConnected whether a subscriber is there.
     * @return this.
     */
    public RecordingSink connected(final boolean isConnected)
    {
        connected = isConnected;
        return this;
    }

    private int next()
    {
        senderThreads.add(Thread.currentThread().getName());
        return script.isEmpty() ? defaultOutcome : script.poll();
    }

    /**
     * @return names of the threads that offered or claimed on this sink.
     */
    public java.util.Set<String> senderThreads()
    {
        return senderThreads;
    }

    /**
     * Make room for a frame of {@code length} at the write position: a bigger log, the frames so far copied over at
     * the same offsets (addresses taken from {@link #buffer()} before this call are stale after it).
     */
    private void ensureRoom(final int length)
    {
        final long needed = (long)writePosition + DataHeaderFlyweight.HEADER_LENGTH + length + 32;
        if (needed > log.capacity())
        {
            long capacity = log.capacity();
            while (capacity < needed)
            {
                capacity *= 2;
            }
            final UnsafeBuffer bigger = new UnsafeBuffer(ByteBuffer.allocateDirect(Math.toIntExact(capacity)));
            bigger.putBytes(0, log, 0, writePosition);
            log.wrap(bigger.byteBuffer());
        }
    }

    private int append(final DirectBuffer source, final int offset, final int length)
    {
        ensureRoom(length);
        final int frameOffset = writePosition + DataHeaderFlyweight.HEADER_LENGTH;
        log.putBytes(frameOffset, source, offset, length);
        frames.add(new int[]{ frameOffset, length });
        writePosition = align(frameOffset + length);
        return frameOffset;
    }

    private static int align(final int position)
    {
        return (position + 31) & ~31;
    }

    /** {@inheritDoc} */
    public UnsafeBuffer scratch()
    {
        return scratch;
    }

    /** {@inheritDoc} */
    public int maxFrameLength()
    {
        return maxFrameLength;
    }

    /** {@inheritDoc} */
    public int offer(final int length)
    {
        final int outcome = next();
        if (outcome == SENT)
        {
            int wireLength = length;
            if (null != signer)
            {
                signer.sign(scratch, 0, length);
                wireLength += FrameMac.TAG_LENGTH;
            }
            append(scratch, 0, wireLength);
            bytesSent += wireLength;
        }
        return outcome;
    }

    /** {@inheritDoc} */
    public int offer(final int headerLength, final DirectBuffer body, final int bodyOffset, final int bodyLength)
    {
        scratch.putBytes(headerLength, body, bodyOffset, bodyLength);
        return offer(headerLength + bodyLength);
    }

    /** {@inheritDoc} */
    public int tryClaim(final int length, final BufferClaim claim)
    {
        final int outcome = next();
        if (outcome == SENT)
        {
            final int wireLength = null == signer ? length : length + FrameMac.TAG_LENGTH;
            ensureRoom(wireLength);
            claim.wrap(log, writePosition, wireLength + DataHeaderFlyweight.HEADER_LENGTH);
            frames.add(new int[]{ writePosition + DataHeaderFlyweight.HEADER_LENGTH, wireLength });
            writePosition = align(writePosition + DataHeaderFlyweight.HEADER_LENGTH + wireLength);
            bytesSent += wireLength;
        }
        return outcome;
    }

    /** {@inheritDoc} */
    public void signer(final FrameMac frameMac)
    {
        signer = frameMac;
    }

    /** {@inheritDoc} */
    public FrameMac signer()
    {
        return signer;
    }

    /** {@inheritDoc} */
    public long bytesSent()
    {
        return bytesSent;
    }

    /** {@inheritDoc} */
    public boolean isConnected()
    {
        return connected && !closed;
    }

    /** {@inheritDoc} */
    public int sessionId()
    {
        return sessionId;
    }

    /** {@inheritDoc} */
    public void close()
    {
        closed = true;
    }

    /** @return true once closed. */
    public boolean isClosed()
    {
        return closed;
    }

    /** @return frames recorded. */
    public int count()
    {
        return frames.size();
    }

    /** @return the memory frames are recorded in (direct). */
    public UnsafeBuffer buffer()
    {
        return log;
    }

    /**
     * @param index of a frame.
     * @return its offset in {@link #buffer()}.
     */
    public int offset(final int index)
    {
        return frames.get(index)[0];
    }

    /**
     * @param index of a frame.
     * @return its length as it went out (tag included).
     */
    public int length(final int index)
    {
        return frames.get(index)[1];
    }

    /**
     * @param index of a frame.
     * @return its PageStream frame type.
     */
    public int type(final int index)
    {
        return log.getByte(offset(index) + FrameFlyweight.TYPE_OFFSET);
    }

    /** @return the types of every frame, in order. */
    public List<Integer> types()
    {
        final List<Integer> types = new ArrayList<>();
        for (int i = 0; i < frames.size(); i++)
        {
            types.add(type(i));
        }
        return types;
    }

    /**
     * @param type a frame type.
     * @return how many frames of it were recorded.
     */
    public int count(final int type)
    {
        int count = 0;
        for (int i = 0; i < frames.size(); i++)
        {
            if (type(i) == type)
            {
                count++;
            }
        }
        return count;
    }

    /**
     * @param type a frame type.
     * @return the index of the last frame of it, or -1.
     */
    public int last(final int type)
    {
        for (int i = frames.size() - 1; i >= 0; i--)
        {
            if (type(i) == type)
            {
                return i;
            }
        }
        return -1;
    }

    /** Forget what was recorded. */
    public void clear()
    {
        frames.clear();
        writePosition = 0;
    }
}
