package io.pagestream.status;

import io.pagestream.api.ErrorCode;

/**
 * The ERROR frame a failing side owes its peer: queued once the outcome is decided, offered on each duty cycle until
 * it goes out, the stream is gone, or its deadline passes, so a failure never waits on a peer that cannot hear.
 * Threading: the conductor's thread. No allocation.
 */
public final class PeerNotice
{
    /**
     * Puts an ERROR frame on the wire.
     */
    @FunctionalInterface
    public interface Sender
    {
        /**
         * @param code    the error code.
         * @param message the reason.
         * @return {@code FrameSink.SENT}, {@code RETRY} or {@code CLOSED}.
         */
        int error(ErrorCode code, String message);
    }

    private static final int RETRY = 0;

    private ErrorCode code;
    private String message;
    private long deadlineNs;

    /**
     * @param errorCode     to send.
     * @param reason        to send.
     * @param sendByNs      after which delivery is abandoned.
     */
    public void queue(final ErrorCode errorCode, final String reason, final long sendByNs)
    {
        code = errorCode;
        message = reason;
        deadlineNs = sendByNs;
    }

    /**
     * Try once to deliver the queued ERROR.
     *
     * @param sender the proxy.
     * @param nowNs  current time.
     * @return true when there is nothing more to do: sent, none queued, the stream closed, or past the deadline.
     */
    public boolean deliver(final Sender sender, final long nowNs)
    {
        if (null == code)
        {
            return true;
        }
        if (sender.error(code, message) != RETRY || nowNs > deadlineNs)
        {
            code = null;
            return true;
        }
        return false;
    }
}
