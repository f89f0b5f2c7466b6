package io.pagestream.sending;

/**
 * The source conductor's state: which session it drives. Each state has a stable code, published in the
 * {@code SOURCE_STATE} counter for tools in other processes; never compare states by order.
 */
public enum SourceState
{
    /** Hello, the target's proof of the key, our AUTH, every data lane connected. */
    HANDSHAKE(1),
    /** Bulk pass and rounds, the last of them with the guest paused when the policy chose stop-and-copy. */
    PRECOPY(2),
    /** Page map (post-copy), device state, SWITCHOVER, and for stop-and-copy COMPLETE then COMMIT. */
    SWITCHOVER(3),
    /** The target runs the guest: faulted pages first, the rest pushed, until COMPLETE. */
    POSTCOPY(4),
    /** The link was lost in post-copy: new sessions, a resume handshake, the target's missing map. */
    RECOVERY(5),
    /** The outcome is decided; an ERROR frame is on its way to the target. */
    FAILING(6),
    /** Finished; the completion future holds the report. */
    DONE(7);

    private final int code;

    SourceState(final int code)
    {
        this.code = code;
    }

    /** @return the stable code published in the state counter. */
    public int code()
    {
        return code;
    }
}
