package io.pagestream;

import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationProgress;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.status.CounterType;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code progress()} and the counters are read from any thread, also while and after the migration is closed: their
 * memory (Aeron's counters) is unmapped at close, which a reader racing it once turned into a SIGSEGV of the whole JVM
 * (found by the fault matrix's link-cutter thread). Readers hammer both sides through the close; after it they read
 * the figures as they were.
 */
class ProgressAfterCloseSystemTest
{
    @Test
    @Timeout(60)
    void readersNeverTouchUnmappedCountersAndSeeTheLastFiguresAfterClose() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(new SyntheticGuest.Config().sizeBytes(32L << 20)
            .workload(Workload.HOTSET).dirtyRatePagesPerSec(2_000).fillFraction(0.5).seed(5)))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { }, s -> { }, 60);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            final long sentBefore = PageStream.counter(harness.source, CounterType.PAGES_SENT);
            assertTrue(sentBefore > 0);

            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicLong reads = new AtomicLong();
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final Thread[] readers = new Thread[2];
            for (int i = 0; i < readers.length; i++)
            {
                readers[i] = new Thread(() ->
                {
                    try
                    {
                        while (!stop.get())
                        {
                            harness.source.progress();
                            harness.target.progress();
                            PageStream.counter(harness.source, CounterType.PAGES_SENT);
                            PageStream.counter(harness.target, CounterType.FAULTS);
                            reads.incrementAndGet();
                        }
                    }
                    catch (final Throwable t)
                    {
                        failure.set(t);
                    }
                }, "progress-reader-" + i);
                readers[i].start();
            }
            Thread.sleep(20);
            harness.source.close();
            harness.target.close();
            Thread.sleep(20);
            stop.set(true);
            for (final Thread reader : readers)
            {
                reader.join(5_000);
            }
            assertNull(failure.get());
            assertTrue(reads.get() > 0);

            final MigrationProgress after = harness.source.progress();
            assertEquals(MigrationPhase.COMPLETE, after.phase());
            assertEquals(sentBefore, after.pagesTransferred(), "the figures as they were at close");
            assertEquals(sentBefore, PageStream.counter(harness.source, CounterType.PAGES_SENT));
            assertEquals(MigrationPhase.COMPLETE, harness.target.progress().phase());
        }
    }
}
