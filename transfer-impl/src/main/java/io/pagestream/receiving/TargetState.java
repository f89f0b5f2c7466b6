package io.pagestream.receiving;

/**
 * The target conductor's state. Each has a stable code, published in the {@code TARGET_STATE} counter for tools in
 * other processes; never compare states by order.
 */
public enum TargetState
{
    /** Listening for a source's hello; anyone may reach us, nothing is obeyed. */
    AWAIT_HELLO(1),
    /** A hello accepted: control stream, HELLO_ACK, the source's AUTH. */
    HANDSHAKE(2),
    /** Pages, rounds, and the frames of the hand-over. */
    RECEIVING(3),
    /** Every page here: COMPLETE on its way, then (stop-and-copy) waiting for COMMIT. */
    COMPLETING(4),
    /** The guest runs here; missing pages arrive pushed or on demand. */
    POSTCOPY(5),
    /** The link was lost in post-copy: waiting for the source to resume us. */
    RECOVERY(6),
    /** The outcome is decided; an ERROR frame is on its way to the source. */
    FAILING(7),
    /** Finished; the completion future holds the report. */
    DONE(8);

    private final int code;

    TargetState(final int code)
    {
        this.code = code;
    }

    /** @return the stable code published in the state counter. */
    public int code()
    {
        return code;
    }
}
