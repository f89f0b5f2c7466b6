package io.pagestream.security;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A per-frame trailer: a 16-byte tag, the first bytes of HMAC-SHA256(sessionKey, lane | sequence | frame) (or, when
 * encrypting, the AES-GCM tag), then the 8-byte sequence it was made with. Every signing takes a fresh sequence, so a
 * nonce is never reused even when an offer is refused and the frame rebuilt; the receiver accepts only growing
 * sequences within a stream (one Aeron session, delivered in order), so a frame replayed or moved back fails. Lanes
 * without order (page requests from many vCPU threads) use sequence 0, and a replayed request only makes the source
 * send a page again.
 * <pre>
 *   frame (length bytes)                     | tag (16)                      | sequence (8, little-endian)
 *   HMAC input:  lane (1) | sequence (8, little-endian) | frame
 *   GCM nonce:   lane (1) | 0 0 0 | sequence (8, little-endian); associated data: the frame's first 16 bytes (the
 *                header; the whole frame if shorter), left in the clear; the rest sealed in place.
 * </pre>
 * HMAC (RFC 2104) is computed over two {@link MessageDigest}s with precomputed pad blocks, and the frame is first
 * copied into a reusable array, so signing and verifying allocate nothing. The JDK's {@code javax.crypto.Mac} is as
 * fast here but allocates the inner digest on every {@code doFinal} (measured in {@code FrameMacBenchmark}); both are
 * checked against RFC 4231 in {@code FrameMacTest}. Threading: one thread per instance.
 */
public final class FrameMac
{
    /** Bytes after each frame: the 16-byte tag, then the 8-byte sequence it was made with. */
    public static final int TAG_LENGTH = 24;
    private static final int MAC_LENGTH = 16;
    /** Lane: the data stream, source to target. */
    public static final byte LANE_DATA = 1;
    /** Lane: the urgent stream, source to target. */
    public static final byte LANE_URGENT = 2;
    /** Lane: the control stream, target to source, from the target's agent. */
    public static final byte LANE_CONTROL = 3;
    /** Lane: page requests, target to source, from vCPU threads; no sequence. */
    public static final byte LANE_REQUEST = 4;
    /** First lane byte of data lanes after lane 0, which keeps {@link #LANE_DATA}. */
    public static final byte LANE_DATA_EXTRA = 0x10;

    /**
     * @param laneIndex a data lane, from 0.
     * @return its lane byte: each data lane signs under its own, so no two lanes share a nonce under one key.
     */
    public static byte dataLane(final int laneIndex)
    {
        return laneIndex == 0 ? LANE_DATA : (byte)(LANE_DATA_EXTRA + laneIndex);
    }
    /** Bits of the AES-GCM tag. */
    static final int GCM_TAG_BITS = 128;
    private static final int HEADER_LENGTH = 16;
    private static final int BLOCK = 64;
    private static final int DIGEST_LENGTH = 32;
    private static final int AES_KEY_LENGTH = 32;
    private static final int MAX_FRAME = 64 * 1024;

    private final MessageDigest digest;
    private final byte[] innerPad = new byte[BLOCK];
    private final byte[] outerPad = new byte[BLOCK];
    private final byte[] laneAndSequence = new byte[9];
    private final byte[] inner = new byte[32];
    private final byte[] tag = new byte[32];
    private final byte[] received = new byte[MAC_LENGTH];
    private final byte[] copy = new byte[MAX_FRAME + MAC_LENGTH]; // room for a sealed frame and its GCM tag
    private final byte lane;
    private final boolean sequenced;
    private long sequence;
    private long nextExpected;
    private final javax.crypto.Cipher cipher;
    private final javax.crypto.spec.SecretKeySpec aesKey;
    private final byte[] iv = new byte[12];
    private final byte[] sealed;
    private final org.agrona.concurrent.UnsafeBuffer plaintext;

    /**
     * @param sessionKey 32 bytes derived for this session (an HMAC key of any length is taken, a key longer than the
     *                   64-byte block hashed first as RFC 2104 says).
     * @param lane       one of the {@code LANE_*} values.
     */
    public FrameMac(final byte[] sessionKey, final byte lane)
    {
        this(sessionKey, lane, false);
    }

