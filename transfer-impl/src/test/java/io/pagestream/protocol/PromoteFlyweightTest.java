package io.pagestream.protocol;

import io.pagestream.api.MigrationException;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PROMOTE round trips its endpoint, and a frame whose endpoint length disagrees with the bytes that arrived, or is
 * empty or too long, is refused naming the field.
 */
class PromoteFlyweightTest
{
    @Test
    void shouldRoundTripTheEndpointAndRefuseBadLengths()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[512]);
        final PromoteFlyweight promote = new PromoteFlyweight();
        promote.wrap(buffer, 0);
        final int length = promote.endpoint("10.0.0.7:40400");
        promote.writeHeader(FrameType.PROMOTE, length, 0x5EEDL);

        final PromoteFlyweight read = new PromoteFlyweight();
        read.wrapForRead(buffer, 0);
        read.validateHeader(length);
        read.validate(length);
        assertEquals(FrameType.PROMOTE, read.type());
        assertEquals("10.0.0.7:40400", read.endpoint());
        assertEquals("PROMOTE", FrameType.name(FrameType.PROMOTE));

        final MigrationException shorter = assertThrows(MigrationException.class, () -> read.validate(length - 1));
        assertTrue(shorter.getMessage().contains("endpointLength"), shorter.getMessage());
        buffer.putInt(PromoteFlyweight.ENDPOINT_LENGTH_OFFSET, 0, java.nio.ByteOrder.LITTLE_ENDIAN);
        assertThrows(MigrationException.class, () -> read.validate(PromoteFlyweight.ENDPOINT_OFFSET));
        assertThrows(IllegalArgumentException.class, () -> promote.endpoint("h".repeat(300) + ":1"));
    }
}
