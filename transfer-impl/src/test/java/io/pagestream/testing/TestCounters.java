package io.pagestream.testing;

import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;

import java.nio.ByteBuffer;

/**
 * Counters in memory of the test's own, for conductors and sessions built without a media driver.
 */
public final class TestCounters
{
    private TestCounters()
    {
    }

    /**
     * @param types the counters to allocate.
     * @return the counters.
     */
    public static MigrationCounters of(final CounterType... types)
    {
        final CountersManager manager = new CountersManager(
            new UnsafeBuffer(ByteBuffer.allocateDirect(1 << 20)), new UnsafeBuffer(ByteBuffer.allocateDirect(1 << 18)));
        return new MigrationCounters(manager, 0, types);
    }
}