    /**
     * @param sessionKey 32 bytes derived for this session; exactly 32 when encrypting (AES-256).
     * @param lane       one of the {@code LANE_*} values.
     * @param encrypt    true to seal frames with AES-256-GCM instead of only tagging them: the 16-byte header stays
     *                   in the clear as associated data, the body is encrypted, the GCM tag takes the tag's place,
     *                   and the nonce is lane and sequence, unique per key. Not for {@link #LANE_REQUEST}.
     */
    public FrameMac(final byte[] sessionKey, final byte lane, final boolean encrypt)
    {
        try
        {
            digest = MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException("SHA-256 unavailable", ex);
        }
        // RFC 2104: a key longer than the block is replaced by its hash.
        final byte[] key = sessionKey.length > BLOCK ? digest.digest(sessionKey) : sessionKey;
        for (int i = 0; i < BLOCK; i++)
        {
            final byte k = i < key.length ? key[i] : 0;
            innerPad[i] = (byte)(k ^ 0x36);
            outerPad[i] = (byte)(k ^ 0x5c);
        }
        this.lane = lane;
        this.sequenced = lane != LANE_REQUEST;
        if (encrypt && !sequenced)
        {
            throw new IllegalArgumentException("encryption needs a sequenced lane for unique nonces");
        }
        if (encrypt && sessionKey.length != AES_KEY_LENGTH)
        {
            throw new IllegalArgumentException("AES-256-GCM needs a 32-byte key, not " + sessionKey.length);
        }
        if (encrypt)
        {
            cipher = newCipher();
            aesKey = new javax.crypto.spec.SecretKeySpec(sessionKey, "AES");
            sealed = new byte[MAX_FRAME + TAG_LENGTH];
            plaintext = new org.agrona.concurrent.UnsafeBuffer(
                java.nio.ByteBuffer.allocateDirect(MAX_FRAME + TAG_LENGTH));
        }
        else
        {
            cipher = null;
            aesKey = null;
            sealed = null;
            plaintext = null;
        }
    }

    /** @return true if this instance seals (encrypts) frames. */
    public boolean encrypts()
    {
        return null != cipher;
    }

    /**
     * @return after a successful {@link #verify} by an encrypting instance: the opened frame, header and plaintext
     * body, at offset 0 (a direct buffer, reused by the next call).
     */
    public org.agrona.DirectBuffer plaintext()
    {
        return plaintext;
    }

