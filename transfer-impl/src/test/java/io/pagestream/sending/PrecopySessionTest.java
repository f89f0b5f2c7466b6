package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.policy.MigrationDecision;
import io.pagestream.api.policy.MigrationPolicy;
import io.pagestream.codec.Checksums;
import io.pagestream.pages.LanePartition;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.RoundEndFlyweight;
import io.pagestream.transport.FrameSink;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Pre-copy on the source: the bulk pass and rounds over recording lanes, the policy's every decision, per-lane round
 * ends, back-pressure on one lane and the bandwidth cap across duty cycles.
 */
class PrecopySessionTest
{
    private static final int PAGES = 2048; // four 512-page stripes

    private final ArrayDeque<MigrationDecision> decisions = new ArrayDeque<>();
    private final MigrationPolicy policy = figures -> decisions.isEmpty() ?
        MigrationDecision.CONTINUE : decisions.poll();

    private PrecopySession session(final SourceFixture f, final boolean postcopy)
    {
        final PrecopySession session = new PrecopySession(f.lanes, f.guestControl(), f.tracker, policy,
            new MigrationListener()
            {
            }, Throwable::printStackTrace, f.phases::add, new PageBitmap(PAGES), new PageBitmap(PAGES));
        session.start(postcopy, f.clock.nanoTime());
        return session;
    }

    private static void runRound(final SourceFixture f, final PrecopySession session)
    {
        final int round = session.round();
        for (int i = 0; i < 10_000 && session.round() == round && !session.isDone(); i++)
        {
            session.doWork(f.clock.nanoTime());
        }
    }

    @Test
    void shouldSendEveryPageOnceInTheBulkPassEachOnItsLaneAndEndTheRoundOnEveryLane()
    {
        final SourceFixture f = new SourceFixture(PAGES, 3);
        final PrecopySession session = session(f, false);
        assertThat(f.hypervisor.calls).containsExactly("startTracking");
        assertThat(f.phases).containsExactly(MigrationPhase.BULK);

        runRound(f, session);

        final PageBitmap sent = f.pagesSent(0);
        assertThat(sent.cardinality()).isEqualTo(PAGES);
        for (int lane = 0; lane < 3; lane++)
        {
            final List<RoundEndFlyweight> ends = f.roundEnds(lane, 0);
            assertThat(ends).hasSize(1);
            final long lanePages = new LanePartition(lane, 3, PAGES).cardinality(fullMap());
            assertThat(ends.get(0).pages()).as("lane %d's count", lane).isEqualTo(lanePages);
            assertThat(f.sinks[lane].type(f.sinks[lane].count() - 1)).isEqualTo(FrameType.ROUND_END);
        }
        assertThat(f.hypervisor.calls).containsExactly("startTracking", "fetch");
        assertThat(session.round()).isEqualTo(1);
        assertThat(f.phases).containsExactly(MigrationPhase.BULK, MigrationPhase.ITERATE);
    }

