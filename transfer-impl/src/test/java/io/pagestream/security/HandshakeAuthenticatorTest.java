package io.pagestream.security;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static io.pagestream.security.FrameMacTest.jdkHmac;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link HandshakeAuthenticator}'s tags and frame key against {@code javax.crypto.Mac("HmacSHA256")} computed here over
 * the inputs its class comment documents: an ASCII label, the migration id (8 bytes, little-endian, as the frame
 * header carries it), then the two 16-byte nonces, source first for the target's tag and the frame key, target first
 * for the source's tag. Any change of id, nonce, order or key changes all three.
 */
class HandshakeAuthenticatorTest
{
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] KEY = "a pre-shared secret, of any length".getBytes(StandardCharsets.US_ASCII);
    private static final long MIGRATION_ID = 0x0102030405060708L; // every byte distinct: the byte order matters
    private static final byte[] SOURCE_NONCE = HEX.parseHex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    private static final byte[] TARGET_NONCE = HEX.parseHex("b0b1b2b3b4b5b6b7b8b9babbbcbdbebf");

    private final HandshakeAuthenticator auth = new HandshakeAuthenticator(KEY);

    @Test
    void shouldTagForTargetOverTargetLabelIdSourceNonceThenTargetNonce()
    {
        assertArrayEquals(
            expected("pagestream/1 target", MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE),
            auth.targetTag(MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE));
    }

    @Test
    void shouldTagForSourceOverSourceLabelIdTargetNonceThenSourceNonce()
    {
        assertArrayEquals(
            expected("pagestream/1 source", MIGRATION_ID, TARGET_NONCE, SOURCE_NONCE),
            auth.sourceTag(MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE));
    }

    @Test
    void shouldDeriveFrameKeyOverFramesLabelIdSourceNonceThenTargetNonce()
    {
        assertArrayEquals(
            expected("pagestream/1 frames", MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE),
            auth.frameKey(MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE));
    }

    @Test
    void shouldGiveTheSameAnswerWhenAskedAgain()
    {
        // One Mac serves every call: each must start from the key alone.
        final byte[] target = auth.targetTag(MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE);
        auth.sourceTag(MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE);
        auth.frameKey(MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE);

        assertArrayEquals(target, auth.targetTag(MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE));
        assertArrayEquals(target, new HandshakeAuthenticator(KEY).targetTag(MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE));
    }

    @Test
    void shouldGiveDifferentTagsForDifferentIdsNoncesOrderAndKey()
    {
        final byte[] otherSourceNonce = SOURCE_NONCE.clone();
        otherSourceNonce[15] ^= 1;
        final byte[] otherTargetNonce = TARGET_NONCE.clone();
        otherTargetNonce[0] ^= (byte)0x80;
        final byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        final HandshakeAuthenticator otherAuth = new HandshakeAuthenticator(otherKey);

        final List<byte[]> all = new ArrayList<>();
        for (final HandshakeAuthenticator a : new HandshakeAuthenticator[]{ auth, otherAuth })
        {
            addAll(all, a, MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE);
            addAll(all, a, MIGRATION_ID + 1, SOURCE_NONCE, TARGET_NONCE);
            addAll(all, a, Long.reverseBytes(MIGRATION_ID), SOURCE_NONCE, TARGET_NONCE);
            addAll(all, a, MIGRATION_ID, otherSourceNonce, TARGET_NONCE);
            addAll(all, a, MIGRATION_ID, SOURCE_NONCE, otherTargetNonce);
            addAll(all, a, MIGRATION_ID, TARGET_NONCE, SOURCE_NONCE);
        }

        for (int i = 0; i < all.size(); i++)
        {
            assertEquals(32, all.get(i).length);
            for (int j = i + 1; j < all.size(); j++)
            {
                assertFalse(Arrays.equals(all.get(i), all.get(j)), "tags " + i + " and " + j + " are equal");
            }
        }
    }

    @Test
    void shouldMatchOnlyTheSameTag()
    {
        final byte[] tag = auth.targetTag(MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE);
        final byte[] flipped = tag.clone();
        flipped[31] ^= 1;

        assertTrue(HandshakeAuthenticator.matches(tag, tag.clone()));
        assertFalse(HandshakeAuthenticator.matches(tag, flipped));
        assertFalse(HandshakeAuthenticator.matches(tag, Arrays.copyOf(tag, 16)));
        assertFalse(HandshakeAuthenticator.matches(tag, auth.sourceTag(MIGRATION_ID, SOURCE_NONCE, TARGET_NONCE)));
    }

    private static void addAll(
        final List<byte[]> all,
        final HandshakeAuthenticator auth,
        final long migrationId,
        final byte[] sourceNonce,
        final byte[] targetNonce)
    {
        all.add(auth.targetTag(migrationId, sourceNonce, targetNonce));
        all.add(auth.sourceTag(migrationId, sourceNonce, targetNonce));
        all.add(auth.frameKey(migrationId, sourceNonce, targetNonce));
    }

    private static byte[] expected(final String label, final long migrationId, final byte[] first, final byte[] second)
    {
        final byte[] labelBytes = label.getBytes(StandardCharsets.US_ASCII);
        final byte[] message = ByteBuffer.allocate(labelBytes.length + 8 + first.length + second.length)
            .order(ByteOrder.LITTLE_ENDIAN).put(labelBytes).putLong(migrationId).put(first).put(second).array();
        return jdkHmac(KEY, message);
    }
}