    /**
     * Append the trailer (tag and sequence) of {@code [offset, offset + length)} at {@code offset + length}; when
     * encrypting, the body after the 16-byte header is sealed in place. Each call takes the next sequence.
     *
     * @param buffer holding the frame, with {@value #TAG_LENGTH} bytes of room after it.
     * @param offset of the frame.
     * @param length of the frame without tag.
     */
    public void sign(final MutableDirectBuffer buffer, final int offset, final int length)
    {
        final long seq = sequenced ? sequence++ : 0; // every attempt a fresh sequence: a nonce is never reused
        if (null != cipher)
        {
            seal(buffer, offset, length, seq);
        }
        else
        {
            compute(buffer, offset, length, seq);
            buffer.putBytes(offset + length, tag, 0, MAC_LENGTH);
        }
        buffer.putLong(offset + length + MAC_LENGTH, seq, java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    private void nonce(final long seq)
    {
        iv[0] = lane;
        for (int i = 0; i < 8; i++)
        {
            iv[4 + i] = (byte)(seq >>> (8 * i));
        }
    }

    private void seal(final MutableDirectBuffer buffer, final int offset, final int length, final long seq)
    {
        final int header = Math.min(HEADER_LENGTH, length);
        buffer.getBytes(offset, copy, 0, length);
        nonce(seq);
        try
        {
            final int sealedLength = gcm(cipher, javax.crypto.Cipher.ENCRYPT_MODE, aesKey, iv, copy, header, length,
                sealed);
            buffer.putBytes(offset + header, sealed, 0, sealedLength);
        }
        catch (final java.security.GeneralSecurityException ex)
        {
            throw new IllegalStateException("AES-GCM seal failed", ex);
        }
    }

    private boolean open(final DirectBuffer buffer, final int offset, final int length, final long seq)
    {
        // The same split as seal: a frame shorter than the header is all associated data.
        final int header = Math.min(HEADER_LENGTH, length);
        final int sealedLength = length + MAC_LENGTH; // header, ciphertext and GCM tag, without the sequence
        buffer.getBytes(offset, copy, 0, sealedLength);
        nonce(seq);
        try
        {
            final int opened = gcm(cipher, javax.crypto.Cipher.DECRYPT_MODE, aesKey, iv, copy, header, sealedLength,
                sealed);
            plaintext.putBytes(0, copy, 0, header);
            plaintext.putBytes(header, sealed, 0, opened);
        }
        catch (final javax.crypto.AEADBadTagException ex)
        {
            return false;
        }
        catch (final java.security.GeneralSecurityException ex)
        {
            throw new IllegalStateException("AES-GCM open failed", ex);
        }
        return true;
    }

    /**
     * @return the cipher that seals and opens frames: AES in GCM mode, no padding.
     */
    static javax.crypto.Cipher newCipher()
    {
        try
        {
            return javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
        }
        catch (final java.security.GeneralSecurityException ex)
        {
            throw new IllegalStateException("AES/GCM unavailable", ex);
        }
    }

    /**
     * One AES-GCM operation as frames are sealed and opened: {@code input[0, aadLength)} is the associated data, the
     * rest of {@code input[0, inputLength)} is encrypted (with the tag appended) or decrypted (its tag checked).
     * Package-private for known-answer tests against NIST's vectors.
     *
     * @param cipher      from {@link #newCipher()}.
     * @param mode        {@code Cipher.ENCRYPT_MODE} or {@code Cipher.DECRYPT_MODE}.
     * @param key         the AES key.
     * @param nonce       12 bytes.
     * @param input       associated data, then the plaintext or the ciphertext and tag.
     * @param aadLength   bytes of associated data at the start of {@code input}.
     * @param inputLength bytes of {@code input} used, associated data included.
     * @param output      receives the ciphertext and tag, or the plaintext, at 0.
     * @return bytes written to {@code output}.
     * @throws java.security.GeneralSecurityException {@code javax.crypto.AEADBadTagException} if a tag fails.
     */
    static int gcm(
        final javax.crypto.Cipher cipher,
        final int mode,
        final javax.crypto.spec.SecretKeySpec key,
        final byte[] nonce,
        final byte[] input,
        final int aadLength,
        final int inputLength,
        final byte[] output) throws java.security.GeneralSecurityException
    {
        // JCE allocates a parameter spec and cipher state per frame: the one allocation on this path.
        cipher.init(mode, key, new javax.crypto.spec.GCMParameterSpec(GCM_TAG_BITS, nonce));
        cipher.updateAAD(input, 0, aadLength);
        return cipher.doFinal(input, aadLength, inputLength - aadLength, output, 0);
    }

    /**
     * Check the tag at the end of a frame; on success the next frame is expected.
     *
     * @param buffer       holding the frame.
     * @param offset       of the frame.
     * @param taggedLength bytes that arrived, tag included.
     * @return true if the tag matches (constant-time compare).
     */
    public boolean verify(final DirectBuffer buffer, final int offset, final int taggedLength)
    {
        final int length = taggedLength - TAG_LENGTH;
        if (length <= 0 || length > MAX_FRAME)
        {
            return false;
        }
        final long seq = buffer.getLong(offset + length + MAC_LENGTH, java.nio.ByteOrder.LITTLE_ENDIAN);
        if (sequenced ? seq < nextExpected : seq != 0)
        {
            return false; // replayed or moved back: sequences only grow within a stream (gaps are refused offers)
        }
        final boolean ok;
        if (null != cipher)
        {
            ok = open(buffer, offset, length, seq);
        }
        else
        {
            compute(buffer, offset, length, seq);
            buffer.getBytes(offset + length, received, 0, MAC_LENGTH);
            int diff = 0;
            for (int i = 0; i < MAC_LENGTH; i++)
            {
                diff |= received[i] ^ tag[i];
            }
            ok = diff == 0;
        }
        if (ok && sequenced)
        {
            nextExpected = seq + 1;
        }
        return ok;
    }

    private void compute(final DirectBuffer buffer, final int offset, final int length, final long seq)
    {
        laneAndSequence[0] = lane;
        for (int i = 0; i < 8; i++)
        {
            laneAndSequence[1 + i] = (byte)(seq >>> (8 * i));
        }
        buffer.getBytes(offset, copy, 0, length);
        hmac(laneAndSequence, laneAndSequence.length, copy, length);
    }

    /**
     * HMAC-SHA256 of {@code prefix[0, prefixLength) | message[0, length)} into {@link #tag}, all 32 bytes.
     */
    private void hmac(final byte[] prefix, final int prefixLength, final byte[] message, final int length)
    {
        try
        {
            digest.reset();
            digest.update(innerPad);
            digest.update(prefix, 0, prefixLength);
            digest.update(message, 0, length);
            digest.digest(inner, 0, DIGEST_LENGTH);
            digest.update(outerPad);
            digest.update(inner);
            digest.digest(tag, 0, DIGEST_LENGTH);
        }
        catch (final java.security.DigestException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * HMAC-SHA256 of a message, by the key set-up and the code that tags frames (without lane and sequence), for
     * known-answer tests against RFC 4231. Allocates.
     *
     * @param key     of any length.
     * @param message to authenticate.
     * @return the full 32-byte HMAC.
     */
    static byte[] hmacSha256(final byte[] key, final byte[] message)
    {
        final FrameMac frameMac = new FrameMac(key, LANE_REQUEST);
        frameMac.hmac(frameMac.laneAndSequence, 0, message, message.length);
        return frameMac.tag.clone();
    }
}
