package io.pagestream.protocol;

import java.nio.charset.StandardCharsets;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * PROMOTE, source to every receiver of a fan-out on lane 0: the target was lost before the switchover, and the
 * follower listening at the named endpoint takes its place (opens its control stream and answers as the target).
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Common Header (16 bytes)                    ...
 *  +---------------------------------------------------------------+
 *  |                       Endpoint Length                         |
 *  +---------------------------------------------------------------+
 *  |          Endpoint of the follower promoted, host:port       ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class PromoteFlyweight extends FrameFlyweight
{
    /** Offset of the endpoint's length. */
    public static final int ENDPOINT_LENGTH_OFFSET = HEADER_LENGTH;
    /** Offset of the endpoint. */
    public static final int ENDPOINT_OFFSET = ENDPOINT_LENGTH_OFFSET + 4;
    /** Longest endpoint in bytes. */
    public static final int MAX_ENDPOINT_LENGTH = 256;

    /**
     * @param endpoint {@code host:port} of the follower, ASCII.
     * @return the frame length.
     * @throws IllegalArgumentException if longer than {@link #MAX_ENDPOINT_LENGTH} bytes.
     */
    public int endpoint(final String endpoint)
    {
        final byte[] bytes = endpoint.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length > MAX_ENDPOINT_LENGTH)
        {
            throw new IllegalArgumentException("endpoint longer than " + MAX_ENDPOINT_LENGTH + " bytes: " + endpoint);
        }
        buffer.putInt(offset + ENDPOINT_LENGTH_OFFSET, bytes.length, LITTLE_ENDIAN);
        buffer.putBytes(offset + ENDPOINT_OFFSET, bytes);
        return ENDPOINT_OFFSET + bytes.length;
    }

    /** @return the endpoint. Allocates (a PROMOTE comes at most once per lost target). */
    public String endpoint()
    {
        final int length = buffer.getInt(offset + ENDPOINT_LENGTH_OFFSET, LITTLE_ENDIAN);
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset + ENDPOINT_OFFSET, bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    /** @param receivedLength bytes that arrived. */
    public void validate(final int receivedLength)
    {
        requireLength(receivedLength, ENDPOINT_OFFSET, false);
        final int length = buffer.getInt(offset + ENDPOINT_LENGTH_OFFSET, LITTLE_ENDIAN);
        if (length < 1 || length > MAX_ENDPOINT_LENGTH || length != receivedLength - ENDPOINT_OFFSET)
        {
            throw badField("endpointLength", length, "frame carries " + (receivedLength - ENDPOINT_OFFSET) +
                " bytes, 1 to " + MAX_ENDPOINT_LENGTH);
        }
    }
}
