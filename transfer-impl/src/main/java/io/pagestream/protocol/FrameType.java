package io.pagestream.protocol;

/**
 * Frame type codes, carried in byte 1 of every frame. Values are stable on the wire.
 */
public final class FrameType
{
    /** Source to target: versions, guest layout, where to send control frames. */
    public static final int HELLO = 1;
    /** Target to source: the hello was accepted or refused. */
    public static final int HELLO_ACK = 2;
    /** Source to target: one page, or one chunk of a large page. */
    public static final int PAGE = 3;
    /** Source to target: a run of consecutive all-zero pages. */
    public static final int ZERO_RUN = 4;
    /** Source to target: a round finished, with the count of frames it carried. */
    public static final int ROUND_END = 5;
    /** Source to target: one chunk of the device state. */
    public static final int DEVICE_STATE = 6;
    /** Source to target: the last page has been sent; device state length and checksum. */
    public static final int SWITCHOVER = 7;
    /** Target to source: everything arrived and verified; the target may resume. */
    public static final int COMPLETE = 8;
    /** Either way: the sender gives up, with a stable error code and a message. */
    public static final int ERROR = 9;
    /** Either way: heartbeat with progress figures. */
    public static final int STATUS = 10;
    /** Target to source, post-copy: the guest faulted on this page; send it on the urgent lane. */
    public static final int PAGE_REQUEST = 11;
    /** Source to target, before a post-copy switchover: pages whose newer version is still to come. */
    public static final int PENDING_MAP = 12;
    /** Target to source, recovering post-copy on a new session: pages still missing here. */
    public static final int MISSING_MAP = 13;
    /** Source to target, right after HELLO_ACK when keys are in use: the source's answer to the challenge. */
    public static final int AUTH = 14;
    /**
     * Source to target, second phase of a stop-and-copy switchover: the source heard COMPLETE and will never resume
     * its copy of the guest; only now may the target resume its own.
     */
    public static final int COMMIT = 15;
    /**
     * Source to target, on a data lane in the bulk pass: which pages of a range may hold data (a
     * {@link PageMapFlyweight} chunk), ahead of that range's pages; the target commits memory for those in batches.
     * Sent only to a target that offered {@link Capabilities#DATA_MAP}.
     */
    public static final int DATA_MAP = 16;
    /**
     * Source to every receiver of a fan-out, on lane 0 ({@link PromoteFlyweight}): the target was lost before the
     * switchover and the follower at the named endpoint takes its place.
     */
    public static final int PROMOTE = 17;

    private FrameType()
    {
    }

    /**
     * @param type a frame type code.
     * @return its name, or "UNKNOWN(n)".
     */
    public static String name(final int type)
    {
        switch (type)
        {
            case HELLO: return "HELLO";
            case HELLO_ACK: return "HELLO_ACK";
            case PAGE: return "PAGE";
            case ZERO_RUN: return "ZERO_RUN";
            case ROUND_END: return "ROUND_END";
            case DEVICE_STATE: return "DEVICE_STATE";
            case SWITCHOVER: return "SWITCHOVER";
            case COMPLETE: return "COMPLETE";
            case ERROR: return "ERROR";
            case STATUS: return "STATUS";
            case PAGE_REQUEST: return "PAGE_REQUEST";
            case PENDING_MAP: return "PENDING_MAP";
            case MISSING_MAP: return "MISSING_MAP";
            case AUTH: return "AUTH";
            case COMMIT: return "COMMIT";
            case DATA_MAP: return "DATA_MAP";
            case PROMOTE: return "PROMOTE";
            default: return "UNKNOWN(" + type + ")";
        }
    }
}
