package io.pagestream.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.pagestream.kernel.KernelCallException.failed;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Reads a {@link UserFaultFd}'s messages in batches into memory allocated once: poll(2) with a timeout, then one
 * read(2) of as many 32-byte {@code struct uffd_msg} as are ready and fit (layout in {@link UserFaultFd}). The
 * accessors read fields of the current batch in place, so a fault costs no allocation.
 * <p>
 * Threading: one reader thread. The batch is replaced by the next {@link #poll(int)}.
 */
public final class FaultMessageReader implements AutoCloseable
{
    /** Size of one struct uffd_msg. */
    public static final int MESSAGE_BYTES = 32;

    private final UserFaultFd userFaultFd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment messages;
    private final MemorySegment pollFd;
    private final int capacity;
    private int count;

    /**
     * @param userFaultFd the descriptor to read; it must outlive this reader.
     * @param capacity    messages one {@link #poll(int)} can read, at least 1.
     */
    public FaultMessageReader(final UserFaultFd userFaultFd, final int capacity)
    {
        if (capacity < 1)
        {
            throw new IllegalArgumentException("capacity must be at least 1: " + capacity);
        }
        this.userFaultFd = userFaultFd;
        this.capacity = capacity;
        messages = arena.allocate((long)MESSAGE_BYTES * capacity, 8);
        pollFd = arena.allocate(8, 8);
    }

    /**
     * Wait up to {@code timeoutMs} for messages, then read those ready, replacing the previous batch.
     *
     * @param timeoutMs how long to wait in milliseconds: 0 not at all, negative for ever.
     * @return messages read, 0 on timeout or interruption by a signal.
     * @throws KernelCallException if poll or read fail otherwise.
     */
    public int poll(final int timeoutMs)
    {
        count = 0;
        final int fd = userFaultFd.fd();
        pollFd.set(JAVA_INT, 0, fd);
        pollFd.set(JAVA_SHORT, 4, Libc.POLLIN);
        pollFd.set(JAVA_SHORT, 6, (short)0);
        final int ready = Descriptors.poll(pollFd.address(), 1, timeoutMs);
        if (ready == 0 || ready == -Errno.EINTR)
        {
            return 0;
        }
        if (ready < 0)
        {
            throw failed("poll(userfaultfd " + fd + ")", ready);
        }
        final long bytes = Descriptors.read(fd, messages.address(), (long)MESSAGE_BYTES * capacity);
        // EAGAIN: another reader took the messages, or a waiter was woken before we read.
        if (bytes == -Errno.EAGAIN || bytes == -Errno.EINTR)
        {
            return 0;
        }
        if (bytes < 0)
        {
            throw failed("read(userfaultfd " + fd + ")", bytes);
        }
        count = (int)(bytes / MESSAGE_BYTES);
        return count;
    }

    /**
     * @return messages in the current batch.
     */
    public int count()
    {
        return count;
    }

    /**
     * @param index from 0 to {@code count() - 1}.
     * @return uffd_msg.event, e.g. {@link UserFaultFd#EVENT_PAGEFAULT}.
     */
    public int event(final int index)
    {
        return messages.get(JAVA_BYTE, offset(index)) & 0xFF;
    }

    /**
     * @param index from 0 to {@code count() - 1}.
     * @return the page fault flags: {@link UserFaultFd#PAGEFAULT_FLAG_WRITE}, {@code _WP}, {@code _MINOR}.
     */
    public long flags(final int index)
    {
        return messages.get(JAVA_LONG, offset(index) + 8);
    }

    /**
     * @param index from 0 to {@code count() - 1}.
     * @return the faulting address: page-aligned unless {@link UserFaultFd#FEATURE_EXACT_ADDRESS} is enabled.
     */
    public long address(final int index)
    {
        return messages.get(JAVA_LONG, offset(index) + 16);
    }

    /**
     * @param index from 0 to {@code count() - 1}.
     * @return the faulting thread's id if {@link UserFaultFd#FEATURE_THREAD_ID} is enabled, else 0.
     */
    public int threadId(final int index)
    {
        return messages.get(JAVA_INT, offset(index) + 24);
    }

    private long offset(final int index)
    {
        if (index < 0 || index >= count)
        {
            throw new IndexOutOfBoundsException("message " + index + " of " + count);
        }
        return (long)MESSAGE_BYTES * index;
    }

    /**
     * Free the message memory. The {@link UserFaultFd} stays open. Idempotent; call from the reader thread.
     */
    public void close()
    {
        if (arena.scope().isAlive())
        {
            arena.close();
        }
    }
}
