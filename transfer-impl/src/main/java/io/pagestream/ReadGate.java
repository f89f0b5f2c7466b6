package io.pagestream;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Lets any thread read a migration's live figures (its counters live in memory the Aeron client maps) while
 * {@code close()} may unmap them: a reader enters, reads and exits; {@link #closeAndAwaitReaders()} shuts the gate and
 * waits for the readers inside, so nothing is read from memory already unmapped. A reader turned away reads the
 * snapshot taken before the gate shut. No lock: a reader is never blocked, even by a close taking seconds.
 */
final class ReadGate
{
    private final AtomicInteger readers = new AtomicInteger();
    private volatile boolean shut;

    /** @return true if the reader may read live figures; then it must {@link #exit()}. */
    boolean enter()
    {
        readers.incrementAndGet();
        if (shut)
        {
            readers.decrementAndGet();
            return false;
        }
        return true;
    }

    /** A reader that entered is done. */
    void exit()
    {
        readers.decrementAndGet();
    }

    /** Turn every later reader away and wait for the ones inside (their reads take microseconds). */
    void closeAndAwaitReaders()
    {
        shut = true;
        while (readers.get() != 0)
        {
            Thread.onSpinWait();
        }
    }
}
