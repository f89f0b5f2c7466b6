package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.protocol.AuthFlyweight;
import io.pagestream.protocol.SwitchoverFlyweight;
import org.agrona.DirectBuffer;

/**
 * What the source says on the data lanes, one call per frame type, made by a {@link DataLaneAdapter} once the frame
 * was admitted and its header checked. Flyweights passed in are valid until the call returns.
 */
interface DataListener
{
    /**
     * A HELLO on lane 0 while no session is pinned, header checked.
     *
     * @param buffer         holding the frame.
     * @param offset         of the frame.
     * @param length         of the frame.
     * @param aeronSessionId the Aeron session that sent it.
     */
    void onHello(DirectBuffer buffer, int offset, int length, int aeronSessionId);

    /**
     * @param lane a data lane.
     * @return true if the lane may be read now; false while the round barrier holds it.
     */
    boolean mayRead(int lane);

    /** Any frame of the pinned session arrived: the source is alive. */
    void onSourceFrame();

    /**
     * @param type the type of a frame from the pinned session.
     * @throws MigrationException PROTOCOL_VIOLATION if the type is not allowed in the current state.
     */
    void checkAllowed(int type);

    /**
     * @param lane   the lane, or -1 for the urgent lane.
     * @param buffer holding a PAGE frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onPage(int lane, DirectBuffer buffer, int offset, int length);

    /**
     * @param lane   the lane, or -1 for the urgent lane.
     * @param buffer holding a ZERO_RUN frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onZeroRun(int lane, DirectBuffer buffer, int offset, int length);

    /**
     * @param lane   the lane.
     * @param buffer holding a DATA_MAP frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onDataMap(int lane, DirectBuffer buffer, int offset, int length);

    /**
     * @param lane   the lane.
     * @param buffer holding a ROUND_END frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onRoundEnd(int lane, DirectBuffer buffer, int offset, int length);

    /** @param auth the source's answer to our nonce. */
    void onAuth(AuthFlyweight auth);

    /** The pinned source said hello again (it had not yet seen our ack). */
    void onRepeatedHello();

    /**
     * @param buffer holding a PENDING_MAP frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onPendingMapChunk(DirectBuffer buffer, int offset, int length);

    /**
     * @param buffer holding a DEVICE_STATE frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onDeviceStateChunk(DirectBuffer buffer, int offset, int length);

    /** @param switchover the validated SWITCHOVER. */
    void onSwitchover(SwitchoverFlyweight switchover);

    /** The source let go of the guest (stop-and-copy). */
    void onCommit();

    /**
     * @param code    the source's error code.
     * @param message its reason.
     */
    void onSourceError(ErrorCode code, String message);

    /** @param ex a frame of the pinned session that could not be accepted. */
    void onFrameFailure(MigrationException ex);

    /**
     * A fan-out's target was lost: the follower at this endpoint takes its place.
     *
     * @param endpoint {@code host:port} of the follower promoted.
     */
    void onPromote(String endpoint);
}
