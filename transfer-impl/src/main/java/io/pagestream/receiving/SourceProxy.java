package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.protocol.CompleteFlyweight;
import io.pagestream.protocol.ErrorFlyweight;
import io.pagestream.protocol.FrameFlyweight;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.PageMapWriter;
import io.pagestream.protocol.PageRequestFlyweight;
import io.pagestream.protocol.StatusFlyweight;
import io.pagestream.transport.Channels;
import io.pagestream.transport.FrameSink;
import io.pagestream.transport.Links;
import io.pagestream.transport.RequestChannel;
import org.agrona.MutableDirectBuffer;
import org.agrona.CloseHelper;

/**
 * Everything the target puts on the wire, and the streams it goes on: the control stream back to the source
 * (HELLO_ACK, STATUS, COMPLETE, MISSING_MAP, ERROR) on an exclusive publication, and the page requests the
 * hypervisor's vCPU threads send themselves on a concurrent one ({@link #writePageRequest}). Both are opened
 * without blocking a duty cycle when a hello names the source's control endpoint, and dropped when the link is lost
 * in post-copy. Every method returns the sink's outcome; retrying is the caller's business.
 * <p>
 * Threading: the target conductor's thread, but {@link #writePageRequest} which any thread may call on its own
 * buffer. No allocation but {@link #error}'s message encoding.
 */
final class SourceProxy implements AutoCloseable, io.pagestream.status.PeerNotice.Sender
{
    private static final long NO_REGISTRATION = -1;

    private final Links links;
    private final HelloAckFlyweight helloAck = new HelloAckFlyweight();
    private final StatusFlyweight status = new StatusFlyweight();
    private final CompleteFlyweight complete = new CompleteFlyweight();
    private final ErrorFlyweight error = new ErrorFlyweight();
    private long migrationId;
    private long controlRegistration = NO_REGISTRATION;
    private long requestRegistration = NO_REGISTRATION;
    private FrameSink control;
    private RequestChannel requests;
    private long lastStatusNs = Long.MIN_VALUE / 2;
    private boolean silent;
    private String controlEndpoint;
    private int controlStreamId;

    /**
     * @param links to open the streams.
     */
    SourceProxy(final Links links)
    {
        this(links, false);
    }

    /**
     * @param links  to open the streams.
     * @param silent true for a follower of a fan-out: nothing is opened and nothing is sent (every send "succeeds").
     */
    SourceProxy(final Links links, final boolean silent)
    {
        this.links = links;
        this.silent = silent;
    }

    /**
     * Start opening the control stream and the request stream to a source.
     *
     * @param sessionId       the migration id written in every frame.
     * @param controlEndpoint {@code host:port} the source named.
     * @param controlStreamId stream id the source named.
     */
    void connect(final long sessionId, final String controlEndpoint, final int controlStreamId)
    {
        disconnect();
        migrationId = sessionId;
        this.controlEndpoint = controlEndpoint;
        this.controlStreamId = controlStreamId;
        if (silent)
        {
            return;
        }
        final String channel = Channels.control(controlEndpoint);
        controlRegistration = links.addExclusivePublication(channel, controlStreamId);
        requestRegistration = links.addPublication(channel, controlStreamId);
    }

    /**
     * A follower promoted to target: stop being silent and open the streams to the source its hello named;
     * {@link #pollConnected()} completes.
     */
    void promote()
    {
        silent = false;
        connect(migrationId, controlEndpoint, controlStreamId);
    }

    /** Close both streams (a lost link in post-copy: a resumed source gets new ones). */
    void disconnect()
    {
        CloseHelper.quietCloseAll(requests, control);
        control = null;
        requests = null;
        controlRegistration = NO_REGISTRATION;
        requestRegistration = NO_REGISTRATION;
    }

    /**
     * @return true once both streams exist and the control stream has a subscriber.
     */
    boolean pollConnected()
    {
        if (silent)
        {
            return true;
        }
        if (null == control && controlRegistration != NO_REGISTRATION)
        {
            control = links.exclusivePublication(controlRegistration, null, null);
        }
        if (null == requests && requestRegistration != NO_REGISTRATION)
        {
            requests = links.publication(requestRegistration);
        }
        return null != control && null != requests && control.isConnected();
    }

    /** @return true while the control stream exists and has a subscriber. */
    boolean isConnected()
    {
        return null != control && control.isConnected();
    }

    /** @return the control stream, or null while there is none. */
    FrameSink control()
    {
        return control;
    }

    /** @return the request stream for the vCPU threads, or null while there is none. */
    RequestChannel requests()
    {
        return requests;
    }

    /**
     * HELLO_ACK: this target's capabilities and its proof of the key.
     *
     * @param capabilities    capability bits.
     * @param echoTimestampNs the hello's timestamp.
     * @param urgentPort      where the urgent lane listens.
     * @param nonce           this target's nonce.
     * @param tag             its proof over both nonces (or zeros without a key).
     * @return the outcome.
     */
    int helloAck(final long capabilities, final long echoTimestampNs, final int urgentPort, final byte[] nonce,
        final byte[] tag)
    {
        if (null == control)
        {
            return silent ? FrameSink.SENT : FrameSink.RETRY;
        }
        helloAck.wrap(control.scratch(), 0);
        helloAck.writeHeader(FrameType.HELLO_ACK, HelloAckFlyweight.LENGTH, migrationId);
        helloAck.status(0)
            .targetVersion(FrameFlyweight.PROTOCOL_VERSION)
            .capabilities(capabilities)
            .echoTimestampNs(echoTimestampNs)
            .urgentPort(urgentPort)
            .proof(nonce, tag);
        return control.offer(HelloAckFlyweight.LENGTH);
    }

