package io.pagestream;

import io.pagestream.api.MigrationProgress;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Lets any thread read a migration's live figures (its progress and counters live in memory the Aeron client maps)
 * while {@code close()} may unmap them: a reader enters, reads and leaves; {@link #snapshotAndShut} keeps the last
 * figures, shuts the gate and waits for the readers inside, so nothing is read from memory already unmapped. A
 * reader turned away gets the snapshot. No lock: a reader is never blocked, even by a close taking seconds.
 */
final class ReadGate
{
    private final AtomicInteger readers = new AtomicInteger();
    private final long[] closedCounters = new long[CounterType.values().length];
    private volatile boolean shut;
    private volatile MigrationProgress closedProgress;

    /**
     * @param live reads the live progress.
     * @return the live progress, or the one at close once the gate is shut.
     */
    MigrationProgress progress(final Supplier<MigrationProgress> live)
    {
        if (enter())
        {
            try
            {
                return live.get();
            }
            finally
            {
                readers.decrementAndGet();
            }
        }
        return closedProgress;
    }

    /**
     * @param counters the migration's counters.
     * @param type     which one.
     * @return its live value, or the one at close once the gate is shut.
     */
    long counter(final MigrationCounters counters, final CounterType type)
    {
        if (enter())
        {
            try
            {
                return counters.value(type);
            }
            finally
            {
                readers.decrementAndGet();
            }
        }
        return closedCounters[type.ordinal()];
    }

    /**
     * Keep the last figures, turn every later reader away and wait for the ones inside (microseconds each). Call
     * before the counters and the Aeron client are closed.
     *
     * @param live     reads the live progress; null if there is none (a launch that failed).
     * @param counters the counters; null if there are none.
     */
    void snapshotAndShut(final Supplier<MigrationProgress> live, final MigrationCounters counters)
    {
        if (null != live)
        {
            closedProgress = live.get();
        }
        if (null != counters)
        {
            for (final CounterType type : CounterType.values())
            {
                closedCounters[type.ordinal()] = counters.value(type);
            }
        }
        shut = true;
        while (readers.get() != 0)
        {
            Thread.onSpinWait();
        }
    }

    private boolean enter()
    {
        readers.incrementAndGet();
        if (shut)
        {
            readers.decrementAndGet();
            return false;
        }
        return true;
    }
}
