package io.pagestream.security;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * {@link FrameMac}'s HMAC-SHA256 (the tag of {@code frameAuthentication}) against known answers:
 * <ul>
 *     <li>the HMAC core, by the key set-up and code that tag frames ({@link FrameMac#hmacSha256}), against all seven
 *     HMAC-SHA-256 test cases of RFC 4231 section 4: case 5 compared on the 128 bits the RFC publishes, cases 6 and 7
 *     with a 131-byte key, hashed first as RFC 2104 requires;</li>
 *     <li>the frame tag against the JDK's {@code javax.crypto.Mac("HmacSHA256")} computed here over the bytes
 *     FrameMac documents it authenticates, lane | sequence (little-endian) | frame, truncated to 16 bytes;</li>
 *     <li>every bit of a signed frame (header, body, tag, sequence) flipped in turn fails verification;</li>
 *     <li>signing and verifying allocate nothing once warm.</li>
 * </ul>
 */
class FrameMacTest
{
    private static final HexFormat HEX = HexFormat.of();
    private static final int MAC_LENGTH = 16;
    private static final byte[] SESSION_KEY = HEX.parseHex(
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

    static Stream<Arguments> rfc4231()
    {
        final byte[] case4Key = new byte[25];
        for (int i = 0; i < case4Key.length; i++)
        {
            case4Key[i] = (byte)(i + 1);
        }
        return Stream.of(
            arguments(1, repeat(0x0b, 20), ascii("Hi There"),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            arguments(2, ascii("Jefe"), ascii("what do ya want for nothing?"),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            arguments(3, repeat(0xaa, 20), repeat(0xdd, 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            arguments(4, case4Key, repeat(0xcd, 50),
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            // Section 4.6: the output truncated to 128 bits, the length of a frame tag.
            arguments(5, repeat(0x0c, 20), ascii("Test With Truncation"),
                "a3b6167473100ee06e0c796c2955552b"),
            arguments(6, repeat(0xaa, 131), ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            arguments(7, repeat(0xaa, 131), ascii("This is a test using a larger than block-size key and a larger " +
                "than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"));
    }

    @ParameterizedTest(name = "RFC 4231 test case {0}")
    @MethodSource("rfc4231")
    void shouldComputeRfc4231KnownAnswer(final int testCase, final byte[] key, final byte[] data, final String hex)
    {
        final byte[] expected = HEX.parseHex(hex);
        final byte[] hmac = FrameMac.hmacSha256(key, data);

        assertEquals(32, hmac.length);
        assertArrayEquals(expected, Arrays.copyOf(hmac, expected.length));
    }

    @ParameterizedTest(name = "RFC 4231 test case {0}")
    @MethodSource("rfc4231")
    void shouldAgreeWithJdkMacOnRfc4231Inputs(final int testCase, final byte[] key, final byte[] data, final String hex)
    {
        // The transcribed vector checked by the JDK too, so a typo here is not mistaken for a FrameMac defect.
        final byte[] expected = HEX.parseHex(hex);
        final byte[] jdk = jdkHmac(key, data);

        assertArrayEquals(expected, Arrays.copyOf(jdk, expected.length));
        assertArrayEquals(jdk, FrameMac.hmacSha256(key, data));
    }

    @Test
    void shouldTagFrameWithHmacOfLaneSequenceAndFrame()
    {
        final int frameOffset = 13; // not aligned, not at 0
        final int frameLength = 16 + 4096;
        final byte[] frame = random(frameLength, 1);
        final byte[][] keys = { SESSION_KEY, ascii("Jefe"), repeat(0xaa, 131) };
        final byte[] lanes = { FrameMac.LANE_DATA, FrameMac.LANE_URGENT, FrameMac.LANE_CONTROL };
        for (final byte[] key : keys)
        {
            for (final byte lane : lanes)
            {
                final FrameMac signer = new FrameMac(key, lane);
                final UnsafeBuffer buffer = new UnsafeBuffer(new byte[frameOffset + frameLength + FrameMac.TAG_LENGTH]);
                buffer.putBytes(frameOffset, frame);
                for (long seq = 0; seq < 3; seq++)
                {
                    signer.sign(buffer, frameOffset, frameLength);

                    final String where = "key of " + key.length + " bytes, lane " + lane + ", sequence " + seq;
                    assertArrayEquals(expectedTag(key, lane, seq, frame), bytes(buffer, frameOffset + frameLength,
                        MAC_LENGTH), where);
                    assertEquals(seq, buffer.getLong(frameOffset + frameLength + MAC_LENGTH, ByteOrder.LITTLE_ENDIAN),
                        where);
                    assertArrayEquals(frame, bytes(buffer, frameOffset, frameLength), "frame left as it was");
                }
            }
        }
    }

    @Test
    void shouldTagRequestsWithSequenceZero()
    {
        final int frameLength = 32;
        final byte[] frame = random(frameLength, 2);
        final FrameMac signer = new FrameMac(SESSION_KEY, FrameMac.LANE_REQUEST);
        final FrameMac verifier = new FrameMac(SESSION_KEY, FrameMac.LANE_REQUEST);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[frameLength + FrameMac.TAG_LENGTH]);
        buffer.putBytes(0, frame);
        for (int i = 0; i < 2; i++)
        {
            signer.sign(buffer, 0, frameLength);

            assertArrayEquals(expectedTag(SESSION_KEY, FrameMac.LANE_REQUEST, 0, frame), bytes(buffer, frameLength,
                MAC_LENGTH));
            assertEquals(0, buffer.getLong(frameLength + MAC_LENGTH, ByteOrder.LITTLE_ENDIAN));
            assertTrue(verifier.verify(buffer, 0, frameLength + FrameMac.TAG_LENGTH), "a replayed request is accepted");
        }
    }

    @Test
    void shouldRefuseFrameWithAnyBitFlipped()
    {
        final int frameLength = 16 + 40;
        final int taggedLength = frameLength + FrameMac.TAG_LENGTH;
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[taggedLength]);
        buffer.putBytes(0, random(frameLength, 3));
        final FrameMac signer = new FrameMac(SESSION_KEY, FrameMac.LANE_DATA);
        signer.sign(buffer, 0, frameLength);
        signer.sign(buffer, 0, frameLength); // sequence 1: a flip to 0 still passes the order check, not the tag
        final FrameMac verifier = new FrameMac(SESSION_KEY, FrameMac.LANE_DATA);

        for (int bit = 0; bit < taggedLength * 8; bit++)
        {
            flip(buffer, bit);
            assertFalse(verifier.verify(buffer, 0, taggedLength), "bit " + bit + " of " + part(bit, frameLength));
            flip(buffer, bit);
        }
        assertTrue(verifier.verify(buffer, 0, taggedLength));
    }

    @Test
    void shouldRefuseReplayOtherLaneAndOtherKey()
    {
        final int frameLength = 48;
        final int taggedLength = frameLength + FrameMac.TAG_LENGTH;
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[taggedLength]);
        buffer.putBytes(0, random(frameLength, 4));
        new FrameMac(SESSION_KEY, FrameMac.LANE_DATA).sign(buffer, 0, frameLength);
        final byte[] otherKey = SESSION_KEY.clone();
        otherKey[31] ^= 1;

        assertFalse(new FrameMac(SESSION_KEY, FrameMac.LANE_URGENT).verify(buffer, 0, taggedLength));
        assertFalse(new FrameMac(otherKey, FrameMac.LANE_DATA).verify(buffer, 0, taggedLength));
        final FrameMac verifier = new FrameMac(SESSION_KEY, FrameMac.LANE_DATA);
        assertTrue(verifier.verify(buffer, 0, taggedLength));
        assertFalse(verifier.verify(buffer, 0, taggedLength), "replayed");
    }

    @Test
    void shouldSignAndVerifyWithoutAllocating()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assertTrue(threads.isThreadAllocatedMemorySupported(), "this JVM cannot count a thread's allocation");
        threads.setThreadAllocatedMemoryEnabled(true);
        final int frameLength = 48 + 4096;
        final UnsafeBuffer buffer = new UnsafeBuffer(
            BufferUtil.allocateDirectAligned(frameLength + FrameMac.TAG_LENGTH, 64));
        buffer.putBytes(0, random(frameLength, 5));
        final FrameMac signer = new FrameMac(SESSION_KEY, FrameMac.LANE_DATA);
        final FrameMac verifier = new FrameMac(SESSION_KEY, FrameMac.LANE_DATA);
        final int iterations = 20_000;

        assertEquals(iterations, signAndVerify(signer, verifier, buffer, frameLength, iterations)); // warm-up
        final long before = threads.getCurrentThreadAllocatedBytes();
        final int verified = signAndVerify(signer, verifier, buffer, frameLength, iterations);
        final long allocatedBytes = threads.getCurrentThreadAllocatedBytes() - before;

        assertEquals(iterations, verified);
        // Less than a byte per frame: one array per frame would be at least 16 bytes each.
        assertTrue(allocatedBytes < iterations, allocatedBytes + " bytes allocated over " + iterations + " frames");
    }

    private static int signAndVerify(
        final FrameMac signer, final FrameMac verifier, final UnsafeBuffer buffer, final int length, final int count)
    {
        int verified = 0;
        for (int i = 0; i < count; i++)
        {
            signer.sign(buffer, 0, length);
            if (verifier.verify(buffer, 0, length + FrameMac.TAG_LENGTH))
            {
                verified++;
            }
        }
        return verified;
    }

    private static byte[] expectedTag(final byte[] key, final byte lane, final long seq, final byte[] frame)
    {
        final byte[] message = ByteBuffer.allocate(1 + 8 + frame.length).order(ByteOrder.LITTLE_ENDIAN)
            .put(lane).putLong(seq).put(frame).array();
        return Arrays.copyOf(jdkHmac(key, message), MAC_LENGTH);
    }

    static byte[] jdkHmac(final byte[] key, final byte[] message)
    {
        try
        {
            final Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(message);
        }
        catch (final java.security.GeneralSecurityException ex)
        {
            throw new AssertionError(ex);
        }
    }

    static String part(final int bit, final int frameLength)
    {
        final int index = bit / 8;
        return index < 16 ? "header" : index < frameLength ? "body" : index < frameLength + MAC_LENGTH ? "tag" :
            "sequence";
    }

    static void flip(final UnsafeBuffer buffer, final int bit)
    {
        buffer.putByte(bit / 8, (byte)(buffer.getByte(bit / 8) ^ (1 << (bit % 8))));
    }

    static byte[] bytes(final org.agrona.DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        return bytes;
    }

    static byte[] random(final int length, final long seed)
    {
        final byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static byte[] repeat(final int value, final int count)
    {
        final byte[] bytes = new byte[count];
        Arrays.fill(bytes, (byte)value);
        return bytes;
    }

    private static byte[] ascii(final String text)
    {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
