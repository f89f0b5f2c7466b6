package io.pagestream.source;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.Header;
import io.pagestream.api.Compression;
import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationProgress;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.DirtyPageLog;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.VcpuControl;
import io.pagestream.api.policy.MigrationDecision;
import io.pagestream.api.policy.MigrationPolicy;
import io.pagestream.codec.Checksums;
import io.pagestream.codec.ZeroPages;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.CompleteFlyweight;
import io.pagestream.protocol.PageMapFlyweight;
import io.pagestream.protocol.PageMapWriter;
import io.pagestream.protocol.PageRequestFlyweight;
import io.pagestream.protocol.DeviceStateFlyweight;
import io.pagestream.protocol.ErrorFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.RoundEndFlyweight;
import io.pagestream.protocol.StatusFlyweight;
import io.pagestream.protocol.SwitchoverFlyweight;
import io.pagestream.protocol.ZeroRunFlyweight;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.status.Heartbeat;
import io.pagestream.status.MigrationLifecycle;
import io.pagestream.transport.BandwidthLimiter;
import io.pagestream.transport.Channels;
import io.pagestream.transport.FramePublisher;
import org.agrona.CloseHelper;
import org.agrona.collections.LongArrayQueue;
import org.agrona.DirectBuffer;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The source side of one migration as a single Agrona agent: handshake, bulk pass, iterative rounds, then either
 * stop-and-copy or post-copy, device state, switchover. Each {@link #doWork()} does a bounded amount of work and
 * returns.
 * <p>
 * Post-copy: the guest is paused here for good, the dirty set becomes the pending set and goes to the target as a
 * PENDING_MAP, then the device state and a post-copy SWITCHOVER; from that frame on the guest belongs to the target
 * and is never resumed here. Pages the target requests go out first on the urgent lane (their own publication and
 * stream); the background push holds back for {@code faultQuietUs} after each request; the rest are pushed on the data lane starting just after the latest fault (pre-paging). A silent target
 * starts a recovery: new publications (a new Aeron session), a resume hello, the target's MISSING_MAP becomes the
 * pending set, and pushing continues; it gives up after {@code recoveryTimeoutMs} with
 * {@link ErrorCode#GUEST_LOST}.
 * <p>
 * Threading: {@link #doWork()} runs on one thread (dedicated or the application's invoker). {@link #cancel()} and
 * {@link #progress()} may be called from any thread. One writer per field: the agent thread.
 */
public final class SourceAgent implements Agent, FragmentHandler
{
    private static final int PAGES_PER_WORK = 64;
    private static final int CONTROL_FRAGMENTS_PER_WORK = 16;
    private static final long HELLO_RESEND_NS = TimeUnit.MILLISECONDS.toNanos(250);
    private static final long PROGRESS_NS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long ERROR_DELIVERY_NS = TimeUnit.SECONDS.toNanos(1);
    private static final int URGENT_QUEUE_CAPACITY = 8192;
    private static final int URGENT_PAGES_PER_WORK = 16;
    private static final int POSTCOPY_PAGES_PER_POLL = 8;
    private static final int POSTCOPY_PAGES_PER_WORK = 64;

    enum State
    {
        CONNECTING, HELLO, SENDING, PENDING_MAP, DEVICE_STATE, SWITCHOVER, AWAIT_COMPLETE, POSTCOPY,
        RECOVER_CONNECT, RECOVER_HELLO, FAILING, DONE
    }

    private final MigrationSource.Context ctx;
    private final GuestMemory memory;
    private final DirtyPageLog dirtyLog;
    private final VcpuControl vcpus;
    private final DeviceState deviceState;
    private final MigrationPolicy policy;
    private final MigrationListener listener;
    private final ErrorHandler errorHandler;
    private final long migrationId;
    private final int pageSize;
    private final long pageCount;
    private final Aeron aeron;
    private ExclusivePublication dataPublication;
    private ExclusivePublication urgentPublication;
    private final Subscription controlSubscription;
    private FramePublisher frames;
    private FramePublisher urgentFrames;
    private final PageSender pageSender;
    private final PageSender urgentSender;
    private final LongArrayQueue urgentQueue = new LongArrayQueue(URGENT_QUEUE_CAPACITY, -1);
    private final PageRequestFlyweight pageRequestFlyweight = new PageRequestFlyweight();
    private final PageMapFlyweight pageMapFlyweight = new PageMapFlyweight();
    private final PageMapWriter pageMapWriter = new PageMapWriter();
    private final io.pagestream.protocol.CommitFlyweight commitFlyweight = new io.pagestream.protocol.CommitFlyweight();
    private final AtomicCounter urgentPagesCounter;
    private final AtomicCounter postcopyPagesCounter;
    private final AtomicCounter requestsCounter;
    private final AtomicCounter recoveriesCounter;
    private final BandwidthLimiter limiter;
    private final MigrationCounters counters;
    private final AtomicCounter pagesSentCounter;
    private final AtomicCounter bytesSentCounter;
    private final AtomicCounter zeroPagesCounter;
    private final AtomicCounter rawPagesCounter;
    private final AtomicCounter roundsCounter;
    private final AtomicCounter rateLimitedCounter;
    private final AtomicCounter deltaPagesCounter;
    private final AtomicCounter lz4PagesCounter;
    private final AtomicCounter bytesSavedCounter;
    private final MigrationLifecycle lifecycle;

    private final FrameFlyweight headerFlyweight = new FrameFlyweight();
    private final HelloFlyweight helloFlyweight = new HelloFlyweight();
    private final HelloAckFlyweight helloAckFlyweight = new HelloAckFlyweight();
    private final ZeroRunFlyweight zeroRunFlyweight = new ZeroRunFlyweight();
    private final RoundEndFlyweight roundEndFlyweight = new RoundEndFlyweight();
    private final DeviceStateFlyweight deviceStateFlyweight = new DeviceStateFlyweight();
    private final SwitchoverFlyweight switchoverFlyweight = new SwitchoverFlyweight();
    private final CompleteFlyweight completeFlyweight = new CompleteFlyweight();
    private final ErrorFlyweight errorFlyweight = new ErrorFlyweight();
    private final StatusFlyweight statusFlyweight = new StatusFlyweight();
    private final Heartbeat heartbeat = new Heartbeat();

    private final PageBitmap toSend;
    private final PageBitmap dirty;
    private final RoundTracker tracker;

    private State state = State.CONNECTING;
    private volatile boolean cancelRequested;

    private final long startNs;
    private long nowNs;
    private long lastHelloNs;
    private long lastPeerFrameNs;
    private long lastProgressNs;
    private long pauseNs;
    private long downtimeNs;
    private boolean tracking;
    private boolean paused;
    private boolean throttled;
    private boolean handshakeDone;

    private int round;
    private long cursor;
    private long currentPage = -1;
    private boolean currentPageZero;
    private long zeroRunStart;
    private long zeroRunLength;
    private long totalPageFrames;
    private long roundPagesPlanned;

    private DirectBuffer deviceStateBuffer;
    private int deviceStateLength;
    private int deviceStateChecksum;
    private int deviceStateSent;

    private boolean postcopyAvailable;
    private boolean committed;
    private boolean targetRunning;
    private int switchRound = -1;
    private long postcopyStartNs;
    private long postcopyPagesRemaining;
    private int missingMapNextWord;
    private boolean resumeAcked;
    private final io.pagestream.security.HandshakeAuthenticator auth;
    private final byte[] sourceNonce = io.pagestream.security.HandshakeAuthenticator.newNonce();
    private final byte[] targetNonce = new byte[HelloFlyweight.NONCE_LENGTH];
    private final byte[] targetTag = new byte[HelloAckFlyweight.TAG_LENGTH];
    private final io.pagestream.protocol.AuthFlyweight authFlyweight = new io.pagestream.protocol.AuthFlyweight();
    private String urgentChannel;
    private byte[] frameKey;
    private io.pagestream.security.FrameMac controlVerifier;
    private io.pagestream.security.FrameMac requestVerifier;
    private long lastRequestNs;
    private final long faultQuietNs;
    private long retiredBytesSent;
    private long recoveryStartNs;
    private int recoveries;
    private double maxThrottle;
    private volatile String lastDecision = "";
    private long faultCount;
    private long faultP50Us;
    private long faultP99Us;
    private long faultMaxUs;


    private volatile int progressRound;
    private volatile long progressPagesRemaining;
    private volatile double progressRate;
    private volatile double progressExpectedDowntimeMs;
    private volatile double progressDirtyRate;
    private volatile double vcpuThrottle;
    private long rateWindowStartNs;
    private long rateWindowStartBytes;

    /**
     * @param ctx                 concluded context.
     * @param aeron               client, for new publications after a post-copy reconnection.
     * @param dataPublication     data stream to the target.
     * @param controlSubscription control stream from the target.
     * @param counters            source counters.
     * @param completion          completed with the report at the end.
     * @param nowNs               current time.
     */
    public SourceAgent(
        final MigrationSource.Context ctx,
        final Aeron aeron,
        final ExclusivePublication dataPublication,
        final Subscription controlSubscription,
        final MigrationCounters counters,
        final CompletableFuture<MigrationReport> completion,
        final long nowNs)
    {
        this.ctx = ctx;
        this.memory = ctx.guestMemory();
        this.dirtyLog = ctx.dirtyPageLog();
        this.vcpus = ctx.vcpuControl();
        this.deviceState = ctx.deviceState();
        this.policy = ctx.policy();
        this.listener = ctx.listener();
        this.errorHandler = ctx.errorHandler();
        this.migrationId = ctx.migrationId();
        this.pageSize = memory.pageSize();
        this.pageCount = memory.pageCount();
        this.aeron = aeron;
        this.faultQuietNs = TimeUnit.MICROSECONDS.toNanos(ctx.faultQuietUs());
        this.auth = null == ctx.secretKey() ? null : new io.pagestream.security.HandshakeAuthenticator(ctx.secretKey());
        this.dataPublication = dataPublication;
        this.controlSubscription = controlSubscription;
        this.counters = counters;
        this.lifecycle = new MigrationLifecycle(listener, errorHandler, completion);
        this.frames = new FramePublisher(
            dataPublication, counters.get(CounterType.BACK_PRESSURE), counters.get(CounterType.ADMIN_ACTIONS));
        this.limiter = new BandwidthLimiter(ctx.maxBandwidthBytesPerSec(),
            PageFlyweight.PAYLOAD_OFFSET + PageSender.chunkLength(pageSize, frames.maxFrameLength()), nowNs);
        this.pagesSentCounter = counters.get(CounterType.PAGES_SENT);
        this.bytesSentCounter = counters.get(CounterType.BYTES_SENT);
        this.zeroPagesCounter = counters.get(CounterType.ZERO_PAGES_SENT);
        this.rawPagesCounter = counters.get(CounterType.RAW_PAGES_SENT);
        this.roundsCounter = counters.get(CounterType.ROUNDS);
        this.rateLimitedCounter = counters.get(CounterType.RATE_LIMITED);
        this.deltaPagesCounter = counters.get(CounterType.DELTA_PAGES_SENT);
        this.lz4PagesCounter = counters.get(CounterType.LZ4_PAGES_SENT);
        this.bytesSavedCounter = counters.get(CounterType.BYTES_SAVED);
        this.urgentPagesCounter = counters.get(CounterType.URGENT_PAGES_SENT);
        this.postcopyPagesCounter = counters.get(CounterType.POSTCOPY_PAGES_SENT);
        this.requestsCounter = counters.get(CounterType.PAGE_REQUESTS_RECEIVED);
        this.recoveriesCounter = counters.get(CounterType.RECOVERIES);
        this.urgentSender = new PageSender(frames, memory, migrationId, limiter, null, null,
            new EncodingChooser(Compression.NONE, pageSize, ctx.maxBandwidthBytesPerSec(), nowNs)).urgent();
        final boolean deltaAllowed = ctx.compression() == Compression.AUTO || ctx.compression() == Compression.DELTA;
        this.pageSender = new PageSender(frames, memory, migrationId, limiter, rateLimitedCounter,
            deltaAllowed ? new PageCache(ctx.pageCacheBytes(), pageSize, pageCount, ctx.pageCachePolicy()) : null,
            new EncodingChooser(ctx.compression(), pageSize, ctx.maxBandwidthBytesPerSec(), nowNs));
        this.toSend = new PageBitmap(pageCount);
        this.dirty = new PageBitmap(pageCount);
        // The migration clock starts once the agent is built: allocating the page cache and priming the chooser are
        // launch work, reported by the caller as such, alike for every compression setting.
        final long builtNs = Math.max(nowNs, System.nanoTime());
        this.tracker = new RoundTracker(builtNs, PageFlyweight.PAYLOAD_OFFSET + pageSize);
        this.startNs = builtNs;
        this.nowNs = builtNs;
        this.rateWindowStartNs = builtNs;
    }

    /** {@inheritDoc} */
    public String roleName()
    {
        return "pagestream-source";
    }

    /**
     * Ask the agent to cancel at its next duty cycle. Any thread.
     */
    public void cancel()
    {
        cancelRequested = true;
    }

    /**
     * @return the current phase. Any thread.
     */
    public MigrationPhase phase()
    {
        return lifecycle.phase();
    }

    /**
     * @return a progress snapshot. Any thread.
     */
    public MigrationProgress progress()
    {
        return new MigrationProgress(
            lifecycle.phase(),
            progressRound,
            progressPagesRemaining,
            pagesSentCounter.get(),
            bytesSentCounter.get(),
            progressRate,
            progressExpectedDowntimeMs,
            progressDirtyRate,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs),
            vcpuThrottle,
            lastDecision);
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
            work += controlSubscription.poll(this, CONTROL_FRAGMENTS_PER_WORK);
            work += checkConditions();
            switch (state)
            {
                case CONNECTING:
                    work += connect();
                    break;
                case HELLO:
                    work += resendHello();
                    break;
                case SENDING:
                    work += sendPages(PAGES_PER_WORK);
                    break;
                case DEVICE_STATE:
                    work += sendDeviceState();
                    break;
                case SWITCHOVER:
                    work += sendSwitchover();
                    break;
                case PENDING_MAP:
                    work += sendPendingMap();
                    break;
                case AWAIT_COMPLETE:
                    break;
                case POSTCOPY:
                    // Look for requests between every few bulk pages, so a fault never waits behind a long batch.
                    for (int i = 0; i < POSTCOPY_PAGES_PER_WORK / POSTCOPY_PAGES_PER_POLL && state == State.POSTCOPY; i++)
                    {
                        if (i > 0)
                        {
                            work += controlSubscription.poll(this, CONTROL_FRAGMENTS_PER_WORK);
                        }
                        work += sendUrgentPages();
                        if (nowNs - lastRequestNs < faultQuietNs)
                        {
                            break; // A fault is being served: keep the pipeline clear for its page.
                        }
                        final int sent = sendPages(POSTCOPY_PAGES_PER_POLL);
                        work += sent;
                        if (sent == 0)
                        {
                            break;
                        }
                    }
                    break;
                case RECOVER_CONNECT:
                    work += recoverConnect();
                    break;
                case RECOVER_HELLO:
                    work += resendResumeHello(); // urgent pages wait for the resumed, authenticated sessions
                    break;
                case FAILING:
                    work += deliverError();
                    break;
                default:
                    break;
            }
            if (state.ordinal() >= State.SENDING.ordinal() && state.ordinal() <= State.POSTCOPY.ordinal())
            {
                heartbeat.sendIfDue(frames, migrationId, 0, nowNs);
            }
            updateProgress();
        }
        catch (final MigrationException ex)
        {
            if (committed && ex.errorCode() == ErrorCode.PEER_LOST && state.ordinal() < State.FAILING.ordinal())
            {
                enterRecovery(ex.getMessage());
            }
            else
            {
                fail(ex.errorCode(), ex.getMessage(), true);
            }
        }
        catch (final Throwable t)
        {
            errorHandler.onError(t);
            fail(ErrorCode.INTERNAL, "unexpected " + t, true);
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
                fail(ErrorCode.CANCELLED, "source closed before the migration ended", true);
            }
            if (state != State.DONE)
            {
                lifecycle.deliverError(frames, migrationId, Long.MAX_VALUE);
                finish();
            }
        }
        // Publications made by a recovery are ours; closing the launch-time ones again is harmless.
        CloseHelper.quietCloseAll(urgentPublication, dataPublication);
    }

    private int checkConditions()
    {
        if (cancelRequested && state.ordinal() < State.AWAIT_COMPLETE.ordinal() && !committed)
        {
            fail(ErrorCode.CANCELLED, "cancelled by the source application in phase " + lifecycle.phase(), true);
            return 1;
        }
        if (committed)
        {
            return checkPostcopyConditions();
        }
        if (handshakeDone && state.ordinal() < State.FAILING.ordinal() &&
            nowNs - lastPeerFrameNs > TimeUnit.MILLISECONDS.toNanos(ctx.peerTimeoutMs()))
        {
            fail(ErrorCode.PEER_LOST, "no frame from the target for " +
                TimeUnit.NANOSECONDS.toMillis(nowNs - lastPeerFrameNs) + " ms (peerTimeoutMs=" +
                ctx.peerTimeoutMs() + ")", false);
            return 1;
        }
        if (paused && state.ordinal() < State.FAILING.ordinal() &&
            nowNs - pauseNs > TimeUnit.MILLISECONDS.toNanos(ctx.switchoverTimeoutMs()))
        {
            fail(ErrorCode.TIMEOUT, "no acknowledgement from the target within switchoverTimeoutMs=" +
                ctx.switchoverTimeoutMs() + " of pausing the guest", true);
            return 1;
        }
        return 0;
    }

    private int checkPostcopyConditions()
    {
        if ((state == State.POSTCOPY || (state == State.RECOVER_HELLO && resumeAcked)) &&
            nowNs - lastPeerFrameNs > TimeUnit.MILLISECONDS.toNanos(ctx.peerTimeoutMs()))
        {
            // Also when a resume stalls half-way (the link died again): start over on fresh sessions.
            enterRecovery("no frame from the target for " + TimeUnit.NANOSECONDS.toMillis(nowNs - lastPeerFrameNs) +
                " ms in post-copy");
            return 1;
        }
        if ((state == State.RECOVER_CONNECT || state == State.RECOVER_HELLO) &&
            nowNs - recoveryStartNs > TimeUnit.MILLISECONDS.toNanos(ctx.recoveryTimeoutMs()))
        {
            fail(ErrorCode.GUEST_LOST, "the target did not come back within recoveryTimeoutMs=" +
                ctx.recoveryTimeoutMs() + " of losing it in post-copy", false);
            return 1;
        }
        return 0;
    }

    private int connect()
    {
        if (dataPublication.isConnected())
        {
            sendHello();
            state = State.HELLO;
            return 1;
        }
        if (nowNs - startNs > TimeUnit.MILLISECONDS.toNanos(ctx.connectTimeoutMs()))
        {
            fail(ErrorCode.TARGET_UNREACHABLE, "no target connected at " + ctx.targetEndpoint() + " stream " +
                ctx.dataStreamId() + " within connectTimeoutMs=" + ctx.connectTimeoutMs(), false);
            return 1;
        }
        return 0;
    }

    private int resendHello()
    {
        if (nowNs - startNs > TimeUnit.MILLISECONDS.toNanos(ctx.connectTimeoutMs()))
        {
            fail(ErrorCode.TARGET_UNREACHABLE, "target at " + ctx.targetEndpoint() +
                " did not answer the hello within connectTimeoutMs=" + ctx.connectTimeoutMs() +
                " (is its control path to " + ctx.controlEndpoint() + " open? does it speak protocol version " +
                FrameFlyweight.PROTOCOL_VERSION + "? a target refuses hellos of other versions)", false);
            return 1;
        }
        if (nowNs - lastHelloNs > HELLO_RESEND_NS)
        {
            sendHello();
            return 1;
        }
        return 0;
    }

    private void sendHello()
    {
        final int regions = memory.regionCount();
        final String endpoint = ctx.controlEndpoint();
        final int length = HelloFlyweight.frameLength(regions, endpoint.length());
        helloFlyweight.wrap(frames.scratch(), 0);
        helloFlyweight.writeHeader(FrameType.HELLO, length, migrationId);
        helloFlyweight
            .pageSize(pageSize)
            .regionCount(regions)
            .pageCount(pageCount)
            .capabilities((ctx.postcopyAllowed() ? Capabilities.POSTCOPY : 0) |
                (committed ? Capabilities.RESUME : 0) | (null != auth ? Capabilities.AUTHENTICATED : 0) |
                (ctx.frameAuthentication() ? Capabilities.FRAME_MAC : 0) |
                (ctx.frameEncryption() ? Capabilities.FRAME_ENCRYPTION : 0))
            .timestampNs(nowNs)
            .controlStreamId(ctx.controlStreamId());
        helloFlyweight.nonce(sourceNonce);
        helloFlyweight.vmId(ctx.vmId());
        for (int i = 0; i < regions; i++)
        {
            helloFlyweight.regionLength(i, memory.regionLengthBytes(i));
        }
        helloFlyweight.controlEndpoint(endpoint);
        frames.offer(length);
        lastHelloNs = nowNs;
    }

    /**
     * Check the target's answer to our nonce, then answer its nonce with an AUTH frame ahead of every page.
     *
     * @return true if the target proved it holds the key and the AUTH frame went out.
     */
    private boolean authenticate(final long targetCapabilities)
    {
        handshakeDone = true; // from here a refusal is told to the target
        if ((targetCapabilities & Capabilities.AUTHENTICATED) == 0)
        {
            fail(ErrorCode.MISSING_CAPABILITY, "the target at " + ctx.targetEndpoint() + " holds no secret key " +
                "(capabilities=" + targetCapabilities + "); this source migrates to authenticated targets only", true);
            return false;
        }
        if (!targetProvedKey())
        {
            fail(ErrorCode.AUTHENTICATION_FAILED, "the target at " + ctx.targetEndpoint() + " failed " +
                "authentication: its HELLO_ACK tag does not match this source's secret key (the two sides hold " +
                "different keys?); the guest keeps running here", true);
            return false;
        }
        if (((targetCapabilities & Capabilities.FRAME_MAC) != 0) != ctx.frameAuthentication() ||
            ((targetCapabilities & Capabilities.FRAME_ENCRYPTION) != 0) != ctx.frameEncryption())
        {
            fail(ErrorCode.MISSING_CAPABILITY, "frame authentication/encryption differ: this source " +
                ctx.frameAuthentication() + "/" + ctx.frameEncryption() + ", the target at " + ctx.targetEndpoint() +
                " " + ((targetCapabilities & Capabilities.FRAME_MAC) != 0) + "/" +
                ((targetCapabilities & Capabilities.FRAME_ENCRYPTION) != 0) + "; both sides must choose the same",
                true);
            return false;
        }
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (true)
        {
            final int outcome = offerAuth();
            if (outcome == FramePublisher.SENT)
            {
                startFrameAuthentication();
                return true;
            }
            if (outcome == FramePublisher.CLOSED || System.nanoTime() > deadlineNs)
            {
                fail(ErrorCode.PEER_LOST, "could not send AUTH to the target at " + ctx.targetEndpoint(), false);
                return false;
            }
            Thread.onSpinWait();
        }
    }

    /**
     * A resuming target proves the key again over the fresh nonce of this resume hello, and is answered with AUTH;
     * a wrong answer is ignored (the resume hello is sent again), as it cannot come from our target.
     */
    private boolean resumeAuthenticated(final long targetCapabilities)
    {
        if ((targetCapabilities & Capabilities.AUTHENTICATED) == 0 || !targetProvedKey() ||
            offerAuth() != FramePublisher.SENT)
        {
            return false;
        }
        startFrameAuthentication(); // a fresh key for the new sessions
        return true;
    }

    /**
     * @return true if the HELLO_ACK just read answers our nonce under the secret key.
     */
    private boolean targetProvedKey()
    {
        helloAckFlyweight.getNonce(targetNonce);
        helloAckFlyweight.getTag(targetTag);
        return io.pagestream.security.HandshakeAuthenticator.matches(
            auth.targetTag(migrationId, sourceNonce, targetNonce), targetTag);
    }

    /**
     * Answer the target's nonce: an unsigned AUTH frame on the data stream, ahead of every page.
     *
     * @return the offer's outcome.
     */
    private int offerAuth()
    {
        authFlyweight.wrap(frames.scratch(), 0);
        authFlyweight.writeHeader(FrameType.AUTH, io.pagestream.protocol.AuthFlyweight.LENGTH, migrationId);
        authFlyweight.tag(auth.sourceTag(migrationId, sourceNonce, targetNonce));
        return frames.offer(io.pagestream.protocol.AuthFlyweight.LENGTH);
    }

    /**
     * With frame authentication, every frame from here on is signed (data stream, urgent lane) or verified (control
     * stream), under a key fresh for this handshake.
     */
    private void startFrameAuthentication()
    {
        if (!ctx.frameAuthentication())
        {
            return;
        }
        frameKey = auth.frameKey(migrationId, sourceNonce, targetNonce);
        frames.signer(new io.pagestream.security.FrameMac(frameKey, io.pagestream.security.FrameMac.LANE_DATA,
            ctx.frameEncryption()));
        if (null != urgentFrames)
        {
            urgentFrames.signer(
                new io.pagestream.security.FrameMac(frameKey, io.pagestream.security.FrameMac.LANE_URGENT,
                ctx.frameEncryption()));
        }
        controlVerifier = new io.pagestream.security.FrameMac(frameKey, io.pagestream.security.FrameMac.LANE_CONTROL,
            ctx.frameEncryption());
        requestVerifier = new io.pagestream.security.FrameMac(frameKey, io.pagestream.security.FrameMac.LANE_REQUEST);
    }

    private void openUrgentLane()
    {
        urgentPublication = aeron.addExclusivePublication(urgentChannel, ctx.urgentStreamId());
        urgentFrames = new FramePublisher(urgentPublication, null, null);
        if (null != frameKey && !committed)
        {
            urgentFrames.signer(
                new io.pagestream.security.FrameMac(frameKey, io.pagestream.security.FrameMac.LANE_URGENT,
                ctx.frameEncryption()));
        }
        urgentSender.retarget(urgentFrames);
    }

    private void onHelloAck(final long echoTimestampNs, final long targetCapabilities, final int urgentPort)
    {
        if (state == State.RECOVER_HELLO)
        {
            if (!resumeAcked && null != auth && !resumeAuthenticated(targetCapabilities))
            {
                return; // not our target, or an old answer: keep resending the resume hello
            }
            if (!resumeAcked)
            {
                // The target is back on a new session; its MISSING_MAP follows and becomes the pending set.
                resumeAcked = true;
                missingMapNextWord = 0;
                toSend.clearAll();
            }
            lastPeerFrameNs = nowNs;
            return;
        }
        if (state != State.HELLO)
        {
            return;
        }
        if (null != auth && !authenticate(targetCapabilities))
        {
            return;
        }
        postcopyAvailable = ctx.postcopyAllowed() && (targetCapabilities & Capabilities.POSTCOPY) != 0;
        if (postcopyAvailable)
        {
            // Its own channel, so its own sockets: a faulted page never waits behind bulk in a socket buffer.
            urgentChannel = Channels.dataPublication(Channels.urgentEndpoint(ctx.targetEndpoint(), urgentPort),
                ctx.mtuLength(), Channels.URGENT_TERM_LENGTH, ctx.socketBufferLength());
            openUrgentLane();
        }
        tracker.postcopyAvailable(postcopyAvailable);
        if (ctx.strategy() == io.pagestream.api.MigrationStrategy.POSTCOPY && !postcopyAvailable)
        {
            handshakeDone = true;
            fail(ErrorCode.MISSING_CAPABILITY, "strategy POSTCOPY, but the target at " + ctx.targetEndpoint() +
                " did not enable post-copy (MigrationTarget.Context.postcopyEnabled)", true);
            return;
        }
        handshakeDone = true;
        lastPeerFrameNs = nowNs;
        tracker.roundTripNs(Math.max(0, nowNs - echoTimestampNs));
        try
        {
            dirtyLog.startTracking();
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.HYPERVISOR_CALLBACK_FAILED, "dirtyPageLog.startTracking: " + ex, ex);
        }
        tracking = true;
        toSend.setAll();
        round = 0;
        beginRound(MigrationPhase.BULK);
        state = State.SENDING;
    }

    private void beginRound(final MigrationPhase roundPhase)
    {
        pageSender.chooser().onRoundBoundary(System.nanoTime());
        cursor = 0;
        currentPage = -1;
        roundPagesPlanned = toSend.cardinality();
        tracker.beginRound(round, nowNs);
        progressRound = round;
        lifecycle.phase(roundPhase);
    }

    private int sendPages(final int maxPages)
    {
        int work = 0;
        for (int i = 0; i < maxPages; i++)
        {
            if (currentPage < 0)
            {
                currentPage = toSend.takeNext(cursor);
                if (currentPage < 0 && committed && cursor > 0)
                {
                    cursor = 0; // Pre-paging started after a fault: wrap round to the pages before it.
                    currentPage = toSend.takeNext(0);
                }
                if (currentPage < 0)
                {
                    if (committed)
                    {
                        flushZeroRun(); // Everything pushed; wait for requests and COMPLETE.
                        return work;
                    }
                    return work + (flushZeroRun() ? endRound() : 0);
                }
                cursor = currentPage + 1;
                currentPageZero = ZeroPages.isZero(memory.pageAddress(currentPage), pageSize);
            }

            if (currentPageZero)
            {
                pageSender.onZeroPage(currentPage);
                if (zeroRunLength > 0 && zeroRunStart + zeroRunLength == currentPage)
                {
                    zeroRunLength++;
                }
                else
                {
                    if (!flushZeroRun())
                    {
                        break;
                    }
                    zeroRunStart = currentPage;
                    zeroRunLength = 1;
                }
                currentPage = -1;
                work++;
            }
            else
            {
                if (!flushZeroRun() || !sendDataPage())
                {
                    break;
                }
                currentPage = -1;
                work++;
            }
        }
        return work;
    }

    private boolean flushZeroRun()
    {
        if (zeroRunLength == 0)
        {
            return true;
        }
        final int length = ZeroRunFlyweight.LENGTH;
        if (!limiter.tryAcquire(length, nowNs))
        {
            rateLimitedCounter.incrementOrdered();
            return false;
        }
        zeroRunFlyweight.wrap(frames.scratch(), 0);
        zeroRunFlyweight.writeHeader(FrameType.ZERO_RUN, length, migrationId);
        zeroRunFlyweight.firstPageIndex(zeroRunStart).pageCount(zeroRunLength).round(round);
        final int outcome = frames.offer(length);
        if (outcome == FramePublisher.SENT)
        {
            tracker.onZeroRun(zeroRunLength, length);
            if (committed)
            {
                postcopyPagesCounter.getAndAddOrdered(zeroRunLength);
            }
            zeroPagesCounter.getAndAddOrdered(zeroRunLength);
            pagesSentCounter.getAndAddOrdered(zeroRunLength);
            bytesSentCounter.getAndAddOrdered(length);
            zeroRunLength = 0;
            return true;
        }
        onNotSent(outcome, length);
        return false;
    }

    private boolean sendDataPage()
    {
        if (!pageSender.send(currentPage, round, nowNs))
        {
            return false;
        }
        final int pageFrames = pageSender.lastPageFrames();
        final int pageBytes = pageSender.lastPageBytes();
        tracker.onDataPage(pageFrames, pageBytes);
        totalPageFrames += pageFrames;
        if (committed)
        {
            postcopyPagesCounter.incrementOrdered();
        }
        pagesSentCounter.incrementOrdered();
        bytesSentCounter.getAndAddOrdered(pageBytes);
        switch (pageSender.lastPageEncoding())
        {
            case DELTA:
                deltaPagesCounter.incrementOrdered();
                bytesSavedCounter.getAndAddOrdered(PageFlyweight.PAYLOAD_OFFSET + pageSize - pageBytes);
                break;
            case LZ4:
                lz4PagesCounter.incrementOrdered();
                bytesSavedCounter.getAndAddOrdered(PageFlyweight.PAYLOAD_OFFSET + pageSize - pageBytes);
                break;
            default:
                rawPagesCounter.incrementOrdered();
                break;
        }
        return true;
    }

    private void onNotSent(final int outcome, final int frameLength)
    {
        limiter.refund(frameLength);
        if (outcome == FramePublisher.CLOSED)
        {
            throw new MigrationException(ErrorCode.PEER_LOST, "data stream to " + ctx.targetEndpoint() +
                " closed or reached its maximum position");
        }
    }

    private int endRound()
    {
        final int length = RoundEndFlyweight.LENGTH;
        roundEndFlyweight.wrap(frames.scratch(), 0);
        roundEndFlyweight.writeHeader(FrameType.ROUND_END, length, migrationId);
        roundEndFlyweight.round(round).pageFrames(tracker.roundPageFrames()).pages(tracker.roundPages());
        final int outcome = frames.offer(length);
        if (outcome != FramePublisher.SENT)
        {
            onNotSent(outcome, 0);
            return 0;
        }
        bytesSentCounter.getAndAddOrdered(length);
        roundsCounter.incrementOrdered();

        if (lifecycle.phase() == MigrationPhase.STOP_AND_COPY)
        {
            tracker.endRound(nowNs, 0, 0);
            beginDeviceState();
            return 1;
        }

        final long newlyDirty = fetchDirtyLog();
        final long dirtyNow = dirty.cardinality();
        tracker.endRound(nowNs, newlyDirty < 0 ? dirtyNow : newlyDirty, dirtyNow);
        progressExpectedDowntimeMs = tracker.predictedDowntimeMs();
        progressDirtyRate = tracker.dirtyRatePagesPerSec();

        final MigrationDecision decision = policy.onRoundComplete(tracker);
        lastDecision = decision.toString();
        listener.onRoundComplete(tracker, decision);
        switch (decision.action())
        {
            case CONTINUE:
                nextRound(MigrationPhase.ITERATE);
                break;

            case THROTTLE:
                vcpus.throttle(decision.throttleFraction());
                throttled = decision.throttleFraction() > 0;
                vcpuThrottle = decision.throttleFraction();
                maxThrottle = Math.max(maxThrottle, vcpuThrottle);
                tracker.throttleFraction(vcpuThrottle);
                nextRound(MigrationPhase.ITERATE);
                break;

            case STOP_AND_COPY:
                pauseGuest();
                fetchDirtyLog();
                nextRound(MigrationPhase.STOP_AND_COPY);
                break;

            case POSTCOPY:
                if (!postcopyAvailable)
                {
                    fail(ErrorCode.MISSING_CAPABILITY, "the policy chose post-copy, but it is not available (source " +
                        "postcopyAllowed=" + ctx.postcopyAllowed() + ", target enabled it: false): " +
                        decision.reason(), true);
                    break;
                }
                beginPostcopy();
                break;

            case ABORT:
            default:
                fail(ErrorCode.NOT_CONVERGED, decision.reason(), true);
                break;
        }
        return 1;
    }

    private void beginPostcopy()
    {
        pauseGuest();
        fetchDirtyLog();
        stopTracking(); // The guest never runs here again unless the switchover fails before it is sent.
        switchRound = round;
        pageMapWriter.start(dirty.words());
        postcopyPagesRemaining = dirty.cardinality();
        lifecycle.phase(MigrationPhase.POSTCOPY);
        state = State.PENDING_MAP;
    }

    private int sendPendingMap()
    {
        int work = 0;
        while (true)
        {
            final int length = pageMapWriter.prepare(
                frames.scratch(), FrameType.PENDING_MAP, migrationId, frames.maxFrameLength());
            if (!limiter.tryAcquire(length, nowNs))
            {
                rateLimitedCounter.incrementOrdered();
                return work;
            }
            final int outcome = frames.offer(length);
            if (outcome != FramePublisher.SENT)
            {
                onNotSent(outcome, length);
                return work;
            }
            bytesSentCounter.getAndAddOrdered(length);
            work++;
            if (pageMapWriter.onSent())
            {
                break;
            }
        }
        beginDeviceState();
        return work;
    }

    private long fetchDirtyLog()
    {
        try
        {
            return dirtyLog.fetchAndClear(dirty.words());
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.HYPERVISOR_CALLBACK_FAILED, "dirtyPageLog.fetchAndClear: " + ex, ex);
        }
    }

    private void pauseGuest()
    {
        try
        {
            vcpus.pause();
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.HYPERVISOR_CALLBACK_FAILED, "vcpuControl.pause: " + ex, ex);
        }
        paused = true;
        pauseNs = System.nanoTime();
        nowNs = pauseNs;
    }

    private void nextRound(final MigrationPhase nextPhase)
    {
        toSend.swap(dirty);
        round++;
        beginRound(nextPhase);
    }

    private void beginDeviceState()
    {
        final DirectBuffer saved;
        try
        {
            saved = deviceState.save();
        }
        catch (final RuntimeException ex)
        {
            throw new MigrationException(ErrorCode.DEVICE_STATE_FAILED, "deviceState.save: " + ex, ex);
        }
        deviceStateBuffer = saved;
        deviceStateLength = null == saved ? 0 : saved.capacity();
        deviceStateChecksum = deviceStateLength == 0 ? 0 : Checksums.crc32c(saved, 0, deviceStateLength);
        deviceStateSent = 0;
        state = State.DEVICE_STATE;
    }

    private int sendDeviceState()
    {
        int work = 0;
        final int room = frames.maxFrameLength() - DeviceStateFlyweight.DATA_OFFSET;
        while (deviceStateSent < deviceStateLength)
        {
            final int length = Math.min(room, deviceStateLength - deviceStateSent);
            final int frameLength = DeviceStateFlyweight.DATA_OFFSET + length;
            if (!limiter.tryAcquire(frameLength, nowNs))
            {
                rateLimitedCounter.incrementOrdered();
                return work;
            }
            deviceStateFlyweight.wrap(frames.scratch(), 0);
            deviceStateFlyweight.writeHeader(FrameType.DEVICE_STATE, frameLength, migrationId);
            deviceStateFlyweight.totalLength(deviceStateLength).chunkOffset(deviceStateSent).chunkLength(length);
            final int outcome = frames.offer(
                DeviceStateFlyweight.DATA_OFFSET, deviceStateBuffer, deviceStateSent, length);
            if (outcome != FramePublisher.SENT)
            {
                onNotSent(outcome, frameLength);
                return work;
            }
            bytesSentCounter.getAndAddOrdered(frameLength);
            deviceStateSent += length;
            work++;
        }
        state = State.SWITCHOVER;
        return work + sendSwitchover();
    }

    private int sendSwitchover()
    {
        final int length = SwitchoverFlyweight.LENGTH;
        switchoverFlyweight.wrap(frames.scratch(), 0);
        switchoverFlyweight.writeHeader(FrameType.SWITCHOVER, length, migrationId);
        switchoverFlyweight
            .finalRound(round)
            .deviceStateLength(deviceStateLength)
            .deviceStateChecksum(deviceStateChecksum)
            .mode(switchRound >= 0 ? SwitchoverFlyweight.MODE_POSTCOPY : SwitchoverFlyweight.MODE_STOP_AND_COPY)
            .totalPageFrames(totalPageFrames)
            .pendingPages(switchRound >= 0 ? postcopyPagesRemaining : 0);
        final int outcome = frames.offer(length);
        if (outcome != FramePublisher.SENT)
        {
            onNotSent(outcome, 0);
            return 0;
        }
        bytesSentCounter.getAndAddOrdered(length);
        if (switchRound >= 0)
        {
            // From here the guest belongs to the target: it may be running there already.
            committed = true;
            postcopyStartNs = nowNs;
            if (ctx.postcopyBandwidthBytesPerSec() > 0)
            {
                limiter.rate(ctx.postcopyBandwidthBytesPerSec(),
                    PageFlyweight.PAYLOAD_OFFSET + PageSender.chunkLength(pageSize, frames.maxFrameLength()));
            }
            lastPeerFrameNs = nowNs;
            toSend.swap(dirty);
            round++;
            cursor = 0;
            currentPage = -1;
            state = State.POSTCOPY;
            return 1;
        }
        state = State.AWAIT_COMPLETE;
        return 1;
    }

    private int sendUrgentPages()
    {
        int work = 0;
        while (!urgentQueue.isEmpty() && work < URGENT_PAGES_PER_WORK)
        {
            final long pageIndex = urgentQueue.peekLong();
            if (ZeroPages.isZero(memory.pageAddress(pageIndex), pageSize))
            {
                final int length = ZeroRunFlyweight.LENGTH;
                limiter.acquireUrgent(length, nowNs);
                zeroRunFlyweight.wrap(urgentFrames.scratch(), 0);
                zeroRunFlyweight.writeHeader(FrameType.ZERO_RUN, length, migrationId);
                zeroRunFlyweight.firstPageIndex(pageIndex).pageCount(1).round(round);
                final int outcome = urgentFrames.offer(length);
                if (outcome != FramePublisher.SENT)
                {
                    onNotSent(outcome, length);
                    break;
                }
                zeroPagesCounter.incrementOrdered();
                bytesSentCounter.getAndAddOrdered(length);
            }
            else
            {
                if (!urgentSender.send(pageIndex, round, nowNs))
                {
                    break;
                }
                rawPagesCounter.incrementOrdered();
                bytesSentCounter.getAndAddOrdered(urgentSender.lastPageBytes());
            }
            urgentQueue.pollLong();
            toSend.clear(pageIndex);
            pagesSentCounter.incrementOrdered();
            urgentPagesCounter.incrementOrdered();
            postcopyPagesCounter.incrementOrdered();
            work++;
        }
        return work;
    }

    private void onPageRequest(final long pageIndex)
    {
        lastRequestNs = nowNs;
        requestsCounter.incrementOrdered();
        if (urgentQueue.size() < URGENT_QUEUE_CAPACITY)
        {
            urgentQueue.addLong(pageIndex);
        }
        // Pre-paging: the guest is working near this page, so push its neighbours next.
        cursor = pageIndex + 1;
    }

    private void enterRecovery(final String why)
    {
        if (ctx.recoveryTimeoutMs() == 0)
        {
            fail(ErrorCode.GUEST_LOST, why + ", and recoveryTimeoutMs=0", false);
            return;
        }
        if (state != State.RECOVER_CONNECT && state != State.RECOVER_HELLO)
        {
            recoveryStartNs = nowNs;
        }
        // Frames in flight on the old session may be lost, so deltas against cached versions are no longer safe.
        pageSender.disableCache();
        retiredBytesSent += frames.bytesSent() + urgentFrames.bytesSent();
        CloseHelper.quietCloseAll(dataPublication, urgentPublication);
        dataPublication = aeron.addExclusivePublication(Channels.dataPublication(ctx.targetEndpoint(),
            ctx.mtuLength(), ctx.termLength(), ctx.socketBufferLength()), ctx.dataStreamId());
        frames = new FramePublisher(dataPublication, counters.get(CounterType.BACK_PRESSURE),
            counters.get(CounterType.ADMIN_ACTIONS));
        pageSender.retarget(frames);
        openUrgentLane();
        zeroRunLength = 0;
        currentPage = -1;
        resumeAcked = false;
        controlVerifier = null;
        requestVerifier = null;
        io.pagestream.security.HandshakeAuthenticator.refresh(sourceNonce); // a fresh challenge for this resume
        state = State.RECOVER_CONNECT;
    }

    private int recoverConnect()
    {
        if (!dataPublication.isConnected())
        {
            return 0;
        }
        sendHello();
        state = State.RECOVER_HELLO;
        return 1;
    }

    private int resendResumeHello()
    {
        if (nowNs - lastHelloNs > HELLO_RESEND_NS && !resumeAcked)
        {
            sendHello();
            return 1;
        }
        return 0;
    }

    private void onMissingMap(final DirectBuffer buffer, final int offset, final int length)
    {
        pageMapFlyweight.wrapForRead(buffer, offset);
        pageMapFlyweight.validate(length, pageCount, missingMapNextWord);
        final long[] words = toSend.words();
        final int first = pageMapFlyweight.firstWord();
        final int count = pageMapFlyweight.wordCount();
        for (int i = 0; i < count; i++)
        {
            words[first + i] = pageMapFlyweight.word(i);
        }
        missingMapNextWord = first + count;
        if (pageMapFlyweight.isLast())
        {
            postcopyPagesRemaining = toSend.cardinality();
            missingMapNextWord = 0;
            resumeAcked = false;
            recoveries++;
            recoveriesCounter.incrementOrdered();
            lastPeerFrameNs = nowNs;
            cursor = 0;
            currentPage = -1;
            state = State.POSTCOPY;
        }
    }

    private void publishCacheCounters()
    {
        final PageCache cache = pageSender.cache();
        if (null != cache)
        {
            counters.get(CounterType.PAGE_CACHE_HITS).setOrdered(cache.hits());
            counters.get(CounterType.PAGE_CACHE_MISSES).setOrdered(cache.misses());
        }
    }

    private void updateProgress()
    {
        if (nowNs - lastProgressNs < PROGRESS_NS)
        {
            return;
        }
        lastProgressNs = nowNs;
        publishCacheCounters();
        progressPagesRemaining = committed ? toSend.cardinality() + urgentQueue.size() :
            Math.max(0, roundPagesPlanned - tracker.roundPages());
        final long windowNs = nowNs - rateWindowStartNs;
        if (windowNs >= TimeUnit.MILLISECONDS.toNanos(250))
        {
            final long bytes = retiredBytesSent + frames.bytesSent() +
                (null == urgentFrames ? 0 : urgentFrames.bytesSent());
            progressRate = (bytes - rateWindowStartBytes) * 1e9 / windowNs;
            rateWindowStartBytes = bytes;
            rateWindowStartNs = nowNs;
        }
    }

    /** {@inheritDoc} */
    public void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        if (state == State.DONE || state == State.FAILING)
        {
            return;
        }
        try
        {
            onControlFrame(buffer, offset, length, header);
        }
        catch (final MigrationException ex)
        {
            // Fail here, inside the callback: Aeron would hand a thrown exception to its error handler instead.
            fail(ex.errorCode(), ex.getMessage(), true);
        }
        catch (final RuntimeException ex)
        {
            errorHandler.onError(ex);
            fail(ErrorCode.INTERNAL, "unexpected " + ex + " while handling a control frame", true);
        }
    }

    private void onControlFrame(
        final DirectBuffer termBuffer, final int termOffset, final int taggedLength, final Header header)
    {
        DirectBuffer buffer = termBuffer;
        int offset = termOffset;
        if ((header.flags() & FrameDescriptor.UNFRAGMENTED) != FrameDescriptor.UNFRAGMENTED)
        {
            throw new MigrationException(ErrorCode.MALFORMED_FRAME, "fragmented control frame from the target");
        }
        int length = taggedLength;
        if (null == controlVerifier && null != frameKey && committed &&
            (buffer.getByte(offset + FrameFlyweight.TYPE_OFFSET) != FrameType.HELLO_ACK ||
            taggedLength != HelloAckFlyweight.LENGTH))
        {
            // Recovering with frame authentication: until the resumed session is authenticated, only its unsigned
            // HELLO_ACK is of use; signed frames still arriving from the old session are dropped.
            counters.get(CounterType.BAD_FRAME_TAGS).incrementOrdered();
            return;
        }
        if (null != controlVerifier)
        {
            final io.pagestream.security.FrameMac verifier =
                buffer.getByte(offset + FrameFlyweight.TYPE_OFFSET) == FrameType.PAGE_REQUEST ? requestVerifier :
                controlVerifier;
            if (!verifier.verify(buffer, offset, taggedLength))
            {
                // The control subscription takes any publisher: a frame that fails its tag is dropped, not obeyed.
                counters.get(CounterType.BAD_FRAME_TAGS).incrementOrdered();
                return;
            }
            length = taggedLength - io.pagestream.security.FrameMac.TAG_LENGTH;
            if (verifier.encrypts())
            {
                buffer = verifier.plaintext();
                offset = 0;
            }
        }
        headerFlyweight.wrapForRead(buffer, offset);
        headerFlyweight.validateHeader(length);
        if (headerFlyweight.sessionId() != migrationId)
        {
            return; // A stale target from an earlier migration: not ours to act on.
        }
        lastPeerFrameNs = nowNs;

        final int type = headerFlyweight.type();
        switch (type)
        {
            case FrameType.HELLO_ACK:
                helloAckFlyweight.wrapForRead(buffer, offset);
                helloAckFlyweight.validate(length);
                if (helloAckFlyweight.status() != 0)
                {
                    fail(ErrorCode.get(helloAckFlyweight.status()), "target refused the hello", false);
                    return;
                }
                onHelloAck(helloAckFlyweight.echoTimestampNs(), helloAckFlyweight.capabilities(),
                    helloAckFlyweight.urgentPort());
                break;

            case FrameType.STATUS:
                statusFlyweight.wrapForRead(buffer, offset);
                statusFlyweight.validate(length);
                if ((statusFlyweight.flags() & FrameFlyweight.FLAG_GUEST_RUNNING) != 0)
                {
                    onTargetRunning();
                }
                break;

            case FrameType.PAGE_REQUEST:
                pageRequestFlyweight.wrapForRead(buffer, offset);
                pageRequestFlyweight.validate(length, pageCount);
                if (!committed)
                {
                    throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                        "PAGE_REQUEST for pageIndex=" + pageRequestFlyweight.pageIndex() + " before post-copy");
                }
                onTargetRunning();
                onPageRequest(pageRequestFlyweight.pageIndex());
                break;

            case FrameType.MISSING_MAP:
                if (state != State.RECOVER_HELLO || !resumeAcked)
                {
                    throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                        "MISSING_MAP from the target in state " + state + ", outside a post-copy recovery");
                }
                onMissingMap(buffer, offset, length);
                break;

            case FrameType.COMPLETE:
                completeFlyweight.wrapForRead(buffer, offset);
                completeFlyweight.validate(length);
                if (state != State.AWAIT_COMPLETE && !committed)
                {
                    throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                        "COMPLETE from the target in state " + state + ", before switchover");
                }
                faultCount = completeFlyweight.faultCount();
                faultP50Us = completeFlyweight.faultP50Us();
                faultP99Us = completeFlyweight.faultP99Us();
                faultMaxUs = completeFlyweight.faultMaxUs();
                onTargetRunning();
                if (!committed && !commit())
                {
                    break;
                }
                succeed();
                break;

            case FrameType.ERROR:
                errorFlyweight.wrapForRead(buffer, offset);
                errorFlyweight.validate(length);
                final ErrorCode code = ErrorCode.get(errorFlyweight.errorCode());
                if (committed && !targetRunning && code != ErrorCode.GUEST_LOST)
                {
                    // The target refused the post-copy switchover before running the guest: it is safe here.
                    committed = false;
                }
                fail(code, "target reported: " + errorFlyweight.message(), false);
                break;

            default:
                throw new MigrationException(ErrorCode.UNKNOWN_FRAME_TYPE,
                    "type=" + type + " (" + FrameType.name(type) + ") is not a control frame");
        }
    }

    /**
     * Second phase of a stop-and-copy switchover: put COMMIT in the stream; from that moment the guest belongs to the
     * target and is never resumed here. If it cannot be published within a second, do not commit: revert instead
     * (the target, never told, does not resume either).
     */
    private boolean commit()
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (true)
        {
            commitFlyweight.wrap(frames.scratch(), 0);
            commitFlyweight.writeHeader(FrameType.COMMIT, io.pagestream.protocol.CommitFlyweight.LENGTH, migrationId);
            commitFlyweight.downtimeNs(System.nanoTime() - pauseNs);
            final int outcome = frames.offer(io.pagestream.protocol.CommitFlyweight.LENGTH);
            if (outcome == FramePublisher.SENT)
            {
                return true; // succeed() follows at once: nothing from here can resume the guest
            }
            if (outcome == FramePublisher.CLOSED || System.nanoTime() > deadlineNs)
            {
                fail(ErrorCode.PEER_LOST, "could not send COMMIT to the target; the guest stays here", false);
                return false;
            }
            Thread.onSpinWait();
        }
    }

    private void onTargetRunning()
    {
        if (committed && !targetRunning)
        {
            targetRunning = true;
            downtimeNs = System.nanoTime() - pauseNs;
        }
    }

    private void succeed()
    {
        if (!committed)
        {
            downtimeNs = System.nanoTime() - pauseNs;
        }
        stopTracking();
        lifecycle.decide(report(MigrationResult.COMPLETED, "completed", null));
        finish();
    }

    /**
     * Fail the migration: put the guest back to running here first, then tell the target, then report.
     */
    private void fail(final ErrorCode code, final String reason, final boolean notifyPeer)
    {
        if (state == State.DONE || state == State.FAILING)
        {
            return;
        }
        final long revertStartNs = System.nanoTime();
        if (committed)
        {
            // Post-copy: the guest may be running on the target, which alone holds its newest pages. Resuming it
            // here as well would run two copies of one machine, so it stays paused and the loss is reported.
            stopTracking();
            lifecycle.decide(report(MigrationResult.FAILED, "post-copy could not finish with " + toSend.cardinality() +
                " pages still to send: " + reason + "; the guest was not resumed here (it ran on the target)",
                ErrorCode.GUEST_LOST));
            if (notifyPeer)
            {
                lifecycle.notifyPeer(ErrorCode.GUEST_LOST, reason, revertStartNs + ERROR_DELIVERY_NS);
                state = State.FAILING;
                deliverError();
            }
            else
            {
                finish();
            }
            return;
        }
        if (paused || throttled)
        {
            try
            {
                vcpus.resume();
            }
            catch (final RuntimeException ex)
            {
                errorHandler.onError(ex);
            }
            paused = false;
            throttled = false;
            downtimeNs = System.nanoTime() - pauseNs;
        }
        stopTracking();

        final MigrationResult result = code == ErrorCode.CANCELLED ? MigrationResult.CANCELLED : MigrationResult.FAILED;
        lifecycle.decide(report(result, reason, code));

        if (notifyPeer && handshakeDone)
        {
            lifecycle.notifyPeer(code, reason, revertStartNs + ERROR_DELIVERY_NS);
            state = State.FAILING;
            deliverError();
        }
        else
        {
            finish();
        }
    }

    private int deliverError()
    {
        if (lifecycle.deliverError(frames, migrationId, System.nanoTime()))
        {
            finish();
            return 1;
        }
        return 0;
    }

    private void stopTracking()
    {
        if (tracking)
        {
            tracking = false;
            try
            {
                dirtyLog.stopTracking();
            }
            catch (final RuntimeException ex)
            {
                errorHandler.onError(ex);
            }
        }
    }

    private void finish()
    {
        state = State.DONE;
        lifecycle.complete();
    }

    private MigrationReport report(final MigrationResult result, final String reason, final ErrorCode code)
    {
        publishCacheCounters();
        return new MigrationReport.Builder()
            .result(result)
            .reason(reason)
            .errorCode(code)
            .mode(switchRound < 0 || !committed ? MigrationMode.PRECOPY :
                switchRound == 0 ? MigrationMode.POSTCOPY : MigrationMode.HYBRID)
            .guestBytes(memory.sizeBytes())
            .pageSize(pageSize)
            .totalTimeMs(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs))
            .downtimeMs(TimeUnit.NANOSECONDS.toMillis(downtimeNs))
            .downtimeTargetMs(ctx.downtimeTargetMs())
            .rounds(round)
            .pagesSent(pagesSentCounter.get())
            .bytesOnWire(retiredBytesSent + frames.bytesSent() + (null == urgentFrames ? 0 : urgentFrames.bytesSent()))
            .pagesByEncoding(zeroPagesCounter.get(), deltaPagesCounter.get(), lz4PagesCounter.get(),
                rawPagesCounter.get())
            .bytesSaved(bytesSavedCounter.get())
            .backPressureEvents(counters.value(CounterType.BACK_PRESSURE))
            .deviceStateBytes(deviceStateSent)
            .switchRound(switchRound >= 0 ? switchRound : paused ? round - 1 : -1)
            .postcopyMs(committed ? TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - postcopyStartNs) : 0)
            .postcopyPages(postcopyPagesCounter.get())
            .urgentPages(urgentPagesCounter.get())
            .maxThrottle(maxThrottle)
            .recoveries(recoveries)
            .lastDecision(lastDecision)
            .faults(faultCount, faultP50Us, faultP99Us, faultMaxUs)
            .build();
    }
}
