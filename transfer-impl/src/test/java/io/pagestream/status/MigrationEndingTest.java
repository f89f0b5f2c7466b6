package io.pagestream.status;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.transport.FrameSink;
import org.agrona.concurrent.CachedNanoClock;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The ending both conductors share: over at once, or after the ERROR the peer is owed goes out, its stream closes or
 * its one-second deadline passes; a last try on close; and the conductor always hears of each step before the
 * migration's listener and future do.
 */
class MigrationEndingTest
{
    private final CachedNanoClock clock = new CachedNanoClock();
    private final CompletableFuture<MigrationReport> completion = new CompletableFuture<>();
    private final List<String> events = new ArrayList<>();
    private final ArrayDeque<Integer> outcomes = new ArrayDeque<>();
    private final MigrationLifecycle lifecycle = new MigrationLifecycle(new MigrationListener()
    {
        public void onPhaseChange(final MigrationPhase previous, final MigrationPhase next)
        {
            events.add("phase " + next);
        }

        public void onComplete(final MigrationReport report)
        {
            events.add("listener " + report.result());
        }
    }, Throwable::printStackTrace, completion);
    private final PeerNotice.Sender peer = (code, message) ->
    {
        events.add("ERROR " + code + " '" + message + "'");
        return outcomes.isEmpty() ? FrameSink.RETRY : outcomes.poll();
    };
    private final MigrationEnding ending = new MigrationEnding(lifecycle, peer, clock, over ->
    {
        events.add(over ? "DONE" : "FAILING");
        assertThat(completion).as("the conductor hears first").isNotDone();
    });

    private static MigrationReport report(final MigrationResult result, final ErrorCode code)
    {
        return new MigrationReport.Builder().result(result).reason("why").errorCode(code).build();
    }

    @Test
    void shouldBeOverAtOnceWhenThePeerIsNotTold()
    {
        final MigrationReport report = report(MigrationResult.COMPLETED, null);
        ending.end(report, null, null, clock.nanoTime());
        assertThat(events).containsExactly("phase COMPLETE", "DONE", "listener COMPLETED");
        assertThat(completion.getNow(null)).isSameAs(report);
        assertThat(ending.isOver()).isTrue();
    }

    @Test
    void shouldOfferTheOwedErrorOnEachDutyCycleUntilItGoesOut()
    {
        outcomes.add(FrameSink.RETRY);
        outcomes.add(FrameSink.RETRY);
        outcomes.add(FrameSink.SENT);
        ending.end(report(MigrationResult.FAILED, ErrorCode.TIMEOUT), ErrorCode.TIMEOUT, "too slow", 0);
        assertThat(events).containsExactly("phase FAILED", "FAILING", "ERROR TIMEOUT 'too slow'");
        assertThat(ending.isOver()).isFalse();
        assertThat(ending.deliver()).isZero();
        assertThat(completion).isNotDone();
        assertThat(ending.deliver()).isOne();
        assertThat(events).endsWith("ERROR TIMEOUT 'too slow'", "DONE", "listener FAILED");
        assertThat(completion.getNow(null).errorCode()).isEqualTo(ErrorCode.TIMEOUT);
    }

    @Test
    void shouldGiveUpOnTheErrorOnceItsDeadlinePasses()
    {
        clock.update(1_000);
        ending.end(report(MigrationResult.CANCELLED, ErrorCode.CANCELLED), ErrorCode.CANCELLED, "bye",
            clock.nanoTime());
        clock.advance(MigrationEnding.ERROR_DELIVERY_NS);
        assertThat(ending.deliver()).as("still within the deadline").isZero();
        clock.advance(1);
        assertThat(ending.deliver()).isOne();
        assertThat(events).endsWith("DONE", "listener CANCELLED");
        assertThat(events.stream().filter(e -> e.startsWith("ERROR")).count()).isEqualTo(3);
        assertThat(lifecycle.phase()).isEqualTo(MigrationPhase.CANCELLED);
    }

    @Test
    void shouldBeOverAtOnceWhenThePeersStreamIsClosed()
    {
        outcomes.add(FrameSink.CLOSED);
        ending.end(report(MigrationResult.FAILED, ErrorCode.PEER_LOST), ErrorCode.PEER_LOST, "gone", 0);
        assertThat(events).containsExactly("phase FAILED", "FAILING", "ERROR PEER_LOST 'gone'", "DONE",
            "listener FAILED");
        assertThat(ending.isOver()).isTrue();
    }

    @Test
    void shouldGiveAnOwedErrorOneLastTryOnCloseWhateverItsDeadline()
    {
        ending.end(report(MigrationResult.FAILED, ErrorCode.INTERNAL), ErrorCode.INTERNAL, "bug", 0);
        clock.advance(10 * MigrationEnding.ERROR_DELIVERY_NS);
        ending.close();
        assertThat(events).containsExactly("phase FAILED", "FAILING", "ERROR INTERNAL 'bug'", "ERROR INTERNAL 'bug'",
            "DONE", "listener FAILED");
        ending.close();
        assertThat(events).as("closing again does nothing").hasSize(6);
        assertThat(completion).isCompleted();
    }

    @Test
    void shouldNotWriteToThePeerOnCloseWhenNothingIsOwed()
    {
        ending.end(report(MigrationResult.FAILED, ErrorCode.PEER_LOST), null, "silent", 0);
        ending.close();
        assertThat(events).containsExactly("phase FAILED", "DONE", "listener FAILED");
    }
}
