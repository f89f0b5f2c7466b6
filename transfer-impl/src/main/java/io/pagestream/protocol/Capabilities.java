package io.pagestream.protocol;

/**
 * Capability bits exchanged in HELLO (what the source may do) and HELLO_ACK (what the target accepts).
 */
public final class Capabilities
{
    /** HELLO: the source may switch to post-copy. HELLO_ACK: the target runs post-copy (its fault path is wired). */
    public static final long POSTCOPY = 1L;
    /** HELLO and HELLO_ACK: the sender holds the secret key and authenticates the handshake. */
    public static final long AUTHENTICATED = 1L << 1;
    /** HELLO and HELLO_ACK: every frame after the handshake carries a MAC; both sides must agree. */
    public static final long FRAME_MAC = 1L << 2;
    /** HELLO and HELLO_ACK: every frame after the handshake is encrypted (AES-GCM); both sides must agree. */
    public static final long FRAME_ENCRYPTION = 1L << 3;
    /** HELLO_ACK: the target takes DATA_MAP frames in the bulk pass (and commits memory for data pages in batches). */
    public static final long DATA_MAP = 1L << 4;
    /**
     * HELLO_ACK: after a post-copy switchover the target installs whole pages (a userfaultfd fault path): it keeps
     * no old versions, so the source sends no deltas from then on.
     */
    public static final long INSTALLS_PAGES = 1L << 5;
    /**
     * HELLO only: the hello ends with the bytes of guest memory the source expects to send (its populated pages),
     * which the target checks against the memory it may have before any page moves.
     */
    public static final long DATA_BYTES = 1L << 6;
    /**
     * HELLO only: this hello resumes a post-copy migration on a new Aeron session after the link was lost; the target
     * answers with its MISSING_MAP.
     */
    public static final long RESUME = 1L << 32;

    private Capabilities()
    {
    }
}
