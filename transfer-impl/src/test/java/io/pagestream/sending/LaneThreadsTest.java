package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.policy.MigrationDecision;
import io.pagestream.pages.LanePartition;
import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.RoundEndFlyweight;
import io.pagestream.transport.FrameSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Lanes on threads of their own ({@code laneThreads}): each lane after the first sends its share of a round on its
 * own thread, the round ends only once every lane is handed back, the round's counts reach the tracker, and a lane's
 * failure is thrown on the agent's thread. The lanes' threads run for real here; the agent's side loops until they
 * are done, bounded by wall time, never sleeping.
 */
class LaneThreadsTest
{
    private static final int PAGES = 2048; // four 512-page stripes
    private static final long BOUND_NS = TimeUnit.SECONDS.toNanos(20);

    private static PrecopySession session(final SourceFixture f)
    {
        final PrecopySession session = new PrecopySession(f.lanes, f.guestControl(), f.tracker,
            figures -> MigrationDecision.CONTINUE, new MigrationListener()
            {
            }, Throwable::printStackTrace, f.phases::add, new PageBitmap(PAGES), new PageBitmap(PAGES));
        session.start(false, f.clock.nanoTime());
        return session;
    }

    private static void runRound(final PrecopySession session, final SourceFixture f)
    {
        final int round = session.round();
        final long deadline = System.nanoTime() + BOUND_NS;
        while (session.round() == round && System.nanoTime() < deadline)
        {
            session.doWork(f.clock.nanoTime());
        }
        assertThat(session.round()).as("the round ended within the bound").isEqualTo(round + 1);
    }

    @Test
    @Timeout(60)
    void shouldSendEachLanesShareOnItsOwnThreadAndEndTheRoundWhenEveryLaneIsBack()
    {
        final SourceFixture f = new SourceFixture(PAGES, 3, c -> c.laneThreads(true));
        try
        {
            assertThat(f.lanes.laneThreads()).isEqualTo(2);
            final PrecopySession session = session(f);
            runRound(session, f);

            assertThat(f.pagesSent(0).cardinality()).as("every page once").isEqualTo(PAGES);
            long pages = 0;
            for (int lane = 0; lane < 3; lane++)
            {
                final List<RoundEndFlyweight> ends = f.roundEnds(lane, 0);
                assertThat(ends).hasSize(1);
                final PageBitmap all = new PageBitmap(PAGES);
                all.setAll();
                assertThat(ends.get(0).pages()).isEqualTo(new LanePartition(lane, 3, PAGES).cardinality(all));
                pages += ends.get(0).pages();
            }
            assertThat(f.sinks[0].senderThreads()).as("lane 0 stays on the agent's thread")
                .containsExactly(Thread.currentThread().getName());
            assertThat(f.sinks[1].senderThreads()).containsExactly("pagestream-lane-1");
            assertThat(f.sinks[2].senderThreads()).containsExactly("pagestream-lane-2");
            assertThat(f.tracker.pagesSentInRound()).as("the lanes' counts reached the tracker").isEqualTo(pages);
        }
        finally
        {
            f.lanes.close();
        }
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().startsWith("pagestream-lane-"));
    }

    @Test
    @Timeout(60)
    void shouldNotEndTheRoundWhileALaneOnItsThreadIsBackPressured()
    {
        final SourceFixture f = new SourceFixture(PAGES, 3, c -> c.laneThreads(true));
        try
        {
            f.sinks[2].defaultOutcome(FrameSink.RETRY);
            final PrecopySession session = session(f);
            final long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            while (System.nanoTime() < until)
            {
                session.doWork(f.clock.nanoTime());
            }
            assertThat(f.roundEnds(0, 0)).hasSize(1);
            assertThat(f.roundEnds(1, 0)).hasSize(1);
            assertThat(session.round()).as("the round waits for lane 2").isZero();

            f.sinks[2].defaultOutcome(FrameSink.SENT);
            runRound(session, f);
            assertThat(f.pagesSent(0).cardinality()).isEqualTo(PAGES);
        }
        finally
        {
            f.lanes.close();
        }
    }

    @Test
    @Timeout(60)
    void shouldThrowALaneThreadsFailureOnTheAgentsThread()
    {
        final SourceFixture f = new SourceFixture(PAGES, 3, c -> c.laneThreads(true));
        try
        {
            f.sinks[2].defaultOutcome(FrameSink.CLOSED);
            final PrecopySession session = session(f);
            assertThatThrownBy(() ->
            {
                final long deadline = System.nanoTime() + BOUND_NS;
                while (System.nanoTime() < deadline)
                {
                    session.doWork(f.clock.nanoTime());
                }
            })
                .isInstanceOf(MigrationException.class)
                .hasMessageContaining("data lane 2")
                .satisfies(ex -> assertThat(((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.PEER_LOST));
        }
        finally
        {
            f.lanes.close();
        }
    }
}
