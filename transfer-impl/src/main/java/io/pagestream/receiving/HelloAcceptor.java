package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationTarget;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.protocol.AuthFlyweight;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.security.HandshakeAuthenticator;
import io.pagestream.status.LocalFailure;
import io.pagestream.transport.FrameSink;
import org.agrona.DirectBuffer;

import java.util.concurrent.TimeUnit;

/**
 * The target's side of the handshake, first or resumed: judge the hello (layout, VM, protection, authentication),
 * open the control stream back to the source, answer with HELLO_ACK (our nonce and proof of the key), and wait for
 * the source's AUTH. A first hello that cannot be accepted is answered once the control stream is up, so the source
 * learns why. A resume hello must name the migration this target ran in post-copy; a resumed source that fails
 * authentication is ignored (the recovery goes on waiting for the real one) rather than costing the guest.
 * <p>
 * Threading: the target conductor's thread.
 */
final class HelloAcceptor
{
    enum State
    {
        IDLE, CONNECT_CONTROL, AWAIT_AUTH, DONE
    }

    /**
     * Where the session's frame key goes once it is known.
     */
    interface Keys
    {
        /** @param frameKey sign control frames and page requests under it from now on. */
        void onControlKey(byte[] frameKey);

        /** @param frameKey verify data and urgent frames under it from now on. */
        void onDataKey(byte[] frameKey);
    }

    static final long CONTROL_CONNECT_NS = TimeUnit.SECONDS.toNanos(5);

    private final MigrationTarget.Context ctx;
    private final GuestMemory memory;
    private final SourceProxy proxy;
    private final Keys keys;
    private final HandshakeAuthenticator auth;
    private final HelloFlyweight hello = new HelloFlyweight();
    private final byte[] sourceNonce = new byte[HelloFlyweight.NONCE_LENGTH];
    private final byte[] receivedTag = new byte[HelloAckFlyweight.TAG_LENGTH];
    private final int[] laneSessionIds = new int[HelloFlyweight.MAX_LANES];
    private final int urgentPort;
    private byte[] targetNonce = new byte[HelloFlyweight.NONCE_LENGTH];
    private byte[] targetTag = new byte[HelloAckFlyweight.TAG_LENGTH];
    private byte[] frameKey;
    private State state = State.IDLE;
    private boolean resume;
    private long migrationId;
    private long helloTimestampNs;
    private long helloNs;
    private int laneCount = 1;
    private MigrationException pendingHelloError;

    HelloAcceptor(final MigrationTarget.Context ctx, final SourceProxy proxy, final Keys keys)
    {
        this.ctx = ctx;
        this.memory = ctx.guestMemory();
        this.proxy = proxy;
        this.keys = keys;
        this.auth = null == ctx.secretKey() ? null : new HandshakeAuthenticator(ctx.secretKey());
        this.urgentPort = Integer.parseInt(ctx.urgentEndpoint().substring(ctx.urgentEndpoint().lastIndexOf(':') + 1));
    }

    State state()
    {
        return state;
    }

    boolean isDone()
    {
        return state == State.DONE;
    }

    boolean isResume()
    {
        return resume;
    }

    long migrationId()
    {
        return migrationId;
    }

    int laneCount()
    {
        return laneCount;
    }

    /**
     * @param lane a data lane from 0.
     * @return the Aeron session the hello named for it (lane 0: the hello's own).
     */
    int laneSessionId(final int lane)
    {
        return laneSessionIds[lane];
    }

