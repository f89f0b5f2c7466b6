package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationSource;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.security.FrameGuard;
import io.pagestream.security.FrameMac;
import io.pagestream.security.HandshakeAuthenticator;
import io.pagestream.status.LocalFailure;
import io.pagestream.transport.FrameSink;

import java.util.concurrent.TimeUnit;

/**
 * The source's handshake, first or resumed: HELLO on lane 0 (resent until answered), the target's HELLO_ACK with its
 * proof of the key checked, AUTH with ours, frame protection switched on, and every data lane connected.
 * <p>
 * A first handshake gives up after {@code connectTimeoutMs}; a refusal or a wrong answer fails the migration. A
 * resumed handshake (post-copy recovery) has no deadline of its own (the recovery's applies) and ignores an answer
 * that does not prove the key, since it cannot come from our target: it keeps saying hello.
 * <p>
 * Threading: the source conductor's thread. Time comes in as {@code nowNs}; nothing here blocks.
 */
final class HandshakeSession
{
    enum State
    {
        AWAIT_CONNECTED, AWAIT_HELLO_ACK, SEND_AUTH, AWAIT_LANES, DONE
    }

    static final long HELLO_RESEND_NS = TimeUnit.MILLISECONDS.toNanos(250);
    static final long AUTH_SEND_NS = TimeUnit.SECONDS.toNanos(1);

    private long dataBytes = -1;
    private final MigrationSource.Context ctx;
    private final TargetProxy proxy;
    private final DataLanes lanes;
    private final UrgentLane urgent;
    private final FrameGuard controlGuard;
    private final HandshakeAuthenticator auth;
    private final byte[] sourceNonce = HandshakeAuthenticator.newNonce();
    private final byte[] targetNonce = new byte[HelloFlyweight.NONCE_LENGTH];
    private final byte[] targetTag = new byte[HelloAckFlyweight.TAG_LENGTH];
    private final long timeoutNs;
    private State state = State.AWAIT_CONNECTED;
    private boolean resume;
    private boolean peerKnown;
    private long startNs;
    private long lastHelloNs;
    private long authDeadlineNs;
    private long targetCapabilities;
    private int urgentPort;
    private long roundTripNs;

    HandshakeSession(
        final MigrationSource.Context ctx,
        final TargetProxy proxy,
        final DataLanes lanes,
        final UrgentLane urgent,
        final FrameGuard controlGuard)
    {
        this.ctx = ctx;
        this.proxy = proxy;
        this.lanes = lanes;
        this.urgent = urgent;
        this.controlGuard = controlGuard;
        this.auth = null == ctx.secretKey() ? null : new HandshakeAuthenticator(ctx.secretKey());
        this.timeoutNs = TimeUnit.MILLISECONDS.toNanos(ctx.connectTimeoutMs());
    }

    /**
     * Begin a handshake.
     *
     * @param resuming true for a post-copy resume (new sessions, same migration), false for the first.
     * @param nowNs    current time.
     */
    void start(final boolean resuming, final long nowNs)
    {
        resume = resuming;
        startNs = nowNs;
        lastHelloNs = nowNs - HELLO_RESEND_NS;
        if (resuming)
        {
            HandshakeAuthenticator.refresh(sourceNonce); // a fresh challenge for every resume
        }
        state(State.AWAIT_CONNECTED);
    }

    State state()
    {
        return state;
    }

    boolean isDone()
    {
        return state == State.DONE;
    }

    /** @return true once a target answered: from here a refusal is told to it. */
    boolean peerKnown()
    {
        return peerKnown;
    }

    /** @return true once the target's HELLO_ACK was accepted in this handshake. */
    boolean acknowledged()
    {
        return state == State.SEND_AUTH || state == State.AWAIT_LANES || state == State.DONE;
    }

    long targetCapabilities()
    {
        return targetCapabilities;
    }

    /** @return true if this source and the target both allow post-copy. */
    /** @return true if the target installs whole pages after a post-copy switchover (no deltas then). */
    boolean targetInstallsPages()
    {
        return (targetCapabilities & Capabilities.INSTALLS_PAGES) != 0;
    }

    /** @return true if the target offered to take DATA_MAP frames. */
    boolean targetTakesDataMaps()
    {
        return (targetCapabilities & Capabilities.DATA_MAP) != 0;
    }

    boolean postcopyAvailable()
    {
        return ctx.postcopyAllowed() && (targetCapabilities & Capabilities.POSTCOPY) != 0;
    }

    int urgentPort()
    {
        return urgentPort;
    }

    long roundTripNs()
    {
        return roundTripNs;
    }

