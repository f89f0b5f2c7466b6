package io.pagestream.target;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
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
import org.agrona.UnsafeAccess;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The target side of one migration as a single Agrona agent.
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
    private static final long ERROR_DELIVERY_NS = TimeUnit.SECONDS.toNanos(1);
    private static final long CONTROL_CONNECT_NS = TimeUnit.SECONDS.toNanos(5);

    enum State
    {
        AWAIT_HELLO, CONNECT_CONTROL, RECEIVING, SEND_COMPLETE, FAILING, DONE
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
    private FramePublisher control;
    private MigrationException pendingHelloError;

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
     * @param counters         target counters.
     * @param completion       completed with the report at the end.
     * @param nowNs            current time.
     */
    public TargetAgent(
        final MigrationTarget.Context ctx,
        final Aeron aeron,
        final Subscription dataSubscription,
        final MigrationCounters counters,
        final CompletableFuture<MigrationReport> completion,
        final long nowNs)
    {
        this.ctx = ctx;
        this.aeron = aeron;
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
        this.pageApplier = new PageApplier(memory, received);
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
     * @return true if the page has arrived.
     */
    public boolean isPageReceived(final long pageIndex)
    {
        if (pageIndex < 0 || pageIndex >= pageCount)
        {
            throw new IndexOutOfBoundsException("pageIndex=" + pageIndex + " pageCount=" + pageCount);
        }
        return received.get(pageIndex);
    }

    /**
     * @return a progress snapshot. Any thread.
     */
    public MigrationProgress progress()
    {
        final long pages = pagesReceivedCount;
        return new MigrationProgress(lifecycle.phase(), round, pageCount - pages, pages, bytesCounter.get(), 0, 0, 0,
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
            if (state == State.AWAIT_HELLO || state == State.RECEIVING)
            {
                work += dataSubscription.poll(this, FRAGMENTS_PER_WORK);
            }
            work += checkConditions();
            switch (state)
            {
                case CONNECT_CONTROL:
                    work += connectControl();
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
            if (state == State.RECEIVING)
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
        CloseHelper.quietClose(controlPublication);
    }

    private int checkConditions()
    {
        if (cancelRequested && state.ordinal() < State.SEND_COMPLETE.ordinal())
        {
            fail(ErrorCode.CANCELLED, "cancelled by the target application in phase " + lifecycle.phase());
            return 1;
        }
        if (state == State.AWAIT_HELLO && ctx.handshakeTimeoutMs() > 0 &&
            nowNs - startNs > TimeUnit.MILLISECONDS.toNanos(ctx.handshakeTimeoutMs()))
        {
            fail(ErrorCode.TIMEOUT, "no hello from a source on " + ctx.listenEndpoint() + " within handshakeTimeoutMs=" +
                ctx.handshakeTimeoutMs());
            return 1;
        }
        if (state == State.RECEIVING && nowNs - lastFrameNs > TimeUnit.MILLISECONDS.toNanos(ctx.peerTimeoutMs()))
        {
            fail(ErrorCode.PEER_LOST, "no frame from the source for " +
                TimeUnit.NANOSECONDS.toMillis(nowNs - lastFrameNs) + " ms (peerTimeoutMs=" + ctx.peerTimeoutMs() +
                "); the guest was not resumed here");
            return 1;
        }
        return 0;
    }

    /** {@inheritDoc} */
    public void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        if (state != State.AWAIT_HELLO && state != State.RECEIVING)
        {
            return;
        }
        final boolean pinned = state != State.AWAIT_HELLO;
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
            headerFlyweight.wrapForRead(buffer, offset);
            headerFlyweight.validateHeader(length);
            final int type = headerFlyweight.type();

            if (!pinned)
            {
                if (type == FrameType.HELLO)
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
        switch (type)
        {
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
                failWithoutReply(ErrorCode.get(errorFlyweight.errorCode()),
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
        pinnedSessionId = aeronSessionId;
        helloTimestampNs = helloFlyweight.timestampNs();
        helloNs = nowNs;
        lastFrameNs = nowNs;
        pendingHelloError = checkLayout();

        final String controlChannel = Channels.control(helloFlyweight.controlEndpoint());
        controlPublication = aeron.addExclusivePublication(controlChannel, helloFlyweight.controlStreamId());
        control = new FramePublisher(controlPublication, null, null);
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
            if (nowNs - helloNs > CONTROL_CONNECT_NS)
            {
                failWithoutReply(ErrorCode.PEER_LOST, "control stream to the source never connected");
                return 1;
            }
            return 0;
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
        lastFrameNs = nowNs;
        state = State.RECEIVING;
        lifecycle.phase(MigrationPhase.BULK);
        return 1;
    }

    private boolean sendHelloAck()
    {
        helloAckFlyweight.wrap(control.scratch(), 0);
        helloAckFlyweight.writeHeader(FrameType.HELLO_ACK, HelloAckFlyweight.LENGTH, migrationId);
        helloAckFlyweight
            .status(0)
            .targetVersion(FrameFlyweight.PROTOCOL_VERSION)
            .capabilities(0)
            .echoTimestampNs(helloTimestampNs);
        return control.offer(HelloAckFlyweight.LENGTH) == FramePublisher.SENT;
    }

    private void onPage(final DirectBuffer buffer, final int offset, final int length)
    {
        final long completedPage = pageApplier.apply(buffer, offset, length, round);
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
        final boolean zeroed = ctx.memoryZeroed();
        for (long pageIndex = first, end = first + count; pageIndex < end; pageIndex++)
        {
            // Fresh memory is already zero; a page that held data before must be cleared.
            if (!zeroed || received.get(pageIndex))
            {
                UnsafeAccess.UNSAFE.setMemory(memory.pageAddress(pageIndex), pageSize, (byte)0);
            }
        }
        pagesReceivedCount += received.setRange(first, count);
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
        final long missing = pageCount - received.cardinality();
        if (missing != 0)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "SWITCHOVER with " + missing + " pages never received");
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
        state = State.SEND_COMPLETE;
    }

    private int sendComplete()
    {
        completeFlyweight.wrap(control.scratch(), 0);
        completeFlyweight.writeHeader(FrameType.COMPLETE, CompleteFlyweight.LENGTH, migrationId);
        completeFlyweight.pagesReceived(pagesReceivedCount).pageFramesReceived(totalPageFrames);
        final int outcome = control.offer(CompleteFlyweight.LENGTH);
        if (outcome == FramePublisher.RETRY)
        {
            return 0;
        }
        if (outcome == FramePublisher.CLOSED)
        {
            failWithoutReply(ErrorCode.PEER_LOST, "control stream closed before COMPLETE could be sent");
            return 1;
        }
        lifecycle.decide(report(MigrationResult.COMPLETED, "completed", null));
        finish();
        return 1;
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
        lifecycle.complete();
    }

    private MigrationReport report(final MigrationResult result, final String reason, final ErrorCode code)
    {
        return new MigrationReport.Builder()
            .result(result)
            .reason(reason)
            .errorCode(code)
            .mode(MigrationMode.PRECOPY)
            .guestBytes(memory.sizeBytes())
            .pageSize(pageSize)
            .totalTimeMs(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs))
            .rounds(Math.max(0, round - 1))
            .pagesSent(pagesByEncoding[1] + pagesByEncoding[2] + pagesByEncoding[3] + zeroPages)
            .bytesOnWire(bytesCounter.get())
            .pagesByEncoding(zeroPages, pagesByEncoding[PageEncoding.DELTA.code()],
                pagesByEncoding[PageEncoding.LZ4.code()], pagesByEncoding[PageEncoding.RAW.code()])
            .deviceStateBytes(deviceStateReceived)
            .build();
    }
}
