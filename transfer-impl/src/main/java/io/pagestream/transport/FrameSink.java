package io.pagestream.transport;

import io.aeron.logbuffer.BufferClaim;
import io.pagestream.security.FrameMac;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Where one stream's frames go: built in a scratch buffer and offered, or claimed in place for zero copy. Aeron's
 * return codes are folded into three outcomes: {@link #SENT}, {@link #RETRY} (back-pressure, not yet connected; try
 * again on a later duty cycle) and {@link #CLOSED} (the stream can take no more). The production sink is
 * {@link FramePublisher} over an exclusive publication; tests use a recording sink.
 * Threading: single writer.
 */
public interface FrameSink extends AutoCloseable
{
    /** The frame was accepted. */
    int SENT = 1;
    /** Back-pressured or not connected: try again later. */
    int RETRY = 0;
    /** The stream can take no more frames. */
    int CLOSED = -1;

    /** @return a buffer to build the next frame in, at offset 0, of {@link #maxFrameLength()} bytes at least. */
    UnsafeBuffer scratch();

    /** @return the largest frame that travels unfragmented, leaving room for a frame tag. */
    int maxFrameLength();

    /**
     * Offer the first {@code length} bytes of the scratch buffer, signed first if a signer is set (so a caller
     * rebuilds the frame before offering it again after a refusal).
     *
     * @param length of the frame.
     * @return {@link #SENT}, {@link #RETRY} or {@link #CLOSED}.
     */
    int offer(int length);

    /**
     * Offer a frame gathered from a header in the scratch buffer and a body elsewhere.
     *
     * @param headerLength bytes of header at the start of the scratch buffer.
     * @param body         buffer holding the body.
     * @param bodyOffset   of the body.
     * @param bodyLength   of the body.
     * @return {@link #SENT}, {@link #RETRY} or {@link #CLOSED}.
     */
    int offer(int headerLength, DirectBuffer body, int bodyOffset, int bodyLength);

    /**
     * Claim room for a frame of {@code length} bytes (plus the tag when signing) to be written in place and
     * committed with {@link BufferClaim#commit()}; admin actions are retried inside.
     *
     * @param length of the frame, tag excluded.
     * @param claim  to wrap the room.
     * @return {@link #SENT} (claimed), {@link #RETRY} or {@link #CLOSED}.
     */
    int tryClaim(int length, BufferClaim claim);

    /** @param frameMac sign every frame from now on, or null to stop signing. */
    void signer(FrameMac frameMac);

    /** @return the signer, or null. */
    FrameMac signer();

    /** @return bytes accepted so far, tags included. */
    long bytesSent();

    /** @return true while a subscriber is connected. */
    boolean isConnected();

    /** @return the Aeron session id of the stream, which the peer pins. */
    int sessionId();

    /** Close the stream; idempotent. */
    void close();
}
