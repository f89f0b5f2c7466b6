package io.pagestream.security;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.stream.Stream;

import static io.pagestream.security.FrameMacTest.bytes;
import static io.pagestream.security.FrameMacTest.flip;
import static io.pagestream.security.FrameMacTest.part;
import static io.pagestream.security.FrameMacTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * {@link FrameMac}'s AES-256-GCM sealing (the {@code frameEncryption} level) against known answers:
 * <ul>
 *     <li>NIST CAVP vectors from {@code gcmEncryptExtIV256.rsp} (gcmtestvectors.zip, SP 800-38D validation: 256-bit
 *     key, 96-bit IV, 128-bit tag), through the cipher set-up and call sequence that seal and open frames
 *     ({@link FrameMac#newCipher}, {@link FrameMac#gcm}: associated data, then the body). A frame's nonce is always
 *     lane and sequence, which cannot spell a vector's IV, so the vectors go in below the nonce;</li>
 *     <li>a sealed frame opened by an independent JCE cipher given the nonce (lane | 0 0 0 | sequence, little-endian)
 *     and the 16-byte header as associated data, as FrameMac documents, and a frame sealed that way opened by
 *     FrameMac;</li>
 *     <li>every bit of a sealed frame (header, body, tag, sequence) flipped in turn fails verification.</li>
 * </ul>
 */
class FrameSealTest
{
    private static final HexFormat HEX = HexFormat.of();
    private static final int HEADER_LENGTH = 16;
    private static final int MAC_LENGTH = 16;
    private static final byte[] SESSION_KEY = HEX.parseHex(
        "8f2ad1c0e63b7a94155f0c3e72d8b6a1c9e04f7b3a2d1865f0e9c8b7a6958473");

    /**
     * Key, IV, PT, AAD, CT, Tag from gcmEncryptExtIV256.rsp, by section. The first is Count = 0 of
     * [PTlen = 128] [AADlen = 128]; the rest are the selection of google/quiche's aes_256_gcm_encrypter_test.cc
     * (two from each section it names).
     */
    static Stream<Arguments> gcmEncryptExtIV256()
    {
        return Stream.of(
            arguments("PTlen 128, AADlen 128, count 0",
                "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b", "ac93a1a6145299bde902f21a",
                "2d71bcfa914e4ac045b2aa60955fad24", "1e0889016f67601c8ebea4943bc23ad6",
                "8995ae2e6df3dbf96fac7b7137bae67f", "eca5aa77d51d4a0a14d9c51e1da474ab"),
            arguments("PTlen 408, AADlen 160, a",
                "24501ad384e473963d476edcfe08205237acfd49b5b8f33857f8114e863fec7f", "9ff18563b978ec281b3f2794",
                "27f348f9cdc0c5bd5e66b1ccb63ad920ff2219d14e8d631b3872265cf117ee86757accb158bd9abb3868fdc0d0b074b5f01b2c",
                "adb5ec720ccf9898500028bf34afccbcaca126ef",
                "eb7cb754c824e8d96f7c6d9b76c7d26fb874ffbf1d65c6f64a698d839b0b06145dae82057ad55994cf59ad7f67c0fa5e85fab8",
                "bc95c532fecc594c36d1550286a7a3f0"),
            arguments("PTlen 408, AADlen 160, b",
                "fb43f5ab4a1738a30c1e053d484a94254125d55dccee1ad67c368bc1a985d235", "9fbb5f8252db0bca21f1c230",
                "34b797bb82250e23c5e796db2c37e488b3b99d1b981cea5e5b0c61a0b39adb6bd6ef1f50722e2e4f81115cfcf53f842e2a6c08",
                "98f8ae1735c39f732e2cbee1156dabeb854ec7a2",
                "871cd53d95a8b806bd4821e6c4456204d27fd704ba3d07ce25872dc604ea5c5ea13322186b7489db4fa060c1fd4159692612c8",
                "07b48e4a32fac47e115d7ac7445d8330"),
            arguments("PTlen 408, AADlen 720, a",
                "148579a3cbca86d5520d66c0ec71ca5f7e41ba78e56dc6eebd566fed547fe691", "b08a5ea1927499c6ecbfd4e0",
                "9d0b15fdf1bd595f91f8b3abc0f7dec927dfd4799935a1795d9ce00c9b879434420fe42c275a7cd7b39d638fb81ca52b49dc41",
                "e4f963f015ffbb99ee3349bbaf7e8e8e6c2a71c230a48f9d59860a29091d2747e01a5ca572347e247d25f56ba7ae8e05cde2" +
                "be3c97931292c02370208ecd097ef692687fecf2f419d3200162a6480a57dad408a0dfeb492e2c5d",
                "2097e372950a5e9383c675e89eea1c314f999159f5611344b298cda45e62843716f215f82ee663919c64002a5c198d7878fd3f",
                "adbecdb0d5c2224d804d2886ff9a5760"),
            arguments("PTlen 408, AADlen 720, b",
                "e49af19182faef0ebeeba9f2d3be044e77b1212358366e4ef59e008aebcd9788", "e7f37d79a6a487a5a703edbb",
                "461cd0caf7427a3d44408d825ed719237272ecd503b9094d1f62c97d63ed83a0b50bdc804ffdd7991da7a5b6dcf48d4bcd2cbc",
                "19a9a1cfc647346781bef51ed9070d05f99a0e0192a223c5cd2522dbdf97d9739dd39fb178ade3339e68774b058aa03e9a20" +
                "a9a205bc05f32381df4d63396ef691fefd5a71b49a2ad82d5ea428778ca47ee1398792762413cff4",
                "32ca3588e3e56eb4c8301b009d8b84b8a900b2b88ca3c21944205e9dd7311757b51394ae90d8bb3807b471677614f4198af909",
                "3e403d035c71d88f1be1a256c89ba6ad"),
            arguments("PTlen 0, AADlen 128",
                "78dc4e0aaf52d935c3c01eea57428f00ca1fd475f5da86a49c8dd73d68c8e223", "d79cf22d504cc793c3fb6c8a",
                "", "b96baa8c1c75a671bfb2d08d06be5f36", "", "3e5d486aa2e30b22e040b85723a06e76"),
            arguments("PTlen 128, AADlen 0",
                "31bdadd96698c204aa9ce1448ea94ae1fb4a9a0b3c9d773b51bb1822666b8f22", "0d18e06c7c725ac9e362e1ce",
                "2db5168e932556f8089a0622981d017d", "", "fa4362189661d163fcd6a56d8bf0405a",
                "d636ac1bbedd5cc3ee727dc2ab4a9489"),
            arguments("PTlen 104, AADlen 0",
                "82c4f12eeec3b2d3d157b0f992d292b237478d2cecc1d5f161389b97f999057a", "7b40b20f5f397177990ef2d1",
                "982a296ee1cd7086afad976945", "", "ec8e05a0471d6b43a59ca5335f", "113ddeafc62373cac2f5951bb9165249"),
            arguments("PTlen 0, AADlen 0, count 0",
                "b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4", "516c33929df5a3284ff463d7",
                "", "", "", "bdc1ac884d332457a1d2664f168c76f0"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("gcmEncryptExtIV256")
    void shouldSealAndOpenNistKnownAnswer(
        final String section,
        final String keyHex,
        final String ivHex,
        final String plaintextHex,
        final String aadHex,
        final String ciphertextHex,
        final String tagHex) throws GeneralSecurityException
    {
        final SecretKeySpec key = new SecretKeySpec(HEX.parseHex(keyHex), "AES");
        final byte[] iv = HEX.parseHex(ivHex);
        final byte[] aad = HEX.parseHex(aadHex);
        final byte[] plaintext = HEX.parseHex(plaintextHex);
        final byte[] sealed = concat(HEX.parseHex(ciphertextHex), HEX.parseHex(tagHex));
        final Cipher cipher = FrameMac.newCipher();
        final byte[] output = new byte[sealed.length];

        final byte[] sealInput = concat(aad, plaintext);
        final int sealedLength = FrameMac.gcm(cipher, Cipher.ENCRYPT_MODE, key, iv, sealInput, aad.length,
            sealInput.length, output);
        assertArrayEquals(sealed, Arrays.copyOf(output, sealedLength));

        final byte[] openInput = concat(aad, sealed);
        final int openedLength = FrameMac.gcm(cipher, Cipher.DECRYPT_MODE, key, iv, openInput, aad.length,
            openInput.length, output);
        assertArrayEquals(plaintext, Arrays.copyOf(output, openedLength));

        openInput[openInput.length - 1] ^= 1;
        assertThrows(AEADBadTagException.class, () -> FrameMac.gcm(cipher, Cipher.DECRYPT_MODE, key, iv, openInput,
            aad.length, openInput.length, output));
    }

    @Test
    void shouldSealFrameThatIndependentCipherOpensWithLaneSequenceNonceAndHeaderAsAad()
        throws GeneralSecurityException
    {
        final int frameOffset = 8;
        final int frameLength = HEADER_LENGTH + 4096;
        final byte[] frame = random(frameLength, 11);
        final byte[] body = Arrays.copyOfRange(frame, HEADER_LENGTH, frameLength);
        final byte[] lanes = { FrameMac.LANE_DATA, FrameMac.LANE_URGENT, FrameMac.LANE_CONTROL };
        for (final byte lane : lanes)
        {
            final FrameMac sealer = new FrameMac(SESSION_KEY, lane, true);
            final FrameMac opener = new FrameMac(SESSION_KEY, lane, true);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[frameOffset + frameLength + FrameMac.TAG_LENGTH]);
            for (long expectedSeq = 0; expectedSeq < 3; expectedSeq++)
            {
                buffer.putBytes(frameOffset, frame); // sealing works in place
                sealer.sign(buffer, frameOffset, frameLength);

                final String where = "lane " + lane + ", sequence " + expectedSeq;
                final long seq = buffer.getLong(frameOffset + frameLength + MAC_LENGTH, ByteOrder.LITTLE_ENDIAN);
                assertEquals(expectedSeq, seq, where);
                final byte[] header = bytes(buffer, frameOffset, HEADER_LENGTH);
                assertArrayEquals(Arrays.copyOf(frame, HEADER_LENGTH), header, "header in the clear, " + where);
                final byte[] sealedBody = bytes(buffer, frameOffset + HEADER_LENGTH, frameLength - HEADER_LENGTH);
                assertFalse(Arrays.equals(body, sealedBody), "body encrypted, " + where);

                final byte[] sealed = bytes(buffer, frameOffset + HEADER_LENGTH, frameLength - HEADER_LENGTH +
                    MAC_LENGTH);
                assertArrayEquals(body, jdkGcm(Cipher.DECRYPT_MODE, SESSION_KEY, nonce(lane, seq), header, sealed),
                    where);

                assertTrue(opener.verify(buffer, frameOffset, frameLength + FrameMac.TAG_LENGTH), where);
                assertArrayEquals(frame, bytes(opener.plaintext(), 0, frameLength), where);
            }
        }
    }

    @Test
    void shouldOpenFrameSealedByIndependentCipher() throws GeneralSecurityException
    {
        final int frameLength = HEADER_LENGTH + 300;
        final byte[] frame = random(frameLength, 12);
        final byte[] header = Arrays.copyOf(frame, HEADER_LENGTH);
        final long seq = 0x0102030405060708L; // every byte distinct: the nonce's byte order matters
        final byte[] sealed = jdkGcm(Cipher.ENCRYPT_MODE, SESSION_KEY, nonce(FrameMac.LANE_CONTROL, seq), header,
            Arrays.copyOfRange(frame, HEADER_LENGTH, frameLength));
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[frameLength + FrameMac.TAG_LENGTH]);
        buffer.putBytes(0, header);
        buffer.putBytes(HEADER_LENGTH, sealed);
        buffer.putLong(frameLength + MAC_LENGTH, seq, ByteOrder.LITTLE_ENDIAN);
        final FrameMac opener = new FrameMac(SESSION_KEY, FrameMac.LANE_CONTROL, true);

        assertTrue(opener.verify(buffer, 0, frameLength + FrameMac.TAG_LENGTH));
        assertArrayEquals(frame, bytes(opener.plaintext(), 0, frameLength));
        assertFalse(new FrameMac(SESSION_KEY, FrameMac.LANE_DATA, true).verify(buffer, 0,
            frameLength + FrameMac.TAG_LENGTH), "the lane is part of the nonce");
    }

    @Test
    void shouldRefuseSealedFrameWithAnyBitFlipped()
    {
        final int frameLength = HEADER_LENGTH + 48;
        final int taggedLength = frameLength + FrameMac.TAG_LENGTH;
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[taggedLength]);
        final byte[] frame = random(frameLength, 13);
        final FrameMac sealer = new FrameMac(SESSION_KEY, FrameMac.LANE_DATA, true);
        buffer.putBytes(0, frame);
        sealer.sign(buffer, 0, frameLength);
        buffer.putBytes(0, frame);
        sealer.sign(buffer, 0, frameLength); // sequence 1: a flip to 0 still passes the order check, not the tag
        final FrameMac opener = new FrameMac(SESSION_KEY, FrameMac.LANE_DATA, true);

        for (int bit = 0; bit < taggedLength * 8; bit++)
        {
            flip(buffer, bit);
            assertFalse(opener.verify(buffer, 0, taggedLength), "bit " + bit + " of " + part(bit, frameLength));
            flip(buffer, bit);
        }
        assertTrue(opener.verify(buffer, 0, taggedLength));
        assertArrayEquals(frame, bytes(opener.plaintext(), 0, frameLength));
    }

    @Test
    void shouldOpenFramesShorterThanHeaderAndAsLongAsAllowed()
    {
        for (final int frameLength : new int[]{ 1, HEADER_LENGTH - 1, HEADER_LENGTH, 64 * 1024 })
        {
            final byte[] frame = random(frameLength, frameLength);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[frameLength + FrameMac.TAG_LENGTH]);
            buffer.putBytes(0, frame);
            new FrameMac(SESSION_KEY, FrameMac.LANE_DATA, true).sign(buffer, 0, frameLength);
            final FrameMac opener = new FrameMac(SESSION_KEY, FrameMac.LANE_DATA, true);

            assertTrue(opener.verify(buffer, 0, frameLength + FrameMac.TAG_LENGTH), frameLength + " bytes");
            assertArrayEquals(frame, bytes(opener.plaintext(), 0, frameLength), frameLength + " bytes");
        }
    }

    @Test
    void shouldRefuseKeyThatIsNotAes256AndUnsequencedLane()
    {
        assertThrows(IllegalArgumentException.class, () -> new FrameMac(new byte[16], FrameMac.LANE_DATA, true));
        assertThrows(IllegalArgumentException.class, () -> new FrameMac(new byte[33], FrameMac.LANE_DATA, true));
        assertThrows(IllegalArgumentException.class, () -> new FrameMac(SESSION_KEY, FrameMac.LANE_REQUEST, true));
    }

    private static byte[] nonce(final byte lane, final long seq)
    {
        return ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).put(lane).put(new byte[3]).putLong(seq).array();
    }

    private static byte[] jdkGcm(
        final int mode, final byte[] key, final byte[] nonce, final byte[] aad, final byte[] input)
        throws GeneralSecurityException
    {
        final Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
        cipher.updateAAD(aad);
        return cipher.doFinal(input);
    }

    private static byte[] concat(final byte[] first, final byte[] second)
    {
        final byte[] bytes = Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, bytes, first.length, second.length);
        return bytes;
    }
}
