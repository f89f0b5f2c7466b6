package io.pagestream.status;

import io.aeron.Aeron;
import org.agrona.CloseHelper;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;

import java.util.EnumMap;
import java.util.Map;

/**
 * A set of {@link CounterType} counters for one side of one migration: allocated in the media driver, so other
 * processes can read them, or in a {@link CountersManager} of the caller's (tests, tools).
 * Threading: each counter has one writer, the conductor; readers may be anywhere.
 */
public final class MigrationCounters implements AutoCloseable
{
    private final Map<CounterType, AtomicCounter> counters = new EnumMap<>(CounterType.class);

    /**
     * @param aeron       client to allocate with.
     * @param migrationId appended to each label.
     * @param types       which counters to allocate.
     */
    public MigrationCounters(final Aeron aeron, final long migrationId, final CounterType... types)
    {
        try
        {
            for (final CounterType type : types)
            {
                counters.put(type, aeron.addCounter(
                    type.typeId(), type.label() + " migrationId=" + Long.toHexString(migrationId)));
            }
        }
        catch (final RuntimeException ex)
        {
            close();
            throw ex;
        }
    }

    /**
     * @param manager     to allocate in.
     * @param migrationId appended to each label.
     * @param types       which counters to allocate.
     */
    public MigrationCounters(final CountersManager manager, final long migrationId, final CounterType... types)
    {
        for (final CounterType type : types)
        {
            counters.put(type, manager.newCounter(
                type.label() + " migrationId=" + Long.toHexString(migrationId), type.typeId()));
        }
    }

    /**
     * @param type of counter; must have been allocated.
     * @return the counter.
     */
    public AtomicCounter get(final CounterType type)
    {
        final AtomicCounter counter = counters.get(type);
        if (null == counter)
        {
            throw new IllegalArgumentException("counter not allocated: " + type);
        }
        return counter;
    }

    /**
     * @param type of counter.
     * @return its current value, 0 if not allocated or closed.
     */
    public long value(final CounterType type)
    {
        final AtomicCounter counter = counters.get(type);
        return null == counter || counter.isClosed() ? 0 : counter.get();
    }

    /** Free the counters. Idempotent. */
    public void close()
    {
        CloseHelper.closeAll(counters.values());
    }
}