    int doWork(final long nowNs)
    {
        switch (state)
        {
            case AWAIT_CONNECTED:
                if (proxy.controlSink().isConnected() && (resume || lanes.streams().everyReceiverJoined()))
                {
                    sendHello(nowNs);
                    state(State.AWAIT_HELLO_ACK);
                    return 1;
                }
                if (!resume && nowNs - startNs > timeoutNs)
                {
                    if (proxy.controlSink().isConnected())
                    {
                        throw new LocalFailure(ErrorCode.TARGET_UNREACHABLE, "the target and " + lanes.streams().followers() +
                            " followers did not all join within connectTimeoutMs=" + ctx.connectTimeoutMs() + ": " +
                            lanes.streams().fewestReceivers() + " of " + (1 + lanes.streams().followers()) + " receivers on a lane " +
                            "(followers " + ctx.followerEndpoints() + ")");
                    }
                    throw new LocalFailure(ErrorCode.TARGET_UNREACHABLE, "no target connected at " +
                        ctx.targetEndpoint() + " stream " + ctx.dataStreamId() + " within connectTimeoutMs=" +
                        ctx.connectTimeoutMs());
                }
                return 0;

            case AWAIT_HELLO_ACK:
                if (!resume && nowNs - startNs > timeoutNs)
                {
                    throw new LocalFailure(ErrorCode.TARGET_UNREACHABLE, "target at " + ctx.targetEndpoint() +
                        " did not answer the hello within connectTimeoutMs=" + ctx.connectTimeoutMs() +
                        " (is its control path to " + ctx.controlEndpoint() + " open? does it speak protocol " +
                        "version " + FrameFlyweight.PROTOCOL_VERSION + "? a target refuses hellos of other versions)");
                }
                if (nowNs - lastHelloNs >= HELLO_RESEND_NS)
                {
                    sendHello(nowNs);
                    return 1;
                }
                return 0;

            case SEND_AUTH:
                return sendAuth(nowNs);

            case AWAIT_LANES:
                if (lanes.streams().allConnected())
                {
                    onAccepted();
                    state(State.DONE);
                    return 1;
                }
                if (!resume && nowNs - startNs > timeoutNs)
                {
                    throw new LocalFailure(ErrorCode.TARGET_UNREACHABLE, "data lane " + lanes.streams().firstUnconnected() +
                        " (stream " + (ctx.dataStreamId() + lanes.streams().firstUnconnected()) + ") to " +
                        ctx.targetEndpoint() + " never connected within connectTimeoutMs=" + ctx.connectTimeoutMs());
                }
                return 0;

            default:
                return 0;
        }
    }

    /**
     * The target's answer to our hello.
     *
     * @param ack   the validated HELLO_ACK.
     * @param nowNs current time.
     */
    void onHelloAck(final HelloAckFlyweight ack, final long nowNs)
    {
        if (ack.status() != 0)
        {
            final ErrorCode refusal = ErrorCode.get(ack.status());
            final boolean unknown = refusal == ErrorCode.GENERIC && ack.status() != ErrorCode.GENERIC.value();
            throw new LocalFailure(refusal, "target refused the hello" +
                (unknown ? ": status=" + ack.status() + " unknown to this version" : ""));
        }
        if (state != State.AWAIT_HELLO_ACK)
        {
            return; // an answer to a hello resent before the first answer arrived
        }
        final long capabilities = ack.capabilities();
        if (resume)
        {
            if (null != auth && ((capabilities & Capabilities.AUTHENTICATED) == 0 || !targetProvedKey(ack)))
            {
                return; // not our target, or an old answer: keep saying hello
            }
        }
        else
        {
            peerKnown = true;
            if (null != auth)
            {
                checkTarget(ack, capabilities);
            }
        }
        targetCapabilities = capabilities;
        urgentPort = ack.urgentPort();
        roundTripNs = Math.max(0, nowNs - ack.echoTimestampNs());
        authDeadlineNs = nowNs + AUTH_SEND_NS;
        state(null != auth ? State.SEND_AUTH : State.AWAIT_LANES);
        if (null != auth)
        {
            sendAuth(nowNs);
        }
    }

    private void checkTarget(final HelloAckFlyweight ack, final long capabilities)
    {
        if ((capabilities & Capabilities.AUTHENTICATED) == 0)
        {
            throw new MigrationException(ErrorCode.MISSING_CAPABILITY, "the target at " + ctx.targetEndpoint() +
                " holds no secret key (capabilities=" + capabilities + "); this source migrates to authenticated " +
                "targets only");
        }
        if (!targetProvedKey(ack))
        {
            throw new MigrationException(ErrorCode.AUTHENTICATION_FAILED, "the target at " + ctx.targetEndpoint() +
                " failed authentication: its HELLO_ACK tag does not match this source's secret key (the two sides " +
                "hold different keys?); the guest keeps running here");
        }
        final boolean macs = (capabilities & Capabilities.FRAME_MAC) != 0;
        final boolean seals = (capabilities & Capabilities.FRAME_ENCRYPTION) != 0;
        if (macs != ctx.frameAuthentication() || seals != ctx.frameEncryption())
        {
            throw new MigrationException(ErrorCode.MISSING_CAPABILITY, "frame authentication/encryption differ: " +
                "this source " + ctx.frameAuthentication() + "/" + ctx.frameEncryption() + ", the target at " +
                ctx.targetEndpoint() + " " + macs + "/" + seals + "; both sides must choose the same");
        }
    }