    @Test
    void shouldSendDataPagesRawWithTheChecksumOfWhatIsInGuestMemory()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        final PrecopySession session = session(f, false);
        runRound(f, session);
        final PageFlyweight page = new PageFlyweight();
        int checked = 0;
        for (int i = 0; i < f.sinks[0].count(); i++)
        {
            if (f.sinks[0].type(i) == FrameType.PAGE)
            {
                page.wrapForRead(f.sinks[0].buffer(), f.sinks[0].offset(i));
                assertThat(page.pageIndex() % 3).as("only data pages travel as pages").isZero();
                assertThat(page.checksum()).isEqualTo(
                    Checksums.crc32c(f.memory.pageAddress(page.pageIndex()), SourceFixture.PAGE));
                checked++;
            }
        }
        assertThat(checked).isEqualTo((PAGES + 2) / 3);
    }

    @Test
    void shouldSendOnlyThePagesDirtiedMeanwhileInTheNextRound()
    {
        final SourceFixture f = new SourceFixture(PAGES, 3);
        f.hypervisor.dirtyNext(5, 600, 1500, 1501);
        final PrecopySession session = session(f, false);
        runRound(f, session);
        runRound(f, session);
        final PageBitmap sent = f.pagesSent(1);
        assertThat(sent.cardinality()).isEqualTo(4);
        assertThat(sent.get(5) && sent.get(600) && sent.get(1500) && sent.get(1501)).isTrue();
        assertThat(f.tracker.pagesSentInRound()).isEqualTo(4);
    }

    @Test
    void shouldThrottleTheGuestWhenThePolicySaysSo()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        decisions.add(MigrationDecision.throttle(0.5, "too fast"));
        final PrecopySession session = session(f, false);
        runRound(f, session);
        assertThat(f.hypervisor.calls).contains("throttle 0.5");
        assertThat(f.tracker.throttleFraction()).isEqualTo(0.5);
        assertThat(session.state()).isEqualTo(PrecopySession.State.ITERATE);
    }

    @Test
    void shouldPauseFetchAndSendTheLastRoundThenEndWithStopAndCopy()
    {
        final SourceFixture f = new SourceFixture(PAGES, 2);
        f.hypervisor.dirtyNext(7).dirtyNext(8, 9);
        decisions.add(MigrationDecision.stopAndCopy("small enough"));
        final PrecopySession session = session(f, false);
        runRound(f, session);
        assertThat(f.hypervisor.calls).containsExactly("startTracking", "fetch", "pause", "fetch");
        assertThat(session.state()).isEqualTo(PrecopySession.State.STOP_AND_COPY);
        assertThat(f.phases).endsWith(MigrationPhase.STOP_AND_COPY);

        runRound(f, session);
        assertThat(session.isDone()).isTrue();
        assertThat(session.outcome()).isEqualTo(PrecopySession.Outcome.STOP_AND_COPY);
        assertThat(f.pagesSent(1).cardinality()).isEqualTo(3);
        assertThat(session.roundsEnded()).isEqualTo(2);
    }

    @Test
    void shouldFailNotConvergedWhenThePolicyGivesUp()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        decisions.add(MigrationDecision.abort("rounds do not converge"));
        final PrecopySession session = session(f, false);
        assertThatThrownBy(() -> runRound(f, session))
            .isInstanceOf(MigrationException.class)
            .hasMessageContaining("rounds do not converge")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.NOT_CONVERGED);
    }

    @Test
    void shouldEndWithPostcopyOnlyWhenTheTargetAgreedToIt()
    {
        final SourceFixture without = new SourceFixture(PAGES, 1);
        decisions.add(MigrationDecision.postcopy("switch"));
        final PrecopySession refused = session(without, false);
        assertThatThrownBy(() -> runRound(without, refused))
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.MISSING_CAPABILITY);

        final SourceFixture with = new SourceFixture(PAGES, 1);
        decisions.add(MigrationDecision.postcopy("switch"));
        final PrecopySession agreed = session(with, true);
        runRound(with, agreed);
        assertThat(agreed.isDone()).isTrue();
        assertThat(agreed.outcome()).isEqualTo(PrecopySession.Outcome.POSTCOPY);
        assertThat(with.hypervisor.calls).doesNotContain("pause"); // the switchover pauses, not the round
    }

    @Test
    void shouldHoldABackPressuredLaneWithoutHoldingTheOthers()
    {
        final SourceFixture f = new SourceFixture(PAGES, 3);
        f.sinks[1].defaultOutcome(FrameSink.RETRY);
        final PrecopySession session = session(f, false);
        for (int i = 0; i < 2_000; i++)
        {
            session.doWork(f.clock.nanoTime());
        }
        assertThat(f.roundEnds(0, 0)).hasSize(1);
        assertThat(f.roundEnds(2, 0)).hasSize(1);
        assertThat(f.sinks[1].count()).isZero();
        assertThat(session.round()).as("the round waits for every lane").isZero();

        f.sinks[1].defaultOutcome(FrameSink.SENT);
        runRound(f, session);
        assertThat(session.round()).isEqualTo(1);
        assertThat(f.pagesSent(0).cardinality()).isEqualTo(PAGES);
    }

    @Test
    void shouldKeepToTheBandwidthCapAcrossDutyCyclesWithoutWaitingInOne()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1, c -> c.maxBandwidthBytesPerSec(1_000_000));
        final PrecopySession session = session(f, false);
        for (int i = 0; i < 100; i++)
        {
            session.doWork(f.clock.nanoTime());
        }
        final long sentBefore = f.sinks[0].bytesSent();
        assertThat(sentBefore).as("a burst, then the cap holds").isLessThan(20_000);
        for (int i = 0; i < 100; i++)
        {
            session.doWork(f.clock.nanoTime());
        }
        assertThat(f.sinks[0].bytesSent()).as("no time passed, nothing more sent").isEqualTo(sentBefore);
        for (int i = 0; i < 100; i++)
        {
            f.advanceMs(1);
            session.doWork(f.clock.nanoTime());
        }
        final long sentIn100Ms = f.sinks[0].bytesSent() - sentBefore;
        assertThat(sentIn100Ms).as("about 100 KB in 100 ms at 1 MB/s").isBetween(90_000L, 115_000L);
    }

    private static PageBitmap fullMap()
    {
        final PageBitmap all = new PageBitmap(PAGES);
        all.setAll();
        return all;
    }
}
