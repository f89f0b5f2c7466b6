package io.pagestream.status;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationReport;
import org.agrona.concurrent.NanoClock;

import java.util.concurrent.TimeUnit;

/**
 * How a migration ends, the same on both sides, once the conductor has decided the outcome: either it is over at
 * once, or the peer is first owed an ERROR frame ({@link PeerNotice}), which is offered on each later duty cycle
 * until it goes out, the stream closes, or {@link #ERROR_DELIVERY_NS} pass, so a failure never waits on a peer that
 * cannot hear. An agent closed while the frame is still owed gives it one last try. The conductor hears of each step
 * ({@link Listener}) before anyone else: that the peer is owed (it shows FAILING), then that it is over (DONE); only
 * then do the migration's listener and future hear the outcome ({@link MigrationLifecycle#complete()}).
 * <pre>
 *   end(report, null)  ──────────────────────────────────────────────► over
 *   end(report, code) ─► peer owed ─► deliver() per duty cycle ──────► over   (sent, closed, or deadline passed)
 *                                   └► close(): one last try ─────────► over
 * </pre>
 * Threading: the conductor's thread. No allocation.
 */
public final class MigrationEnding
{
    /** How long a failing side goes on offering its ERROR frame to the peer. */
    public static final long ERROR_DELIVERY_NS = TimeUnit.SECONDS.toNanos(1);

    /**
     * The conductor's side of the ending. Called on the conductor's thread.
     */
    @FunctionalInterface
    public interface Listener
    {
        /**
         * @param over false when the peer is first owed its ERROR (the conductor shows FAILING and reads no more),
         *             true when the migration is over (it shows DONE), before its listener and future hear.
         */
        void onEnding(boolean over);
    }

    private final MigrationLifecycle lifecycle;
    private final PeerNotice.Sender peer;
    private final NanoClock clock;
    private final Listener conductor;
    private final PeerNotice notice = new PeerNotice();
    private boolean over;

    /**
     * @param lifecycle fixes the outcome, then notifies the migration's listener and completes its future.
     * @param peer      puts the ERROR frame on the wire (the side's proxy).
     * @param clock     the context's clock, read on each delivery attempt.
     * @param conductor hears of each step first.
     */
    public MigrationEnding(
        final MigrationLifecycle lifecycle,
        final PeerNotice.Sender peer,
        final NanoClock clock,
        final Listener conductor)
    {
        this.lifecycle = lifecycle;
        this.peer = peer;
        this.clock = clock;
        this.conductor = conductor;
    }

    /**
     * Fix the outcome, then be over at once or, if the peer is to be told, owe it the ERROR and try once to send it.
     * Call once.
     *
     * @param report    the outcome.
     * @param peerError the ERROR code the peer is owed, or null if it is not to be told.
     * @param reason    the ERROR frame's message.
     * @param nowNs     current time, from which the delivery deadline runs.
     */
    public void end(final MigrationReport report, final ErrorCode peerError, final String reason, final long nowNs)
    {
        lifecycle.decide(report);
        if (null == peerError)
        {
            finish();
        }
        else
        {
            notice.queue(peerError, reason, nowNs + ERROR_DELIVERY_NS);
            conductor.onEnding(false);
            deliver();
        }
    }

    /**
     * One duty cycle's try at the owed ERROR: over once it is sent, the stream closed, or the deadline passed.
     *
     * @return 1 if this made the migration over, else 0.
     */
    public int deliver()
    {
        if (notice.deliver(peer, clock.nanoTime()))
        {
            finish();
            return 1;
        }
        return 0;
    }

    /**
     * The agent closes: unless already over, one last try at an owed ERROR whatever its deadline, then over.
     */
    public void close()
    {
        if (!over)
        {
            notice.deliver(peer, Long.MAX_VALUE);
            finish();
        }
    }

    /** @return true once the migration is over: the listener heard the outcome and the future completed. */
    public boolean isOver()
    {
        return over;
    }

    private void finish()
    {
        over = true;
        conductor.onEnding(true);
        lifecycle.complete();
    }
}
