package io.pagestream.security;

import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.HelloFlyweight;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;

/**
 * The handshake's challenge and response with a pre-shared key, both ways:
 * <pre>
 *   HELLO      source → target   nonceS (fresh, 128 bits)
 *   HELLO_ACK  target → source   nonceT (fresh), tagT = HMAC-SHA256(K, "pagestream/1 target" | id | nonceS | nonceT)
 *   AUTH       source → target   tagS = HMAC-SHA256(K, "pagestream/1 source" | id | nonceT | nonceS)
 * </pre>
 * The target proves it holds K before the source sends a page; the source proves it before the target accepts one.
 * A replayed HELLO meets a fresh nonceT, so an old AUTH does not answer it; a replayed HELLO_ACK does not answer a
 * fresh nonceS. Tags are compared in constant time. Threading: one per agent; not thread-safe. Allocates (a handshake
 * happens once per migration).
 */
public final class HandshakeAuthenticator
{
    private static final byte[] TARGET_LABEL = "pagestream/1 target".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SOURCE_LABEL = "pagestream/1 source".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FRAMES_LABEL = "pagestream/1 frames".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Mac mac;

    /**
     * @param key the pre-shared secret.
     */
    public HandshakeAuthenticator(final byte[] key)
    {
        try
        {
            mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IllegalStateException("HmacSHA256 unavailable: " + ex, ex);
        }
    }

    /** @return a fresh random nonce. */
    public static byte[] newNonce()
    {
        final byte[] nonce = new byte[HelloFlyweight.NONCE_LENGTH];
        RANDOM.nextBytes(nonce);
        return nonce;
    }

    /**
     * @param nonce refilled with fresh random bytes, for a new challenge on the same migration.
     */
    public static void refresh(final byte[] nonce)
    {
        RANDOM.nextBytes(nonce);
    }

    /**
     * @param migrationId the session.
     * @param sourceNonce from the HELLO.
     * @param targetNonce from the HELLO_ACK.
     * @return the target's tag.
     */
    public byte[] targetTag(final long migrationId, final byte[] sourceNonce, final byte[] targetNonce)
    {
        return tag(TARGET_LABEL, migrationId, sourceNonce, targetNonce);
    }

    /**
     * @param migrationId the session.
     * @param sourceNonce from the HELLO.
     * @param targetNonce from the HELLO_ACK.
     * @return the source's tag.
     */
    public byte[] sourceTag(final long migrationId, final byte[] sourceNonce, final byte[] targetNonce)
    {
        return tag(SOURCE_LABEL, migrationId, targetNonce, sourceNonce);
    }

    /**
     * @param migrationId the session.
     * @param sourceNonce from the HELLO.
     * @param targetNonce from the HELLO_ACK.
     * @return the key that signs this session's frames, fresh for every handshake.
     */
    public byte[] frameKey(final long migrationId, final byte[] sourceNonce, final byte[] targetNonce)
    {
        return tag(FRAMES_LABEL, migrationId, sourceNonce, targetNonce);
    }

    /**
     * @param expected the tag computed here.
     * @param received the tag from the peer.
     * @return true if equal; constant time.
     */
    public static boolean matches(final byte[] expected, final byte[] received)
    {
        return MessageDigest.isEqual(expected, received);
    }

    private byte[] tag(final byte[] label, final long migrationId, final byte[] first, final byte[] second)
    {
        mac.update(label);
        for (int i = 0; i < 8; i++)
        {
            mac.update((byte)(migrationId >>> (8 * i)));
        }
        mac.update(first);
        mac.update(second);
        final byte[] tag = mac.doFinal();
        if (tag.length != HelloAckFlyweight.TAG_LENGTH)
        {
            throw new IllegalStateException("HMAC-SHA256 gave " + tag.length + " bytes");
        }
        return tag;
    }
}