    /**
     * STATUS if one is due ({@value #HEARTBEAT_MS} ms since the last went out), so the source can tell a quiet
     * target from a lost one; a refused offer is tried again on the next call.
     *
     * @param guestRunning true once the guest runs here (post-copy).
     * @param pagesApplied pages received so far.
     * @param nowNs        current time.
     */
    void heartbeat(final boolean guestRunning, final long pagesApplied, final long nowNs)
    {
        if (nowNs - lastStatusNs > java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(HEARTBEAT_MS) &&
            status(guestRunning, pagesApplied, nowNs) == FrameSink.SENT)
        {
            lastStatusNs = nowNs;
        }
    }

    /** Time between heartbeats. */
    static final long HEARTBEAT_MS = 100;

    /**
     * STATUS now: the heartbeat, with pages applied so far and whether the guest runs here.
     *
     * @param guestRunning true once the guest runs here (post-copy).
     * @param pagesApplied pages received so far.
     * @param nowNs        current time.
     * @return the outcome.
     */
    int status(final boolean guestRunning, final long pagesApplied, final long nowNs)
    {
        if (null == control)
        {
            return silent ? FrameSink.SENT : FrameSink.RETRY;
        }
        status.wrap(control.scratch(), 0);
        status.writeHeader(FrameType.STATUS, StatusFlyweight.LENGTH, migrationId);
        status.flags(guestRunning ? FrameFlyweight.FLAG_GUEST_RUNNING : 0);
        status.pagesApplied(pagesApplied).timestampNs(nowNs);
        final int outcome = control.offer(StatusFlyweight.LENGTH);
        if (outcome == FrameSink.SENT)
        {
            lastStatusNs = nowNs;
        }
        return outcome;
    }

    /**
     * COMPLETE: every page is here (and, for stop-and-copy, the guest is ready to resume on COMMIT).
     *
     * @param pagesReceived      pages received.
     * @param pageFramesReceived page frames received.
     * @param faults             post-copy faults that waited.
     * @param p50Us              their median service time.
     * @param p99Us              their 99th percentile.
     * @param maxUs              their maximum.
     * @return the outcome.
     */
    int complete(final long pagesReceived, final long pageFramesReceived, final long faults, final long p50Us,
        final long p99Us, final long maxUs)
    {
        if (null == control)
        {
            return silent ? FrameSink.SENT : FrameSink.RETRY;
        }
        complete.wrap(control.scratch(), 0);
        complete.writeHeader(FrameType.COMPLETE, CompleteFlyweight.LENGTH, migrationId);
        complete.pagesReceived(pagesReceived).pageFramesReceived(pageFramesReceived).faults(faults, p50Us, p99Us,
            maxUs);
        return control.offer(CompleteFlyweight.LENGTH);
    }

    /**
     * MISSING_MAP: the next chunk of the pages this target lacks, after a post-copy resume.
     *
     * @param writer positioned at the next chunk.
     * @return the outcome (call {@link PageMapWriter#onSent()} when sent).
     */
    int missingMapChunk(final PageMapWriter writer)
    {
        if (null == control)
        {
            return FrameSink.CLOSED;
        }
        final int length = writer.prepare(control.scratch(), FrameType.MISSING_MAP, migrationId,
            control.maxFrameLength());
        return control.offer(length);
    }

    /**
     * ERROR: why this target gives up, with a stable code.
     *
     * @param code    the error code.
     * @param message the reason.
     * @return the outcome; {@link FrameSink#CLOSED} without a control stream.
     */
    public int error(final ErrorCode code, final String message)
    {
        if (null == control)
        {
            return FrameSink.CLOSED;
        }
        error.wrap(control.scratch(), 0);
        error.errorCode(code.value());
        final int length = error.message(message);
        error.writeHeader(FrameType.ERROR, length, migrationId);
        return control.offer(length);
    }

    /**
     * PAGE_REQUEST, built by a vCPU thread in its own buffer.
     *
     * @param flyweight   the thread's flyweight.
     * @param buffer      the thread's buffer.
     * @param sessionId   the migration id.
     * @param pageIndex   the faulted page.
     * @param timestampNs when the fault began.
     * @return the frame length.
     */
    static int writePageRequest(
        final PageRequestFlyweight flyweight,
        final MutableDirectBuffer buffer,
        final long sessionId,
        final long pageIndex,
        final long timestampNs)
    {
        flyweight.wrap(buffer, 0);
        flyweight.writeHeader(FrameType.PAGE_REQUEST, PageRequestFlyweight.LENGTH, sessionId);
        flyweight.pageIndex(pageIndex).timestampNs(timestampNs);
        return PageRequestFlyweight.LENGTH;
    }

    /** Close both streams. */
    public void close()
    {
        disconnect();
    }
}
