package io.pagestream.sending;

import io.pagestream.pages.PageBitmap;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.ZeroRunFlyweight;
import io.pagestream.transport.RecordingSink;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Post-copy on the source: faulted pages first on the urgent lane, the push held back in the quiet window after a
 * request, pre-paging from just after the latest fault, and the end of the push.
 */
class PostcopySessionTest
{
    private static final int PAGES = 1024;

    private static PostcopySession session(final SourceFixture f, final long quietUs)
    {
        f.urgent.open("aeron:udp?endpoint=127.0.0.1:40402");
        return new PostcopySession(f.lanes, f.urgent, new ControlAdapter(null, f.guard, null, 1, PAGES), quietUs,
            f.limiter, 0);
    }

    private static List<Long> pagesIn(final RecordingSink sink)
    {
        final List<Long> pages = new ArrayList<>();
        final PageFlyweight page = new PageFlyweight();
        final ZeroRunFlyweight zeroRun = new ZeroRunFlyweight();
        for (int i = 0; i < sink.count(); i++)
        {
            if (sink.type(i) == FrameType.PAGE)
            {
                page.wrapForRead(sink.buffer(), sink.offset(i));
                pages.add(page.pageIndex());
            }
            else if (sink.type(i) == FrameType.ZERO_RUN)
            {
                zeroRun.wrapForRead(sink.buffer(), sink.offset(i));
                for (long p = zeroRun.firstPageIndex(); p < zeroRun.firstPageIndex() + zeroRun.pageCount(); p++)
                {
                    pages.add(p);
                }
            }
        }
        return pages;
    }

    @Test
    void shouldSendAFaultedPageOnTheUrgentLaneFirstAndHoldThePushForTheQuietWindow()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        final PageBitmap pending = new PageBitmap(PAGES);
        pending.set(10);
        pending.set(600);
        pending.set(900);
        final PostcopySession session = session(f, 300);
        session.start(pending, 4);
        session.onPageRequest(600, f.clock.nanoTime());
        session.doWork(f.clock.nanoTime());

        final RecordingSink urgentSink = f.links.sinks().get(0);
        assertThat(pagesIn(urgentSink)).containsExactly(600L);
        assertThat(pagesIn(f.sinks[0])).as("the push waits while the fault is served").isEmpty();
        assertThat(pending.get(600)).as("a page sent urgently is not pushed again").isFalse();

        f.advanceMs(1);
        session.doWork(f.clock.nanoTime());
        assertThat(pagesIn(f.sinks[0])).containsExactly(900L, 10L); // pre-paging: after the fault, then wrap round
        assertThat(session.state()).isEqualTo(PostcopySession.State.PUSHED);
        assertThat(session.pagesRemaining()).isZero();
        assertThat(f.urgent.stats().urgentPages).isEqualTo(1);
        assertThat(f.lanes.stats().postcopyPages).isEqualTo(2);
    }

    @Test
    void shouldSendAZeroPageAsAOnePageRunOnTheUrgentLane()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        final PageBitmap pending = new PageBitmap(PAGES);
        pending.set(601); // 601 % 3 != 0: a zero page in the fixture's guest
        final PostcopySession session = session(f, 0);
        session.start(pending, 1);
        session.onPageRequest(601, f.clock.nanoTime());
        session.doWork(f.clock.nanoTime());
        final RecordingSink urgentSink = f.links.sinks().get(0);
        assertThat(urgentSink.types()).containsExactly(FrameType.ZERO_RUN);
        assertThat(pagesIn(urgentSink)).containsExactly(601L);
    }

    @Test
    void shouldHoldRequestsUntilTheUrgentLaneIsOpen()
    {
        final SourceFixture f = new SourceFixture(PAGES, 1);
        f.links.pollsBeforeReady(2);
        final PageBitmap pending = new PageBitmap(PAGES);
        pending.set(300);
        final PostcopySession session = session(f, 1_000_000);
        session.start(pending, 1);
        session.onPageRequest(300, f.clock.nanoTime());
        session.doWork(f.clock.nanoTime());
        session.doWork(f.clock.nanoTime());
        assertThat(f.links.sinks()).isEmpty();
        assertThat(f.urgent.queued()).isEqualTo(1);
        session.doWork(f.clock.nanoTime());
        assertThat(pagesIn(f.links.sinks().get(0))).containsExactly(300L);
    }
}
