package io.pagestream.target;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.Header;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationProgress;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationTarget;
import io.pagestream.api.PageEncoding;
import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.codec.Checksums;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.PageMapFlyweight;
import io.pagestream.protocol.DeviceStateFlyweight;
import io.pagestream.protocol.ErrorFlyweight;
import io.pagestream.protocol.CompleteFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.RoundEndFlyweight;
import io.pagestream.protocol.StatusFlyweight;
import io.pagestream.protocol.SwitchoverFlyweight;
import io.pagestream.protocol.ZeroRunFlyweight;
import io.pagestream.source.PageBitmap;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.status.Heartbeat;
import io.pagestream.status.MigrationLifecycle;
import io.pagestream.transport.Channels;
import io.pagestream.transport.FramePublisher;
import org.agrona.BufferUtil;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.ErrorHandler;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;
import org.HdrHistogram.Histogram;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The target side of one migration as a single Agrona agent.
 * <p>
 * Pre-copy: pages are applied as they come; SWITCHOVER (stop-and-copy) restores the device state and COMPLETE is
 * sent. Post-copy: PENDING_MAP frames name the pages whose newer version is still to come; SWITCHOVER (post-copy)
 * restores the device state and {@link #readyToRun()} lets the guest run at once. From then on pages arrive on the
 * data stream (background push) and the urgent stream (answers to faults), and a page already present is never
 * written again, since the running guest may have changed it. When the last pending page arrives, COMPLETE is sent.
 * If the source goes quiet in post-copy, the target drops its control stream and waits for a resume hello on a new
 * session (up to {@code recoveryTimeoutMs}), then sends its MISSING_MAP; it never lets a fault return for a page
 * that did not arrive, and gives up with {@link ErrorCode#GUEST_LOST}.
 * <p>
 * Until a valid hello arrives, frames of other types are dropped and counted. The Aeron session that sent the
 * accepted hello is pinned: frames from any other publisher are dropped and counted. From the pinned session, any
 * malformed frame, bad field or checksum mismatch fails the migration with an error naming the field and value, and
 * nothing is written for that frame. Threading: one agent thread; {@link #cancel()}, {@link #progress()} and
 * {@link #isPageReceived(long)} from any thread (the last is racy by nature and exact once completed).
 */
public final class TargetAgent implements Agent, FragmentHandler
{
    private static final int FRAGMENTS_PER_WORK = 64;
    private static final int POSTCOPY_FRAGMENTS_PER_POLL = 8;
    private static final int POSTCOPY_FRAGMENTS_PER_WORK = 64;
    private static final long ERROR_DELIVERY_NS = TimeUnit.SECONDS.toNanos(1);
    private static final long CONTROL_CONNECT_NS = TimeUnit.SECONDS.toNanos(5);

    enum State
    {
        AWAIT_HELLO, CONNECT_CONTROL, AWAIT_AUTH, RECEIVING, SEND_MISSING_MAP, POSTCOPY, RECOVERING, SEND_COMPLETE,
        AWAIT_COMMIT, FAILING, DONE
    }

    private final MigrationTarget.Context ctx;
    private final Aeron aeron;
    private final GuestMemory memory;
    private final DeviceState deviceState;
    private final MigrationListener listener;
    private final ErrorHandler errorHandler;
    private final int pageSize;
    private final long pageCount;
    private final Subscription dataSubscription;
    private final Subscription urgentSubscription;
    private final FragmentHandler urgentHandler = this::onUrgentFragment;
    private final PresentPages present;
    private final FaultService faults;
    private final AtomicCounter duplicatesCounter;
    private final AtomicCounter recoveriesCounter;
    private final CompletableFuture<MigrationPhase> readyToRun = new CompletableFuture<>();
    private final PageMapFlyweight pageMapFlyweight = new PageMapFlyweight();
    private final io.pagestream.protocol.CommitFlyweight commitFlyweight = new io.pagestream.protocol.CommitFlyweight();
    private final io.pagestream.protocol.PageMapWriter pageMapWriter = new io.pagestream.protocol.PageMapWriter();
    private final MigrationCounters counters;
    private final AtomicCounter pageFramesCounter;
    private final AtomicCounter bytesCounter;
    private final AtomicCounter zeroPagesCounter;
    private final AtomicCounter foreignCounter;
    private final AtomicCounter badFramesCounter;
    private final MigrationLifecycle lifecycle;
    private final PageBitmap received;

    private final FrameFlyweight headerFlyweight = new FrameFlyweight();
    private final HelloFlyweight helloFlyweight = new HelloFlyweight();
    private final HelloAckFlyweight helloAckFlyweight = new HelloAckFlyweight();
    private final PageApplier pageApplier;
    private final ZeroRunFlyweight zeroRunFlyweight = new ZeroRunFlyweight();
    private final RoundEndFlyweight roundEndFlyweight = new RoundEndFlyweight();
    private final DeviceStateFlyweight deviceStateFlyweight = new DeviceStateFlyweight();
    private final SwitchoverFlyweight switchoverFlyweight = new SwitchoverFlyweight();
    private final CompleteFlyweight completeFlyweight = new CompleteFlyweight();
    private final ErrorFlyweight errorFlyweight = new ErrorFlyweight();
    private final StatusFlyweight statusFlyweight = new StatusFlyweight();
    private final Heartbeat heartbeat = new Heartbeat();

    private State state = State.AWAIT_HELLO;
    private volatile boolean cancelRequested;
    private volatile long pagesReceivedCount;

    private final long startNs;
    private long nowNs;
    private long helloNs;
    private long lastFrameNs;

    private long migrationId;
    private int pinnedSessionId;
    private long helloTimestampNs;
    private ExclusivePublication controlPublication;
    private Publication requestPublication;
    private FramePublisher control;
    private MigrationException pendingHelloError;
    private final io.pagestream.security.HandshakeAuthenticator auth;
    private final io.pagestream.protocol.AuthFlyweight authFlyweight = new io.pagestream.protocol.AuthFlyweight();
    private final byte[] sourceNonce = new byte[HelloFlyweight.NONCE_LENGTH];
    private final byte[] receivedTag = new byte[HelloAckFlyweight.TAG_LENGTH];
    private byte[] targetNonce = new byte[HelloFlyweight.NONCE_LENGTH];
    private byte[] targetTag;
    private byte[] frameKey;
    private int refusedVersion;
    private long refusedHellos;
    private io.pagestream.security.FrameMac dataVerifier;
    private io.pagestream.security.FrameMac urgentVerifier;

    private PageBitmap pending;
    private int pendingMapNextWord;
    private boolean pendingMapDone;
    private boolean postcopy;
    private long postcopyRemaining;
    private long postcopyStartNs;
    private long postcopyEndNs;
    private boolean resuming;
    private long recoveryStartNs;
    private int recoveries;
    private long faultCount;
    private long faultP50Us;
    private long faultP99Us;
    private long faultMaxUs;

    private int round;
    private long roundPageFrames;
    private long roundPages;
    private long totalPageFrames;
    private final long[] pagesByEncoding = new long[4];
    private long zeroPages;

    private UnsafeBuffer deviceStateBuffer;
    private int deviceStateReceived;


    /**
     * @param ctx              concluded context.
     * @param aeron            client, used to add the control publication once the hello names it.
     * @param dataSubscription the data stream.
     * @param urgentSubscription the urgent lane: pages faulted on in post-copy.
     * @param counters         target counters.
     * @param completion       completed with the report at the end.
     * @param nowNs            current time.
     */
    public TargetAgent(
        final MigrationTarget.Context ctx,
        final Aeron aeron,
        final Subscription dataSubscription,
        final Subscription urgentSubscription,
        final MigrationCounters counters,
        final CompletableFuture<MigrationReport> completion,
        final long nowNs)
    {
        this.ctx = ctx;
        this.aeron = aeron;
        this.urgentSubscription = urgentSubscription;
        this.memory = ctx.guestMemory();
        this.deviceState = ctx.deviceState();
        this.listener = ctx.listener();
        this.errorHandler = ctx.errorHandler();
        this.pageSize = memory.pageSize();
        this.pageCount = memory.pageCount();
        this.dataSubscription = dataSubscription;
        this.counters = counters;
        this.lifecycle = new MigrationLifecycle(listener, errorHandler, completion);
        this.pageFramesCounter = counters.get(CounterType.PAGE_FRAMES_RECEIVED);
        this.bytesCounter = counters.get(CounterType.BYTES_RECEIVED);
        this.zeroPagesCounter = counters.get(CounterType.ZERO_PAGES_RECEIVED);
        this.foreignCounter = counters.get(CounterType.FOREIGN_FRAMES_DROPPED);
        this.badFramesCounter = counters.get(CounterType.BAD_FRAMES);
        this.received = new PageBitmap(pageCount);
        this.present = new PresentPages(pageCount);
        this.faults = new FaultService(present, counters.get(CounterType.FAULTS),
            counters.get(CounterType.PAGE_REQUESTS_SENT));
        this.duplicatesCounter = counters.get(CounterType.DUPLICATE_PAGES_SKIPPED);
        this.recoveriesCounter = counters.get(CounterType.RECOVERIES);
        this.pageApplier = new PageApplier(memory, received);
        this.auth = null == ctx.secretKey() ? null : new io.pagestream.security.HandshakeAuthenticator(ctx.secretKey());
        this.startNs = nowNs;
        this.nowNs = nowNs;
    }

    /** {@inheritDoc} */
    public String roleName()
    {
        return "pagestream-target";
    }

    /** Ask the agent to cancel at its next duty cycle. Any thread. */
    public void cancel()
    {
        cancelRequested = true;
    }

    /**
     * @param pageIndex of a guest page.
     * @return true if the page's current contents are present (acquire).
     */
    public boolean isPageReceived(final long pageIndex)
    {
        return faults.isPresent(pageIndex);
    }

    /** @return the fault path for the hypervisor's vCPU threads. Any thread. */
    public FaultService faults()
    {
        return faults;
    }

    /** @return completes when the guest may run here. Any thread. */
    public CompletableFuture<MigrationPhase> readyToRun()
    {
        return readyToRun;
    }

    /**
     * @return a progress snapshot. Any thread.
     */
    public MigrationProgress progress()
    {
        final long pages = pagesReceivedCount;
        final MigrationPhase phase = lifecycle.phase();
        return new MigrationProgress(phase, round, phase == MigrationPhase.POSTCOPY ? postcopyRemaining :
            pageCount - pages, pages, bytesCounter.get(), 0, 0, 0,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs));
    }

    /** {@inheritDoc} */
    public int doWork()
    {
        if (state == State.DONE)
        {
            return 0; // Idle until closed; the completion future already carries the report.
        }
        nowNs = System.nanoTime();
        int work = 0;
        try
        {
            if (state == State.POSTCOPY)
            {
                // Faulted pages first: the urgent lane is polled before, and as well as, the bulk.
                work += urgentSubscription.poll(urgentHandler, FRAGMENTS_PER_WORK);
            }
            if (state == State.POSTCOPY)
            {
                // Smaller bulk batches in post-copy, with the urgent lane polled again after each.
                for (int i = 0; i < POSTCOPY_FRAGMENTS_PER_WORK / POSTCOPY_FRAGMENTS_PER_POLL && state == State.POSTCOPY; i++)
                {
                    final int fragments = dataSubscription.poll(this, POSTCOPY_FRAGMENTS_PER_POLL);
                    work += fragments;
                    if (state == State.POSTCOPY)
                    {
                        work += urgentSubscription.poll(urgentHandler, FRAGMENTS_PER_WORK);
                    }
                    if (fragments == 0)
                    {
                        break;
                    }
                }
            }
            else if (state == State.AWAIT_HELLO || state == State.AWAIT_AUTH || state == State.RECEIVING ||
                state == State.RECOVERING || state == State.AWAIT_COMMIT || (state == State.SEND_COMPLETE && !postcopy))
            {
                work += dataSubscription.poll(this, FRAGMENTS_PER_WORK);
            }
            work += checkConditions();
            switch (state)
            {
                case CONNECT_CONTROL:
                    work += connectControl();
                    break;
                case SEND_MISSING_MAP:
                    work += sendMissingMap();
                    break;
                case SEND_COMPLETE:
                    work += sendComplete();
                    break;
                case FAILING:
                    work += deliverError();
                    break;
                default:
                    break;
            }
            if (state == State.RECEIVING || state == State.POSTCOPY)
            {
                heartbeat.sendIfDue(control, migrationId, pagesReceivedCount, nowNs);
            }
        }
        catch (final MigrationException ex)
        {
            fail(ex.errorCode(), ex.getMessage());
        }
        catch (final Throwable t)
        {
            errorHandler.onError(t);
            fail(ErrorCode.INTERNAL, "unexpected " + t);
        }
        return work;
    }

    /** {@inheritDoc} */
    public void onClose()
    {
        if (state != State.DONE)
        {
            if (state != State.FAILING)
            {
                fail(ErrorCode.CANCELLED, "target closed before the migration ended");
            }
            if (state != State.DONE)
            {
                lifecycle.deliverError(control, migrationId, Long.MAX_VALUE);
                finish();
            }
        }
        CloseHelper.quietCloseAll(requestPublication, controlPublication);
        if (!readyToRun.isDone())
        {
            readyToRun.complete(lifecycle.phase());
        }
    }

    private int checkConditions()
    {
        if (cancelRequested && !postcopy && state.ordinal() < State.SEND_MISSING_MAP.ordinal())
        {
            fail(ErrorCode.CANCELLED, "cancelled by the target application in phase " + lifecycle.phase());
            return 1;
        }
        if (state == State.AWAIT_HELLO && ctx.handshakeTimeoutMs() > 0 &&
            nowNs - startNs > TimeUnit.MILLISECONDS.toNanos(ctx.handshakeTimeoutMs()))
        {
            fail(ErrorCode.TIMEOUT, "no hello from a source on " + ctx.listenEndpoint() + " within handshakeTimeoutMs=" +
                ctx.handshakeTimeoutMs() + (0 == refusedVersion ? "" : "; refused " + refusedHellos +
                " hello(s) of protocol version=" + refusedVersion + ", this build speaks " +
                FrameFlyweight.PROTOCOL_VERSION));
            return 1;
        }
        if ((state == State.AWAIT_COMMIT || (state == State.SEND_COMPLETE && !postcopy)) &&
            nowNs - lastFrameNs > TimeUnit.MILLISECONDS.toNanos(ctx.peerTimeoutMs()))
        {
            failWithoutReply(ErrorCode.PEER_LOST, "no COMMIT from the source within peerTimeoutMs=" +
                ctx.peerTimeoutMs() + " of the switchover; the guest was not resumed here (the source resumes it, " +
                "or, if it committed, keeps it paused)");
            return 1;
        }
        if (state == State.AWAIT_AUTH && resuming &&
            nowNs - lastFrameNs > TimeUnit.MILLISECONDS.toNanos(ctx.peerTimeoutMs()))
        {
            enterRecovery("the resuming source did not authenticate");
            return 1;
        }
        if ((state == State.RECEIVING || state == State.AWAIT_AUTH) &&
            nowNs - lastFrameNs > TimeUnit.MILLISECONDS.toNanos(ctx.peerTimeoutMs()))
        {
            fail(ErrorCode.PEER_LOST, "no frame from the source for " +
                TimeUnit.NANOSECONDS.toMillis(nowNs - lastFrameNs) + " ms (peerTimeoutMs=" + ctx.peerTimeoutMs() +
                "); the guest was not resumed here");
            return 1;
        }
        if ((state == State.POSTCOPY || (state == State.SEND_COMPLETE && postcopy && null != controlPublication &&
            !controlPublication.isConnected())) &&
            nowNs - lastFrameNs > TimeUnit.MILLISECONDS.toNanos(ctx.peerTimeoutMs()))
        {
            // Also when every page is here but COMPLETE cannot reach the source: resume, then send it.
            enterRecovery("no frame from the source for " + TimeUnit.NANOSECONDS.toMillis(nowNs - lastFrameNs) +
                " ms in post-copy");
            return 1;
        }
        if ((state == State.RECOVERING || (resuming && state.ordinal() < State.POSTCOPY.ordinal())) &&
            nowNs - recoveryStartNs > TimeUnit.MILLISECONDS.toNanos(ctx.recoveryTimeoutMs()))
        {
            failWithoutReply(ErrorCode.GUEST_LOST, "the source did not come back within recoveryTimeoutMs=" +
                ctx.recoveryTimeoutMs() + " of losing it in post-copy; " + postcopyRemaining +
                " pages never arrived, the guest cannot continue");
            return 1;
        }
        return 0;
    }

    private void enterRecovery(final String why)
    {
        // The guest keeps running; vCPUs touching missing pages wait. A new source session will resume us.
        faults.requestPublication(null, migrationId);
        dataVerifier = null;
        urgentVerifier = null;
        CloseHelper.quietCloseAll(requestPublication, controlPublication);
        requestPublication = null;
        controlPublication = null;
        control = null;
        if (!resuming)
        {
            recoveryStartNs = nowNs;
            resuming = true;
        }
        state = State.RECOVERING;
        if (ctx.recoveryTimeoutMs() == 0)
        {
            failWithoutReply(ErrorCode.GUEST_LOST, why + " and recoveryTimeoutMs=0; " + postcopyRemaining +
                " pages never arrived, the guest cannot continue");
        }
    }

    /** {@inheritDoc} */
    public void onFragment(
        final DirectBuffer termBuffer, final int termOffset, final int taggedLength, final Header header)
    {
        DirectBuffer buffer = termBuffer;
        int offset = termOffset;
        int length = taggedLength;
        if (state != State.AWAIT_HELLO && state != State.AWAIT_AUTH && state != State.RECEIVING &&
            state != State.POSTCOPY && state != State.RECOVERING && state != State.AWAIT_COMMIT &&
            !(state == State.SEND_COMPLETE && !postcopy))
        {
            return;
        }
        final boolean pinned = state != State.AWAIT_HELLO && state != State.RECOVERING;
        if (pinned && header.sessionId() != pinnedSessionId)
        {
            foreignCounter.incrementOrdered();
            return;
        }

        try
        {
            if ((header.flags() & FrameDescriptor.UNFRAGMENTED) != FrameDescriptor.UNFRAGMENTED)
            {
                throw new MigrationException(ErrorCode.MALFORMED_FRAME,
                    "fragmented message of " + length + " bytes; every frame must fit one Aeron frame");
            }
            if (pinned && null != dataVerifier)
            {
                if (!dataVerifier.verify(buffer, offset, taggedLength))
                {
                    throw new MigrationException(ErrorCode.AUTHENTICATION_FAILED, "frame of " + taggedLength +
                        " bytes on the data stream fails its tag: altered, forged, replayed or out of order");
                }
                length = taggedLength - io.pagestream.security.FrameMac.TAG_LENGTH;
                if (dataVerifier.encrypts())
                {
                    buffer = dataVerifier.plaintext();
                    offset = 0;
                }
            }
            headerFlyweight.wrapForRead(buffer, offset);
            headerFlyweight.validateHeader(length);
            final int type = headerFlyweight.type();

            if (!pinned)
            {
                if (type == FrameType.HELLO && state == State.RECOVERING)
                {
                    onResumeHello(buffer, offset, length, header.sessionId());
                }
                else if (type == FrameType.HELLO)
                {
                    onHello(buffer, offset, length, header.sessionId());
                }
                else
                {
                    foreignCounter.incrementOrdered();
                }
                return;
            }

            if (headerFlyweight.sessionId() != migrationId)
            {
                throw new MigrationException(ErrorCode.WRONG_SESSION, "sessionId=" +
                    Long.toHexString(headerFlyweight.sessionId()) + " in " + FrameType.name(type) +
                    " frame, agreed session is " + Long.toHexString(migrationId));
            }
            lastFrameNs = nowNs;
            bytesCounter.getAndAddOrdered(length);
            dispatch(type, buffer, offset, length);
        }
        catch (final MigrationException ex)
        {
            // Fail here, inside the callback: the rest of this poll's batch must not be applied.
            if (pinned)
            {
                badFramesCounter.incrementOrdered();
                fail(ex.errorCode(), ex.getMessage());
            }
            else
            {
                // Anyone can reach an unpinned target: a bad frame is dropped, not obeyed; a hello of another
                // protocol version is remembered so that a timeout can name it.
                if (ex.errorCode() == ErrorCode.UNSUPPORTED_VERSION && length > FrameFlyweight.TYPE_OFFSET &&
                    buffer.getByte(offset + FrameFlyweight.TYPE_OFFSET) == FrameType.HELLO)
                {
                    refusedVersion = buffer.getByte(offset + FrameFlyweight.VERSION_OFFSET) & 0xFF;
                    refusedHellos++;
                }
                foreignCounter.incrementOrdered();
            }
        }
        catch (final RuntimeException ex)
        {
            errorHandler.onError(ex);
            fail(ErrorCode.INTERNAL, "unexpected " + ex + " while handling a frame");
        }
    }

    private void dispatch(final int type, final DirectBuffer buffer, final int offset, final int length)
    {
        if (state == State.AWAIT_AUTH && type != FrameType.AUTH && type != FrameType.HELLO &&
            type != FrameType.ERROR)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "type=" + type + " (" + FrameType.name(type) + ") frame before the source authenticated");
        }
        if ((state == State.AWAIT_COMMIT || state == State.SEND_COMPLETE) && type != FrameType.COMMIT &&
            type != FrameType.ERROR && type != FrameType.STATUS && type != FrameType.HELLO)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "type=" + type + " (" + FrameType.name(type) + ") frame after the switchover");
        }
        switch (type)
        {
            case FrameType.COMMIT:
                onCommit(buffer, offset, length);
                break;
            case FrameType.AUTH:
                onAuth(buffer, offset, length);
                break;
            case FrameType.PAGE:
                onPage(buffer, offset, length);
                break;
            case FrameType.ZERO_RUN:
                onZeroRun(buffer, offset, length);
                break;
            case FrameType.ROUND_END:
                onRoundEnd(buffer, offset, length);
                break;
            case FrameType.DEVICE_STATE:
                onDeviceState(buffer, offset, length);
                break;
            case FrameType.SWITCHOVER:
                onSwitchover(buffer, offset, length);
                break;
            case FrameType.PENDING_MAP:
                onPendingMap(buffer, offset, length);
                break;
            case FrameType.STATUS:
                statusFlyweight.wrapForRead(buffer, offset);
                statusFlyweight.validate(length);
                break;
            case FrameType.HELLO:
                // The source resends its hello until it sees our ack.
                sendHelloAck();
                break;
            case FrameType.ERROR:
                errorFlyweight.wrapForRead(buffer, offset);
                errorFlyweight.validate(length);
                failWithoutReply(postcopy ? ErrorCode.GUEST_LOST : ErrorCode.get(errorFlyweight.errorCode()),
                    "source reported: " + errorFlyweight.message());
                break;
            default:
                throw new MigrationException(ErrorCode.UNKNOWN_FRAME_TYPE,
                    "type=" + type + " is not a frame type the source sends");
        }
    }

    private void onHello(final DirectBuffer buffer, final int offset, final int length, final int aeronSessionId)
    {
        helloFlyweight.wrapForRead(buffer, offset);
        helloFlyweight.validate(length);

        migrationId = helloFlyweight.sessionId();
        pendingHelloError = (helloFlyweight.capabilities() & Capabilities.RESUME) != 0 ?
            new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "resume hello for migration " +
            Long.toHexString(helloFlyweight.sessionId()) + ", which this target never ran in post-copy") :
            checkLayout();
        if (null == pendingHelloError && null != ctx.vmId() && !ctx.vmId().equals(helloFlyweight.vmId()))
        {
            pendingHelloError = new MigrationException(ErrorCode.WRONG_VM, "vmId=" + helloFlyweight.vmId() +
                " in HELLO, this target expects " + ctx.vmId());
        }
        if (null != auth)
        {
            final boolean sourceMacs = (helloFlyweight.capabilities() & Capabilities.FRAME_MAC) != 0;
            final boolean sourceSeals = (helloFlyweight.capabilities() & Capabilities.FRAME_ENCRYPTION) != 0;
            if (null == pendingHelloError &&
                (sourceMacs != ctx.frameAuthentication() || sourceSeals != ctx.frameEncryption()))
            {
                pendingHelloError = new MigrationException(ErrorCode.MISSING_CAPABILITY, "frame authentication/" +
                    "encryption differ: the source " + sourceMacs + "/" + sourceSeals + ", this target " +
                    ctx.frameAuthentication() + "/" + ctx.frameEncryption() + "; both sides must choose the same");
            }
            if (null == pendingHelloError && (helloFlyweight.capabilities() & Capabilities.AUTHENTICATED) == 0)
            {
                pendingHelloError = new MigrationException(ErrorCode.MISSING_CAPABILITY, "the source offered no " +
                    "authentication (capabilities=" + helloFlyweight.capabilities() + "); this target holds a " +
                    "secret key and accepts authenticated sources only");
            }
        }
        acceptHello(aeronSessionId);
    }

    private void onResumeHello(final DirectBuffer buffer, final int offset, final int length, final int aeronSessionId)
    {
        helloFlyweight.wrapForRead(buffer, offset);
        helloFlyweight.validate(length);
        if ((helloFlyweight.capabilities() & Capabilities.RESUME) == 0 || helloFlyweight.sessionId() != migrationId)
        {
            foreignCounter.incrementOrdered(); // Not the source we lost; keep waiting for it.
            return;
        }
        acceptHello(aeronSessionId);
    }

    /**
     * Both kinds of hello, once judged: pin the session that sent it, answer its nonce with a fresh challenge of
     * ours (with a key), and open the control stream back to it.
     */
    private void acceptHello(final int aeronSessionId)
    {
        pinnedSessionId = aeronSessionId;
        helloTimestampNs = helloFlyweight.timestampNs();
        helloNs = nowNs;
        lastFrameNs = nowNs;
        helloFlyweight.getNonce(sourceNonce);
        if (null != auth)
        {
            targetNonce = io.pagestream.security.HandshakeAuthenticator.newNonce();
            targetTag = auth.targetTag(migrationId, sourceNonce, targetNonce);
        }
        final String controlChannel = Channels.control(helloFlyweight.controlEndpoint());
        controlPublication = aeron.addExclusivePublication(controlChannel, helloFlyweight.controlStreamId());
        control = new FramePublisher(controlPublication, null, null);
        requestPublication = aeron.addPublication(controlChannel, helloFlyweight.controlStreamId());
        state = State.CONNECT_CONTROL;
    }

    private MigrationException checkLayout()
    {
        if (helloFlyweight.pageSize() != pageSize)
        {
            return new MigrationException(ErrorCode.LAYOUT_MISMATCH,
                "pageSize=" + helloFlyweight.pageSize() + " from the source, target guest uses " + pageSize);
        }
        if (helloFlyweight.pageCount() != pageCount)
        {
            return new MigrationException(ErrorCode.LAYOUT_MISMATCH,
                "pageCount=" + helloFlyweight.pageCount() + " from the source, target guest has " + pageCount);
        }
        if (helloFlyweight.regionCount() != memory.regionCount())
        {
            return new MigrationException(ErrorCode.LAYOUT_MISMATCH,
                "regionCount=" + helloFlyweight.regionCount() + " from the source, target guest has " +
                memory.regionCount());
        }
        for (int i = 0; i < memory.regionCount(); i++)
        {
            if (helloFlyweight.regionLength(i) != memory.regionLengthBytes(i))
            {
                return new MigrationException(ErrorCode.LAYOUT_MISMATCH, "region " + i + " length=" +
                    helloFlyweight.regionLength(i) + " from the source, target has " + memory.regionLengthBytes(i));
            }
        }
        return null;
    }

    private int connectControl()
    {
        if (!controlPublication.isConnected())
        {
            if (resuming)
            {
                if (nowNs - helloNs > CONTROL_CONNECT_NS)
                {
                    enterRecovery("control stream to the resuming source never connected");
                    return 1;
                }
                return 0;
            }
            if (nowNs - helloNs > CONTROL_CONNECT_NS)
            {
                failWithoutReply(ErrorCode.PEER_LOST, "control stream to the source never connected");
                return 1;
            }
            return 0;
        }
        if (resuming)
        {
            if (!sendHelloAck())
            {
                return 0;
            }
            signControl();
            lastFrameNs = nowNs;
            if (null != auth)
            {
                state = State.AWAIT_AUTH; // the resuming source proves the key again, over fresh nonces
                return 1;
            }
            startMissingMap();
            return 1;
        }
        if (null != pendingHelloError)
        {
            fail(pendingHelloError.errorCode(), pendingHelloError.getMessage());
            return 1;
        }
        if (!sendHelloAck())
        {
            return 0;
        }
        signControl();
        lastFrameNs = nowNs;
        if (null != auth)
        {
            state = State.AWAIT_AUTH; // not a page before the source has answered the challenge
            return 1;
        }
        state = State.RECEIVING;
        lifecycle.phase(MigrationPhase.BULK);
        return 1;
    }

    /**
     * With frame authentication, every control frame after the (unsigned) HELLO_ACK is signed, under this
     * handshake's key; page requests from the vCPU threads too.
     */
    private void signControl()
    {
        if (!ctx.frameAuthentication())
        {
            return;
        }
        frameKey = auth.frameKey(migrationId, sourceNonce, targetNonce);
        control.signer(new io.pagestream.security.FrameMac(frameKey, io.pagestream.security.FrameMac.LANE_CONTROL,
            ctx.frameEncryption()));
        faults.signing(frameKey);
    }

    private void startMissingMap()
    {
        // No page arrives while resuming (the old session is dropped), so this snapshot stays true.
        final long[] missing = new long[present.wordCount()];
        for (int w = 0; w < missing.length; w++)
        {
            missing[w] = missingWord(w);
        }
        pageMapWriter.start(missing);
        state = State.SEND_MISSING_MAP;
    }

    private void onAuth(final DirectBuffer buffer, final int offset, final int length)
    {
        authFlyweight.wrapForRead(buffer, offset);
        authFlyweight.validate(length);
        if (state != State.AWAIT_AUTH)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "AUTH frame in state " + state +
                (null == auth ? ": this target holds no secret key" : ", after authentication"));
        }
        authFlyweight.getTag(receivedTag);
        if (!io.pagestream.security.HandshakeAuthenticator.matches(
            auth.sourceTag(migrationId, sourceNonce, targetNonce), receivedTag))
        {
            if (resuming)
            {
                // Not our source: keep waiting for it on a fresh session rather than give the guest up.
                foreignCounter.incrementOrdered();
                enterRecovery("a resuming source failed authentication");
                return;
            }
            throw new MigrationException(ErrorCode.AUTHENTICATION_FAILED, "the source failed authentication: its " +
                "AUTH tag does not match this target's secret key (the two sides hold different keys?)");
        }
        if (ctx.frameAuthentication())
        {
            // Every data and urgent frame from here on must carry a tag under this handshake's key.
            dataVerifier = new io.pagestream.security.FrameMac(frameKey, io.pagestream.security.FrameMac.LANE_DATA,
                ctx.frameEncryption());
            urgentVerifier = new io.pagestream.security.FrameMac(frameKey,
                io.pagestream.security.FrameMac.LANE_URGENT, ctx.frameEncryption());
        }
        if (resuming)
        {
            startMissingMap();
            return;
        }
        state = State.RECEIVING;
        lifecycle.phase(MigrationPhase.BULK);
    }

    private boolean sendHelloAck()
    {
        helloAckFlyweight.wrap(control.scratch(), 0);
        helloAckFlyweight.writeHeader(FrameType.HELLO_ACK, HelloAckFlyweight.LENGTH, migrationId);
        helloAckFlyweight
            .status(0)
            .targetVersion(FrameFlyweight.PROTOCOL_VERSION)
            .capabilities((ctx.postcopyEnabled() ? Capabilities.POSTCOPY : 0) |
                (null != auth ? Capabilities.AUTHENTICATED : 0) |
                (ctx.frameAuthentication() ? Capabilities.FRAME_MAC : 0) |
                (ctx.frameEncryption() ? Capabilities.FRAME_ENCRYPTION : 0))
            .echoTimestampNs(helloTimestampNs)
            .urgentPort(Integer.parseInt(ctx.urgentEndpoint().substring(ctx.urgentEndpoint().lastIndexOf(':') + 1)))
            .proof(targetNonce, targetTag);
        return control.offer(HelloAckFlyweight.LENGTH) == FramePublisher.SENT;
    }

    private void onPage(final DirectBuffer buffer, final int offset, final int length)
    {
        final long completedPage = pageApplier.apply(buffer, offset, length, round, postcopy ? present : null);
        if (completedPage == PageApplier.SKIPPED)
        {
            duplicatesCounter.incrementOrdered();
            return;
        }
        pageFramesCounter.incrementOrdered();
        roundPageFrames++;
        totalPageFrames++;
        if (completedPage >= 0)
        {
            pagesByEncoding[buffer.getByte(offset + PageFlyweight.ENCODING_OFFSET) & 3]++;
            roundPages++;
            if (received.set(completedPage))
            {
                pagesReceivedCount++;
            }
            if (present.set(completedPage) && postcopy)
            {
                onPostcopyPageArrived();
            }
        }
    }

    private void onPostcopyPageArrived()
    {
        if (--postcopyRemaining == 0)
        {
            postcopyEndNs = nowNs;
            state = State.SEND_COMPLETE;
        }
    }

    private void onZeroRun(final DirectBuffer buffer, final int offset, final int length)
    {
        zeroRunFlyweight.wrapForRead(buffer, offset);
        zeroRunFlyweight.validate(length, pageCount);
        if (zeroRunFlyweight.round() != round)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "round=" + zeroRunFlyweight.round() +
                " in ZERO_RUN frame, current round is " + round);
        }
        final long first = zeroRunFlyweight.firstPageIndex();
        final long count = zeroRunFlyweight.pageCount();
        if (postcopy)
        {
            for (long pageIndex = first, end = first + count; pageIndex < end; pageIndex++)
            {
                // Only missing pages: a present one may have been written by the running guest since.
                if (!present.get(pageIndex))
                {
                    UnsafeApi.setMemory(memory.pageAddress(pageIndex), pageSize, (byte)0);
                    received.set(pageIndex);
                    present.set(pageIndex);
                    zeroPages++;
                    zeroPagesCounter.incrementOrdered();
                    onPostcopyPageArrived();
                }
                else
                {
                    duplicatesCounter.incrementOrdered();
                }
            }
            return;
        }
        final boolean zeroed = ctx.memoryZeroed();
        for (long pageIndex = first, end = first + count; pageIndex < end; pageIndex++)
        {
            // Fresh memory is already zero; a page that held data before must be cleared.
            if (!zeroed || received.get(pageIndex))
            {
                UnsafeApi.setMemory(memory.pageAddress(pageIndex), pageSize, (byte)0);
            }
        }
        pagesReceivedCount += received.setRange(first, count);
        for (long pageIndex = first, end = first + count; pageIndex < end; pageIndex++)
        {
            present.set(pageIndex);
        }
        zeroPages += count;
        roundPages += count;
        zeroPagesCounter.getAndAddOrdered(count);
    }

    private void onRoundEnd(final DirectBuffer buffer, final int offset, final int length)
    {
        roundEndFlyweight.wrapForRead(buffer, offset);
        roundEndFlyweight.validate(length);
        if (roundEndFlyweight.round() != round)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "round=" + roundEndFlyweight.round() + " in ROUND_END frame, current round is " + round);
        }
        if (roundEndFlyweight.pageFrames() != roundPageFrames || roundEndFlyweight.pages() != roundPages)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "round " + round + " ended with pageFrames=" +
                roundEndFlyweight.pageFrames() + " pages=" + roundEndFlyweight.pages() + " but " + roundPageFrames +
                " frames and " + roundPages + " pages arrived");
        }
        round++;
        roundPageFrames = 0;
        roundPages = 0;
        lifecycle.phase(MigrationPhase.ITERATE);
    }

    private void onDeviceState(final DirectBuffer buffer, final int offset, final int length)
    {
        deviceStateFlyweight.wrapForRead(buffer, offset);
        deviceStateFlyweight.validate(length, ctx.maxDeviceStateBytes(), deviceStateReceived);
        final int total = deviceStateFlyweight.totalLength();
        if (null == deviceStateBuffer)
        {
            // Allocated once, bounded by maxDeviceStateBytes which validate() enforced.
            deviceStateBuffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(Math.max(total, 64), 64), 0, total);
            lifecycle.phase(MigrationPhase.STOP_AND_COPY);
        }
        else if (total != deviceStateBuffer.capacity())
        {
            throw new MigrationException(ErrorCode.DEVICE_STATE_FAILED,
                "totalLength=" + total + " changed from " + deviceStateBuffer.capacity() + " mid-transfer");
        }
        final int chunkLength = deviceStateFlyweight.chunkLength();
        deviceStateBuffer.putBytes(deviceStateReceived, buffer, offset + DeviceStateFlyweight.DATA_OFFSET, chunkLength);
        deviceStateReceived += chunkLength;
    }

    private void onSwitchover(final DirectBuffer buffer, final int offset, final int length)
    {
        switchoverFlyweight.wrapForRead(buffer, offset);
        switchoverFlyweight.validate(length);
        if (switchoverFlyweight.finalRound() != round - 1)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "finalRound=" +
                switchoverFlyweight.finalRound() + " in SWITCHOVER frame, last round ended was " + (round - 1));
        }
        final int stateLength = switchoverFlyweight.deviceStateLength();
        if (stateLength != deviceStateReceived)
        {
            throw new MigrationException(ErrorCode.DEVICE_STATE_FAILED,
                "deviceStateLength=" + stateLength + " in SWITCHOVER frame, " + deviceStateReceived + " bytes arrived");
        }
        final int stateChecksum = stateLength == 0 ? 0 : Checksums.crc32c(deviceStateBuffer, 0, stateLength);
        if (stateChecksum != switchoverFlyweight.deviceStateChecksum())
        {
            throw new MigrationException(ErrorCode.CHECKSUM_MISMATCH, "device state CRC32C 0x" +
                Integer.toHexString(stateChecksum) + ", SWITCHOVER frame says 0x" +
                Integer.toHexString(switchoverFlyweight.deviceStateChecksum()));
        }
        if (switchoverFlyweight.totalPageFrames() != totalPageFrames)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "totalPageFrames=" +
                switchoverFlyweight.totalPageFrames() + " in SWITCHOVER frame, " + totalPageFrames + " arrived");
        }
        final boolean toPostcopy = switchoverFlyweight.mode() == SwitchoverFlyweight.MODE_POSTCOPY;
        if (toPostcopy)
        {
            checkPostcopySwitchover();
        }
        else
        {
            final long missing = pageCount - received.cardinality();
            if (missing != 0)
            {
                throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                    "SWITCHOVER with " + missing + " pages never received");
            }
        }

        try
        {
            deviceState.restore(null == deviceStateBuffer ? new UnsafeBuffer(new byte[0]) : deviceStateBuffer, 0,
                stateLength);
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.DEVICE_STATE_FAILED, "deviceState.restore: " + ex, ex);
        }
        if (toPostcopy)
        {
            startPostcopy();
        }
        else
        {
            state = State.SEND_COMPLETE;
        }
    }

    private void checkPostcopySwitchover()
    {
        if (!ctx.postcopyEnabled())
        {
            throw new MigrationException(ErrorCode.MISSING_CAPABILITY,
                "SWITCHOVER to post-copy, but this target did not enable post-copy");
        }
        if (null == pending || !pendingMapDone)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "SWITCHOVER to post-copy without a complete PENDING_MAP before it");
        }
        final long pendingPages = pending.cardinality();
        if (pendingPages != switchoverFlyweight.pendingPages())
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "pendingPages=" +
                switchoverFlyweight.pendingPages() + " in SWITCHOVER frame, PENDING_MAP named " + pendingPages);
        }
        final long[] receivedWords = received.words();
        final long[] pendingWords = pending.words();
        long neither = 0;
        for (int w = 0; w < receivedWords.length; w++)
        {
            neither += Long.bitCount(~receivedWords[w] & ~pendingWords[w]);
        }
        neither -= (long)receivedWords.length * 64 - pageCount; // bits past the last page
        if (neither != 0)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "SWITCHOVER to post-copy with " + neither + " pages neither received nor pending");
        }
    }

    private void startPostcopy()
    {
        final long[] receivedWords = received.words();
        final long[] pendingWords = pending.words();
        for (int w = 0; w < receivedWords.length; w++)
        {
            present.setWord(w, receivedWords[w] & ~pendingWords[w]);
        }
        postcopy = true;
        postcopyRemaining = pending.cardinality();
        postcopyStartNs = nowNs;
        faults.requestPublication(requestPublication, migrationId);
        state = State.POSTCOPY;
        lifecycle.phase(MigrationPhase.POSTCOPY);
        // Tell the source at once that the guest runs here: it measures the downtime up to this frame.
        heartbeat.guestRunning(true);
        heartbeat.sendNow(control, migrationId, pagesReceivedCount, nowNs);
        readyToRun.complete(MigrationPhase.POSTCOPY);
        if (postcopyRemaining == 0)
        {
            postcopyEndNs = nowNs;
            state = State.SEND_COMPLETE;
        }
    }

    private void captureFaults()
    {
        if (postcopy && faultCount == 0)
        {
            final Histogram h = faults.histogram();
            faultCount = h.getTotalCount();
            faultP50Us = h.getValueAtPercentile(50) / 1000;
            faultP99Us = h.getValueAtPercentile(99) / 1000;
            faultMaxUs = h.getMaxValue() / 1000;
        }
    }

    private void onPendingMap(final DirectBuffer buffer, final int offset, final int length)
    {
        if (pendingMapDone)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "PENDING_MAP after the map's last chunk");
        }
        pageMapFlyweight.wrapForRead(buffer, offset);
        pageMapFlyweight.validate(length, pageCount, pendingMapNextWord);
        if (null == pending)
        {
            pending = new PageBitmap(pageCount);
        }
        final long[] words = pending.words();
        final int first = pageMapFlyweight.firstWord();
        final int count = pageMapFlyweight.wordCount();
        for (int i = 0; i < count; i++)
        {
            words[first + i] = pageMapFlyweight.word(i);
        }
        pendingMapNextWord = first + count;
        pendingMapDone = pageMapFlyweight.isLast();
    }

    private int sendMissingMap()
    {
        int work = 0;
        while (true)
        {
            final int length = pageMapWriter.prepare(
                control.scratch(), FrameType.MISSING_MAP, migrationId, control.maxFrameLength());
            final int outcome = control.offer(length);
            if (outcome == FramePublisher.CLOSED)
            {
                enterRecovery("control stream closed while sending the missing-page map");
                return 1;
            }
            if (outcome != FramePublisher.SENT)
            {
                return work;
            }
            work++;
            if (pageMapWriter.onSent())
            {
                break;
            }
        }
        // Resumed: requests flow again (waiting faults repeat theirs), and the source pushes what we lack.
        resuming = false;
        recoveries++;
        recoveriesCounter.incrementOrdered();
        faults.requestPublication(requestPublication, migrationId);
        lastFrameNs = nowNs;
        state = postcopyRemaining == 0 ? State.SEND_COMPLETE : State.POSTCOPY;
        return work;
    }

    private long missingWord(final int w)
    {
        long missing = ~present.word(w);
        final long bitsPast = ((long)(w + 1) << 6) - pageCount;
        if (bitsPast > 0)
        {
            missing &= -1L >>> bitsPast;
        }
        return missing;
    }

    private void onUrgentFragment(
        final DirectBuffer termBuffer, final int termOffset, final int taggedLength, final Header header)
    {
        DirectBuffer buffer = termBuffer;
        int offset = termOffset;
        if (state != State.POSTCOPY)
        {
            return;
        }
        int length = taggedLength;
        try
        {
            if ((header.flags() & FrameDescriptor.UNFRAGMENTED) != FrameDescriptor.UNFRAGMENTED)
            {
                throw new MigrationException(ErrorCode.MALFORMED_FRAME,
                    "fragmented message of " + length + " bytes on the urgent lane");
            }
            if (ctx.frameAuthentication())
            {
                if (null == urgentVerifier || !urgentVerifier.verify(buffer, offset, taggedLength))
                {
                    foreignCounter.incrementOrdered(); // not from our source: the urgent lane is not pinned
                    return;
                }
                length = taggedLength - io.pagestream.security.FrameMac.TAG_LENGTH;
                if (urgentVerifier.encrypts())
                {
                    buffer = urgentVerifier.plaintext();
                    offset = 0;
                }
            }
            headerFlyweight.wrapForRead(buffer, offset);
            headerFlyweight.validateHeader(length);
            if (headerFlyweight.sessionId() != migrationId)
            {
                foreignCounter.incrementOrdered();
                return;
            }
            lastFrameNs = nowNs;
            bytesCounter.getAndAddOrdered(length);
            final int type = headerFlyweight.type();
            if (type == FrameType.PAGE)
            {
                onPage(buffer, offset, length);
            }
            else if (type == FrameType.ZERO_RUN)
            {
                onZeroRun(buffer, offset, length);
            }
            else
            {
                throw new MigrationException(ErrorCode.UNKNOWN_FRAME_TYPE,
                    "type=" + type + " (" + FrameType.name(type) + ") on the urgent lane, which carries pages only");
            }
        }
        catch (final MigrationException ex)
        {
            badFramesCounter.incrementOrdered();
            fail(ex.errorCode(), ex.getMessage());
        }
        catch (final RuntimeException ex)
        {
            errorHandler.onError(ex);
            fail(ErrorCode.INTERNAL, "unexpected " + ex + " while handling an urgent frame");
        }
    }

    private int sendComplete()
    {
        completeFlyweight.wrap(control.scratch(), 0);
        completeFlyweight.writeHeader(FrameType.COMPLETE, CompleteFlyweight.LENGTH, migrationId);
        captureFaults();
        completeFlyweight.pagesReceived(pagesReceivedCount).pageFramesReceived(totalPageFrames)
            .faults(faultCount, faultP50Us, faultP99Us, faultMaxUs);
        if (null == control)
        {
            return 0; // Reconnecting: COMPLETE goes out on the new control stream.
        }
        final int outcome = control.offer(CompleteFlyweight.LENGTH);
        if (outcome == FramePublisher.RETRY)
        {
            return 0;
        }
        if (outcome == FramePublisher.CLOSED)
        {
            if (postcopy)
            {
                // Every page is here, so the guest is safe; the source only misses the news.
                lifecycle.decide(report(MigrationResult.COMPLETED, "completed; the control stream closed before " +
                    "COMPLETE reached the source", null));
                finish();
                return 1;
            }
            failWithoutReply(ErrorCode.PEER_LOST, "control stream closed before COMPLETE could be sent");
            return 1;
        }
        if (!postcopy)
        {
            // Ready, not done: the guest resumes here only on the source's COMMIT (two-phase switchover).
            lastFrameNs = nowNs;
            state = State.AWAIT_COMMIT;
            return 1;
        }
        lifecycle.decide(report(MigrationResult.COMPLETED, "completed", null));
        finish();
        return 1;
    }

    private void onCommit(final DirectBuffer buffer, final int offset, final int length)
    {
        commitFlyweight.wrapForRead(buffer, offset);
        commitFlyweight.validate(length);
        if (state != State.AWAIT_COMMIT)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "COMMIT in state " + state +
                ", before this target reported COMPLETE");
        }
        lifecycle.decide(report(MigrationResult.COMPLETED, "completed", null));
        finish();
    }

    private void fail(final ErrorCode code, final String reason)
    {
        if (state == State.DONE || state == State.FAILING)
        {
            return;
        }
        end(code, reason);
        if (null != control && controlPublication.isConnected())
        {
            lifecycle.notifyPeer(code, reason, System.nanoTime() + ERROR_DELIVERY_NS);
            state = State.FAILING;
            deliverError();
        }
        else
        {
            finish();
        }
    }

    private void failWithoutReply(final ErrorCode code, final String reason)
    {
        if (state == State.DONE || state == State.FAILING)
        {
            return;
        }
        end(code, reason);
        finish();
    }

    private void end(final ErrorCode code, final String reason)
    {
        if (postcopy)
        {
            // The guest ran here on the promise of pages that will not come: every fault from now on throws.
            final String lost = "post-copy failed with " + postcopyRemaining + " pages missing: " + reason;
            faults.guestLost(lost);
            captureFaults();
            lifecycle.decide(report(MigrationResult.FAILED, lost, ErrorCode.GUEST_LOST));
            return;
        }
        lifecycle.decide(report(
            code == ErrorCode.CANCELLED ? MigrationResult.CANCELLED : MigrationResult.FAILED, reason, code));
    }

    private int deliverError()
    {
        if (lifecycle.deliverError(control, migrationId, System.nanoTime()))
        {
            finish();
            return 1;
        }
        return 0;
    }

    private void finish()
    {
        state = State.DONE;
        if (!readyToRun.isDone())
        {
            readyToRun.complete(lifecycle.phase());
        }
        lifecycle.complete();
    }

    private MigrationReport report(final MigrationResult result, final String reason, final ErrorCode code)
    {
        return new MigrationReport.Builder()
            .result(result)
            .reason(reason)
            .errorCode(code)
            .mode(!postcopy ? MigrationMode.PRECOPY : round > 1 ? MigrationMode.HYBRID : MigrationMode.POSTCOPY)
            .guestBytes(memory.sizeBytes())
            .pageSize(pageSize)
            .totalTimeMs(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs))
            .rounds(Math.max(0, round - 1))
            .switchRound(postcopy || result == MigrationResult.COMPLETED ? round - 1 : -1)
            .postcopyMs(postcopy ? TimeUnit.NANOSECONDS.toMillis((postcopyEndNs > 0 ? postcopyEndNs : nowNs) -
                postcopyStartNs) : 0)
            .faults(faultCount, faultP50Us, faultP99Us, faultMaxUs)
            .recoveries(recoveries)
            .pagesSent(pagesByEncoding[1] + pagesByEncoding[2] + pagesByEncoding[3] + zeroPages)
            .bytesOnWire(bytesCounter.get())
            .pagesByEncoding(zeroPages, pagesByEncoding[PageEncoding.DELTA.code()],
                pagesByEncoding[PageEncoding.LZ4.code()], pagesByEncoding[PageEncoding.RAW.code()])
            .deviceStateBytes(deviceStateReceived)
            .build();
    }
}
