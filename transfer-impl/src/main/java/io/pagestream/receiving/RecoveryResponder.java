package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.PageMapWriter;
import io.pagestream.status.LocalFailure;
import io.pagestream.transport.FrameSink;

import java.util.concurrent.TimeUnit;

/**
 * The target's side of a post-copy recovery. The guest keeps running; vCPUs touching missing pages wait. The
 * control stream is dropped and the data lanes unpinned; a resume hello from the same migration is accepted through
 * the {@link HelloAcceptor} (the key proven again over fresh nonces), then the pages still missing go back as a
 * MISSING_MAP and page requests flow again. If the source is not back within {@code recoveryTimeoutMs} of the loss,
 * the guest is lost: every fault from then on throws rather than run on pages that never arrived.
 * <p>
 * Threading: the target conductor's thread.
 */
final class RecoveryResponder
{
    enum State
    {
        AWAIT_HELLO, HANDSHAKE, SEND_MISSING_MAP, DONE
    }

    private final HelloAcceptor acceptor;
    private final SourceProxy proxy;
    private final FaultService faults;
    private final GuestImage image;
    private final long timeoutNs;
    private final PageMapWriter writer = new PageMapWriter();
    private final PageBitmap missing;
    private State state = State.DONE;
    private boolean resuming;
    private long startNs;
    private int recoveries;

    RecoveryResponder(
        final HelloAcceptor acceptor,
        final SourceProxy proxy,
        final FaultService faults,
        final GuestImage image,
        final long recoveryTimeoutMs,
        final long pageCount)
    {
        this.acceptor = acceptor;
        this.proxy = proxy;
        this.faults = faults;
        this.image = image;
        this.timeoutNs = TimeUnit.MILLISECONDS.toNanos(recoveryTimeoutMs);
        this.missing = new PageBitmap(pageCount);
    }

    State state()
    {
        return state;
    }

    boolean isDone()
    {
        return state == State.DONE;
    }

    int recoveries()
    {
        return recoveries;
    }

    /**
     * Drop the session and wait for a resume hello; the recovery clock keeps running across restarts.
     *
     * @param why   what was lost.
     * @param nowNs current time.
     */
    void enter(final String why, final long nowNs)
    {
        faults.requestChannel(null, acceptor.migrationId());
        proxy.disconnect();
        acceptor.reset();
        if (!resuming)
        {
            startNs = nowNs;
            resuming = true;
        }
        state = State.AWAIT_HELLO;
        if (timeoutNs == 0)
        {
            throw new LocalFailure(ErrorCode.GUEST_LOST, why + " and recoveryTimeoutMs=0; " +
                image.postcopyRemaining() + " pages never arrived, the guest cannot continue");
        }
    }

    /** A resume hello was accepted: the handshake goes on. */
    void onResumeAccepted()
    {
        state = State.HANDSHAKE;
    }

    /** @return true while waiting for the resumed source's AUTH. */
    boolean awaitingAuth()
    {
        return state == State.HANDSHAKE && acceptor.state() == HelloAcceptor.State.AWAIT_AUTH;
    }

    /**
     * @param nowNs current time.
     * @return work done.
     * @throws LocalFailure GUEST_LOST when the recovery timed out.
     */
    int doWork(final long nowNs)
    {
        if (state != State.DONE && nowNs - startNs > timeoutNs)
        {
            throw new LocalFailure(ErrorCode.GUEST_LOST, "the source did not come back within recoveryTimeoutMs=" +
                TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " of losing it in post-copy; " +
                image.postcopyRemaining() + " pages never arrived, the guest cannot continue");
        }
        switch (state)
        {
            case HANDSHAKE:
                if (acceptor.controlTimedOut(nowNs))
                {
                    enter("control stream to the resuming source never connected", nowNs);
                    return 1;
                }
                final int work = acceptor.doWork(nowNs);
                if (acceptor.isDone())
                {
                    startMissingMap();
                    return work + 1 + sendMissingMap(nowNs);
                }
                return work;
            case SEND_MISSING_MAP:
                return sendMissingMap(nowNs);
            default:
                return 0;
        }
    }

    private void startMissingMap()
    {
        // No page arrives while resuming (the old session is dropped), so this snapshot stays true.
        image.missing(missing);
        writer.start(missing.words());
        state = State.SEND_MISSING_MAP;
    }

    private int sendMissingMap(final long nowNs)
    {
        int work = 0;
        while (true)
        {
            final int outcome = proxy.missingMapChunk(writer);
            if (outcome == FrameSink.CLOSED)
            {
                enter("control stream closed while sending the missing-page map", nowNs);
                return 1;
            }
            if (outcome != FrameSink.SENT)
            {
                return work;
            }
            work++;
            if (writer.onSent())
            {
                break;
            }
        }
        // Resumed: requests flow again (waiting faults repeat theirs), and the source pushes what we lack.
        resuming = false;
        recoveries++;
        faults.requestChannel(proxy.requests(), acceptor.migrationId());
        state = State.DONE;
        return work;
    }
}