    /**
     * A first hello, header checked: judge it and start answering.
     *
     * @param buffer         holding the frame.
     * @param offset         of the frame.
     * @param length         of the frame.
     * @param aeronSessionId the Aeron session that sent it.
     * @param nowNs          current time.
     */
    void onHello(final DirectBuffer buffer, final int offset, final int length, final int aeronSessionId,
        final long nowNs)
    {
        hello.wrapForRead(buffer, offset);
        hello.validate(length);
        migrationId = hello.sessionId();
        final long capabilities = hello.capabilities();
        pendingHelloError = (capabilities & Capabilities.RESUME) != 0 ?
            new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "resume hello for migration " +
            Long.toHexString(migrationId) + ", which this target never ran in post-copy") : checkLayout();
        if (null == pendingHelloError && ctx.admissionCheck())
        {
            pendingHelloError = checkAdmission(hello.dataBytes(length));
        }
        if (null == pendingHelloError && null != ctx.vmId() && !ctx.vmId().equals(hello.vmId()))
        {
            pendingHelloError = new MigrationException(ErrorCode.WRONG_VM, "vmId=" + hello.vmId() +
                " in HELLO, this target expects " + ctx.vmId());
        }
        if (null != auth && null == pendingHelloError)
        {
            final boolean sourceMacs = (capabilities & Capabilities.FRAME_MAC) != 0;
            final boolean sourceSeals = (capabilities & Capabilities.FRAME_ENCRYPTION) != 0;
            if (sourceMacs != ctx.frameAuthentication() || sourceSeals != ctx.frameEncryption())
            {
                pendingHelloError = new MigrationException(ErrorCode.MISSING_CAPABILITY, "frame authentication/" +
                    "encryption differ: the source " + sourceMacs + "/" + sourceSeals + ", this target " +
                    ctx.frameAuthentication() + "/" + ctx.frameEncryption() + "; both sides must choose the same");
            }
            else if ((capabilities & Capabilities.AUTHENTICATED) == 0)
            {
                pendingHelloError = new MigrationException(ErrorCode.MISSING_CAPABILITY, "the source offered no " +
                    "authentication (capabilities=" + capabilities + "); this target holds a secret key and " +
                    "accepts authenticated sources only");
            }
        }
        resume = false;
        accept(length, aeronSessionId, nowNs);
    }

    /**
     * A hello while recovering, header checked.
     *
     * @param buffer         holding the frame.
     * @param offset         of the frame.
     * @param length         of the frame.
     * @param aeronSessionId the Aeron session that sent it.
     * @param nowNs          current time.
     * @return true if it resumes our migration and was accepted; false if it is not the source we lost.
     */
    boolean onResumeHello(final DirectBuffer buffer, final int offset, final int length, final int aeronSessionId,
        final long nowNs)
    {
        hello.wrapForRead(buffer, offset);
        hello.validate(length);
        if ((hello.capabilities() & Capabilities.RESUME) == 0 || hello.sessionId() != migrationId ||
            hello.laneCount(length) != laneCount)
        {
            return false;
        }
        pendingHelloError = null;
        resume = true;
        accept(length, aeronSessionId, nowNs);
        return true;
    }

    private void accept(final int length, final int aeronSessionId, final long nowNs)
    {
        helloTimestampNs = hello.timestampNs();
        helloNs = nowNs;
        hello.getNonce(sourceNonce);
        laneCount = hello.laneCount(length);
        laneSessionIds[0] = aeronSessionId;
        for (int i = 1; i < laneCount; i++)
        {
            laneSessionIds[i] = hello.laneSessionId(i);
        }
        if (null != auth)
        {
            targetNonce = HandshakeAuthenticator.newNonce();
            targetTag = auth.targetTag(migrationId, sourceNonce, targetNonce);
        }
        proxy.connect(migrationId, hello.controlEndpoint(), hello.controlStreamId());
        state = State.CONNECT_CONTROL;
    }

    /**
     * @param dataBytes what the source expects to send, or -1 if its hello did not say (then the whole guest).
     * @return a refusal if this process cannot hold the guest, else null.
     */
    private MigrationException checkAdmission(final long dataBytes)
    {
        if (memory.pageSize() > 4096)
        {
            // Huge pages come from their pool, reserved when the guest memory was mapped (a shortfall fails the
            // mmap): what arrives is already held.
            return null;
        }
        final long incoming = dataBytes >= 0 ? dataBytes : hello.pageCount() * hello.pageSize();
        final long held = io.pagestream.kernel.ProcessMemory.populatedPages(memory) * memory.pageSize();
        final long needed = Math.max(0, incoming - held) + MigrationTarget.Context.ADMISSION_HEADROOM_BYTES;
        final io.pagestream.kernel.MemoryBudget budget = io.pagestream.kernel.MemoryBudget.now();
        final long available = budget.availableBytes(false);
        if (needed <= available)
        {
            return null;
        }
        return new MigrationException(ErrorCode.INSUFFICIENT_MEMORY, String.format(java.util.Locale.ROOT,
            "the target cannot hold this guest: %.1f MiB would arrive (%s), %.1f MiB already here, %.0f MiB " +
            "headroom; this process may take %.1f MiB more (%s)", incoming / 1048576.0,
            dataBytes >= 0 ? "its populated pages" : "the whole guest", held / 1048576.0,
            MigrationTarget.Context.ADMISSION_HEADROOM_BYTES / 1048576.0, available / 1048576.0, budget.describe()));
    }

    private MigrationException checkLayout()
    {
        if (hello.pageSize() != memory.pageSize())
        {
            return new MigrationException(ErrorCode.LAYOUT_MISMATCH,
                "pageSize=" + hello.pageSize() + " from the source, target guest uses " + memory.pageSize());
        }
        if (hello.pageCount() != memory.pageCount())
        {
            return new MigrationException(ErrorCode.LAYOUT_MISMATCH,
                "pageCount=" + hello.pageCount() + " from the source, target guest has " + memory.pageCount());
        }
        if (hello.regionCount() != memory.regionCount())
        {
            return new MigrationException(ErrorCode.LAYOUT_MISMATCH,
                "regionCount=" + hello.regionCount() + " from the source, target guest has " + memory.regionCount());
        }
        for (int i = 0; i < memory.regionCount(); i++)
        {
            if (hello.regionLength(i) != memory.regionLengthBytes(i))
            {
                return new MigrationException(ErrorCode.LAYOUT_MISMATCH, "region " + i + " length=" +
                    hello.regionLength(i) + " from the source, target has " + memory.regionLengthBytes(i));
            }
        }
        return null;
    }

    /**
     * Connect the control stream and answer the hello.
     *
     * @param nowNs current time.
     * @return work done.
     * @throws LocalFailure PEER_LOST if the control stream never connects (a first hello); a resumed one reports it
     * with {@link #controlTimedOut}.
     */
    int doWork(final long nowNs)
    {
        if (state != State.CONNECT_CONTROL)
        {
            return 0;
        }
        if (!proxy.pollConnected())
        {
            if (!resume && nowNs - helloNs > CONTROL_CONNECT_NS)
            {
                throw new LocalFailure(ErrorCode.PEER_LOST, "control stream to the source never connected");
            }
            return 0;
        }
        if (null != pendingHelloError)
        {
            throw pendingHelloError; // told to the source, now that it can hear us
        }
        if (!sendHelloAck())
        {
            return 0;
        }
        if (ctx.frameAuthentication())
        {
            frameKey = auth.frameKey(migrationId, sourceNonce, targetNonce);
            keys.onControlKey(frameKey);
        }
        state = null != auth ? State.AWAIT_AUTH : State.DONE;
        return 1;
    }

    /**
     * @param nowNs current time.
     * @return true if a resumed source's control stream has not connected in time.
     */
    boolean controlTimedOut(final long nowNs)
    {
        return state == State.CONNECT_CONTROL && nowNs - helloNs > CONTROL_CONNECT_NS;
    }

    /**
     * The pinned source repeated its hello: answer again.
     *
     * @return true if the answer went out.
     */
    boolean sendHelloAck()
    {
        final long capabilities = (ctx.postcopyEnabled() ? Capabilities.POSTCOPY : 0) |
            (null != auth ? Capabilities.AUTHENTICATED : 0) |
            (ctx.frameAuthentication() ? Capabilities.FRAME_MAC : 0) |
            (ctx.frameEncryption() ? Capabilities.FRAME_ENCRYPTION : 0) | Capabilities.DATA_MAP |
            (ctx.kernelFaultPath() || null != ctx.pageInstaller() ? Capabilities.INSTALLS_PAGES : 0);
        return proxy.helloAck(capabilities, helloTimestampNs, urgentPort, targetNonce, targetTag) == FrameSink.SENT;
    }

    /**
     * The source's answer to our nonce.
     *
     * @param authFrame the validated AUTH frame.
     * @return true if it proved the key (or, for a resume, false if it did not: ignore this source).
     * @throws MigrationException PROTOCOL_VIOLATION out of turn, AUTHENTICATION_FAILED for a first handshake.
     */
    boolean onAuth(final AuthFlyweight authFrame)
    {
        if (state != State.AWAIT_AUTH)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "AUTH frame in state " + state +
                (null == auth ? ": this target holds no secret key" : ", after authentication"));
        }
        authFrame.getTag(receivedTag);
        if (!HandshakeAuthenticator.matches(auth.sourceTag(migrationId, sourceNonce, targetNonce), receivedTag))
        {
            if (resume)
            {
                return false;
            }
            throw new MigrationException(ErrorCode.AUTHENTICATION_FAILED, "the source failed authentication: its " +
                "AUTH tag does not match this target's secret key (the two sides hold different keys?)");
        }
        if (ctx.frameAuthentication())
        {
            keys.onDataKey(frameKey); // every data and urgent frame from here on must carry a tag
        }
        state = State.DONE;
        return true;
    }

    /** Forget the session (the link was lost: wait for a resume hello). */
    void reset()
    {
        state = State.IDLE;
    }
}
