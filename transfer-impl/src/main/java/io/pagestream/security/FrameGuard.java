package io.pagestream.security;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * The one place where a protected frame is verified, its trailer stripped and, when sealed, decrypted, before any
 * adapter reads a field of it. Each inbound stream has its guard with a named {@link FailurePolicy}: what to do with
 * a frame whose tag does not verify.
 * <ul>
 * <li>{@link FailurePolicy#FAIL_MIGRATION} for streams pinned to the agreed peer (the target's data lanes): a bad tag
 * there is an attack or corruption on our own session, and the migration fails with
 * {@link ErrorCode#AUTHENTICATION_FAILED}.</li>
 * <li>{@link FailurePolicy#DROP_AND_COUNT} for streams anyone may reach (the source's control stream, the target's
 * urgent lane): the frame is dropped and counted, never obeyed, and never costs the guest.</li>
 * </ul>
 * Without a verifier, frames pass as they are unless the guard {@link #requireVerifier(boolean) requires one}.
 * While re-keying (a post-copy resume with frame authentication), only an unsigned HELLO_ACK of the exact length is
 * admitted: signed frames still arriving from the old session cannot be checked and are dropped.
 * <p>
 * After {@link #admit} returns true, {@link #buffer()}, {@link #offset()} and {@link #length()} describe the frame to
 * decode (for a sealed frame: the plaintext copy, at offset 0). Threading: one thread. No allocation.
 */
public final class FrameGuard
{
    /**
     * What a guard does with a frame that fails verification.
     */
    public enum FailurePolicy
    {
        /** Drop the frame and count it; the stream is reachable by others. */
        DROP_AND_COUNT,
        /** Fail the migration; the stream is pinned to the agreed peer. */
        FAIL_MIGRATION
    }

    private final String streamName;
    private final FailurePolicy policy;
    private final AtomicCounter rejected;
    private FrameMac verifier;
    private FrameMac requestVerifier;
    private boolean requireVerifier;
    private boolean rekeying;
    private int rekeyLength;
    private DirectBuffer buffer;
    private int offset;
    private int length;

    /**
     * @param streamName named in errors, e.g. "data lane 0".
     * @param policy     for frames that fail verification.
     * @param rejected   counts dropped frames, may be null.
     */
    public FrameGuard(final String streamName, final FailurePolicy policy, final AtomicCounter rejected)
    {
        this.streamName = streamName;
        this.policy = policy;
        this.rejected = rejected;
    }

    /** @return the policy for frames that fail verification. */
    public FailurePolicy policy()
    {
        return policy;
    }

    /**
     * Verify every frame from now on; null verifies nothing. Ends re-keying.
     *
     * @param frameMac the stream's verifier under the session's frame key.
     * @return this.
     */
    public FrameGuard verifier(final FrameMac frameMac)
    {
        verifier = frameMac;
        rekeying = false;
        return this;
    }

    /**
     * @param frameMac verifier for PAGE_REQUEST frames, which vCPU threads sign on their own lane; null to use the
     *                 main verifier for them too.
     * @return this.
     */
    public FrameGuard requestVerifier(final FrameMac frameMac)
    {
        requestVerifier = frameMac;
        return this;
    }

    /**
     * @param required true to drop (or fail, by policy) every frame while no verifier is set.
     * @return this.
     */
    public FrameGuard requireVerifier(final boolean required)
    {
        requireVerifier = required;
        return this;
    }

    /**
     * Start re-keying: the verifiers are dropped and only an unsigned HELLO_ACK of its exact length is admitted until
     * {@link #verifier(FrameMac)} is set again.
     *
     * @param helloAckLength the length of an unsigned HELLO_ACK.
     */
    public void rekey(final int helloAckLength)
    {
        verifier = null;
        requestVerifier = null;
        rekeying = true;
        rekeyLength = helloAckLength;
    }

    /** @return true while a verifier is set. */
    public boolean isVerifying()
    {
        return null != verifier;
    }

    /**
     * Check one frame.
     *
     * @param termBuffer   holding the frame.
     * @param termOffset   of the frame.
     * @param taggedLength bytes that arrived, trailer included when frames are protected.
     * @return true if the frame may be decoded through {@link #buffer()}, {@link #offset()}, {@link #length()};
     * false if it was dropped (and counted).
     * @throws MigrationException AUTHENTICATION_FAILED for a bad frame under {@link FailurePolicy#FAIL_MIGRATION}.
     */
    public boolean admit(final DirectBuffer termBuffer, final int termOffset, final int taggedLength)
    {
        buffer = termBuffer;
        offset = termOffset;
        length = taggedLength;
        if (rekeying)
        {
            if (taggedLength == rekeyLength && taggedLength > FrameFlyweight.TYPE_OFFSET &&
                termBuffer.getByte(termOffset + FrameFlyweight.TYPE_OFFSET) == FrameType.HELLO_ACK)
            {
                return true;
            }
            return reject(taggedLength, "arrived while re-keying");
        }
        FrameMac mac = verifier;
        if (null != requestVerifier && taggedLength > FrameFlyweight.TYPE_OFFSET &&
            termBuffer.getByte(termOffset + FrameFlyweight.TYPE_OFFSET) == FrameType.PAGE_REQUEST)
        {
            mac = requestVerifier;
        }
        if (null == mac)
        {
            return !requireVerifier || reject(taggedLength, "arrived before the session's frame key");
        }
        if (!mac.verify(termBuffer, termOffset, taggedLength))
        {
            return reject(taggedLength, "fails its tag: altered, forged, replayed or out of order");
        }
        length = taggedLength - FrameMac.TAG_LENGTH;
        if (mac.encrypts())
        {
            buffer = mac.plaintext();
            offset = 0;
        }
        return true;
    }

    private boolean reject(final int taggedLength, final String why)
    {
        if (policy == FailurePolicy.FAIL_MIGRATION)
        {
            throw new MigrationException(ErrorCode.AUTHENTICATION_FAILED,
                "frame of " + taggedLength + " bytes on the " + streamName + " " + why);
        }
        if (null != rejected)
        {
            rejected.incrementOrdered();
        }
        return false;
    }

    /** @return the admitted frame's buffer. */
    public DirectBuffer buffer()
    {
        return buffer;
    }

    /** @return the admitted frame's offset in {@link #buffer()}. */
    public int offset()
    {
        return offset;
    }

    /** @return the admitted frame's length, trailer stripped. */
    public int length()
    {
        return length;
    }
}