    /**
     * A first handshake done: the target agreed to what this source needs, and the urgent lane starts opening on its
     * own channel, so its own sockets (a faulted page never waits behind bulk in a socket buffer).
     */
    private void onAccepted()
    {
        if (resume)
        {
            return;
        }
        if (ctx.strategy() == io.pagestream.api.MigrationStrategy.POSTCOPY && !postcopyAvailable())
        {
            throw new MigrationException(ErrorCode.MISSING_CAPABILITY, "strategy POSTCOPY, but the target at " +
                ctx.targetEndpoint() + " did not enable post-copy (MigrationTarget.Context.postcopyEnabled)");
        }
        if (postcopyAvailable())
        {
            urgent.open(io.pagestream.transport.Channels.dataPublication(io.pagestream.transport.Channels
                .urgentEndpoint(ctx.targetEndpoint(), urgentPort), ctx.mtuLength(),
                io.pagestream.transport.Channels.URGENT_TERM_LENGTH, ctx.socketBufferLength()));
        }
    }

    private boolean targetProvedKey(final HelloAckFlyweight ack)
    {
        ack.getNonce(targetNonce);
        ack.getTag(targetTag);
        return HandshakeAuthenticator.matches(auth.targetTag(ctx.migrationId(), sourceNonce, targetNonce), targetTag);
    }

    private int sendAuth(final long nowNs)
    {
        final int outcome = proxy.auth(auth.sourceTag(ctx.migrationId(), sourceNonce, targetNonce));
        if (outcome == FrameSink.SENT)
        {
            startFrameProtection();
            state(State.AWAIT_LANES);
            return 1;
        }
        if (outcome == FrameSink.CLOSED || nowNs > authDeadlineNs)
        {
            if (resume)
            {
                state(State.AWAIT_HELLO_ACK); // try the whole exchange again on the next hello
                return 1;
            }
            throw new LocalFailure(ErrorCode.PEER_LOST, "could not send AUTH to the target at " +
                ctx.targetEndpoint());
        }
        return 0;
    }

    /**
     * With frame authentication every frame from here on is signed (data lanes, urgent lane) or verified (control
     * stream), under a key fresh for this handshake.
     */
    private void startFrameProtection()
    {
        if (!ctx.frameAuthentication())
        {
            return;
        }
        final byte[] frameKey = auth.frameKey(ctx.migrationId(), sourceNonce, targetNonce);
        lanes.sign(frameKey, ctx.frameEncryption());
        urgent.sign(frameKey, ctx.frameEncryption());
        controlGuard.verifier(new FrameMac(frameKey, FrameMac.LANE_CONTROL, ctx.frameEncryption()))
            .requestVerifier(new FrameMac(frameKey, FrameMac.LANE_REQUEST));
    }

    /**
     * @return the bytes of guest memory this source expects to send, for the target's admission check: the pages
     * that may hold data by the kernel's page tables (scanned once, now; pages populated before tracking starts are
     * added then), or all of them when unpopulated pages are not skipped.
     */
    private long dataBytes()
    {
        if (dataBytes < 0)
        {
            final io.pagestream.kernel.GuestPageScan scan = lanes.scan();
            if (null == scan)
            {
                dataBytes = ctx.guestMemory().sizeBytes();
            }
            else
            {
                scan.scanAll();
                dataBytes = scan.pagesWithData() * ctx.guestMemory().pageSize();
            }
        }
        return dataBytes;
    }

    private void sendHello(final long nowNs)
    {
        final long capabilities = (ctx.postcopyAllowed() ? Capabilities.POSTCOPY : 0) |
            (resume ? Capabilities.RESUME : 0) | (null != auth ? Capabilities.AUTHENTICATED : 0) |
            (ctx.frameAuthentication() ? Capabilities.FRAME_MAC : 0) |
            (ctx.frameEncryption() ? Capabilities.FRAME_ENCRYPTION : 0);
        proxy.hello(ctx.guestMemory(), capabilities, nowNs, ctx.controlStreamId(), ctx.controlEndpoint(),
            sourceNonce, null != ctx.cloneVmId() ? ctx.cloneVmId() : ctx.vmId(), lanes.streams().sessionIds(), dataBytes());
        lastHelloNs = nowNs;
    }

    private void state(final State next)
    {
        state = next;
    }
}
