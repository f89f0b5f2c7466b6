package io.pagestream.api;

/**
 * A migration failure with a stable {@link ErrorCode} and a message naming what was wrong
 * (the field and the value where a frame was malformed).
 */
public class MigrationException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /** The stable code of the failure, also in the message. */
    private final ErrorCode errorCode;

    /**
     * @param errorCode the stable code.
     * @param message   what was wrong, naming the field and value where there is one.
     */
    public MigrationException(final ErrorCode errorCode, final String message)
    {
        super(errorCode.name() + ": " + message);
        this.errorCode = errorCode;
    }

    /**
     * @param errorCode the stable code.
     * @param message   what was wrong.
     * @param cause     the underlying failure.
     */
    public MigrationException(final ErrorCode errorCode, final String message, final Throwable cause)
    {
        super(errorCode.name() + ": " + message, cause);
        this.errorCode = errorCode;
    }

    /**
     * @return the stable code of this failure.
     */
    public ErrorCode errorCode()
    {
        return errorCode;
    }
}
