package io.pagestream.status;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;

/**
 * A failure the peer is not told about, because it caused it (it refused, it reported an error) or cannot hear it
 * (it is unreachable, its stream closed). Sessions throw it; the conductor's one failure path fails the migration
 * without queueing an ERROR frame. Any other {@link MigrationException} is told to the peer.
 */
public final class LocalFailure extends MigrationException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param code    the error code.
     * @param message what went wrong, naming the field or peer.
     */
    public LocalFailure(final ErrorCode code, final String message)
    {
        super(code, message);
    }
}
