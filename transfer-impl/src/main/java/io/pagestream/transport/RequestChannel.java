package io.pagestream.transport;

import org.agrona.DirectBuffer;

/**
 * A stream many threads may offer small frames to: the target's page requests, sent by the hypervisor's vCPU threads
 * themselves on an Aeron concurrent publication. Threading: any thread.
 */
public interface RequestChannel extends AutoCloseable
{
    /**
     * @param buffer holding the frame.
     * @param offset of the frame.
     * @param length of the frame.
     * @return a new stream position if accepted, else a negative Aeron publication code.
     */
    long offer(DirectBuffer buffer, int offset, int length);

    /** Close the stream; idempotent. */
    default void close()
    {
    }
}
