package io.pagestream.kernel;

import java.lang.foreign.MemorySegment;

/**
 * The C library's calls on file descriptors (open, close, lseek, ftruncate, pread, read, poll, ioctl, memfd_create,
 * and syscall(2) for the one call without a wrapper), with the conventions of {@link Libc}: results as the C function
 * returns them, failures as {@code -errno}, pointers as {@code long} addresses, no allocation.
 * <p>
 * Threading: every method may be called from any thread. Only call when {@link Libc#AVAILABLE}.
 */
final class Descriptors
{
    private Descriptors()
    {
    }

    /**
     * @param request an ioctl number, as the unsigned 32-bit value the kernel compares.
     * @param argument a pointer to the argument struct, or a plain value for ioctls that take one.
     */
    static int ioctl(final int fd, final long request, final long argument)
    {
        final MemorySegment capture = Libc.scratch().capture;
        try
        {
            return Libc.result(capture, (int)Libc.Handles.IOCTL.invokeExact(capture, fd, request, argument));
        }
        catch (final Throwable ex)
        {
            throw Libc.rethrow(ex);
        }
    }

    /**
     * @param path address of a NUL-terminated path.
     */
    static int open(final long path, final int flags, final int mode)
    {
        final MemorySegment capture = Libc.scratch().capture;
        try
        {
            return Libc.result(capture, (int)Libc.Handles.OPEN.invokeExact(capture, path, flags, mode));
        }
        catch (final Throwable ex)
        {
            throw Libc.rethrow(ex);
        }
    }

    static int close(final int fd)
    {
        final MemorySegment capture = Libc.scratch().capture;
        try
        {
            return Libc.result(capture, (int)Libc.Handles.CLOSE.invokeExact(capture, fd));
        }
        catch (final Throwable ex)
        {
            throw Libc.rethrow(ex);
        }
    }

    static long lseek(final int fd, final long offset, final int whence)
    {
        final MemorySegment capture = Libc.scratch().capture;
        try
        {
            return Libc.result(capture, (long)Libc.Handles.LSEEK.invokeExact(capture, fd, offset, whence));
        }
        catch (final Throwable ex)
        {
            throw Libc.rethrow(ex);
        }
    }

    static int ftruncate(final int fd, final long length)
    {
        final MemorySegment capture = Libc.scratch().capture;
        try
        {
            return Libc.result(capture, (int)Libc.Handles.FTRUNCATE.invokeExact(capture, fd, length));
        }
        catch (final Throwable ex)
        {
            throw Libc.rethrow(ex);
        }
    }

    static long pread(final int fd, final long buffer, final long count, final long offset)
    {
        final MemorySegment capture = Libc.scratch().capture;
        try
        {
            return Libc.result(capture, (long)Libc.Handles.PREAD.invokeExact(capture, fd, buffer, count, offset));
        }
        catch (final Throwable ex)
        {
            throw Libc.rethrow(ex);
        }
    }

    static long read(final int fd, final long buffer, final long count)
    {
        final MemorySegment capture = Libc.scratch().capture;
        try
        {
            return Libc.result(capture, (long)Libc.Handles.READ.invokeExact(capture, fd, buffer, count));
        }
        catch (final Throwable ex)
        {
            throw Libc.rethrow(ex);
        }
    }

    /**
     * @param pollFds address of {@code nfds} {@code struct pollfd} (int fd, short events, short revents: 8 bytes).
     */
    static int poll(final long pollFds, final long nfds, final int timeoutMs)
    {
        final MemorySegment capture = Libc.scratch().capture;
        try
        {
            return Libc.result(capture, (int)Libc.Handles.POLL.invokeExact(capture, pollFds, nfds, timeoutMs));
        }
        catch (final Throwable ex)
        {
            throw Libc.rethrow(ex);
        }
    }

    /**
     * @param name address of a NUL-terminated name.
     * @return a file descriptor or {@code -errno}; {@code -Errno.ENOSYS} if neither the C library nor the kernel has it.
     */
    static int memfdCreate(final long name, final int flags)
    {
        final MemorySegment capture = Libc.scratch().capture;
        try
        {
            if (null == Libc.Handles.MEMFD_CREATE)
            {
                return -Errno.ENOSYS;
            }
            return Libc.result(capture, (int)Libc.Handles.MEMFD_CREATE.invokeExact(capture, name, flags));
        }
        catch (final Throwable ex)
        {
            throw Libc.rethrow(ex);
        }
    }

    /**
     * syscall(2) with one argument, for calls the C library does not wrap (userfaultfd).
     */
    static long syscall1(final long number, final long argument)
    {
        final MemorySegment capture = Libc.scratch().capture;
        try
        {
            return Libc.result(capture, (long)Libc.Handles.SYSCALL1.invokeExact(capture, number, argument));
        }
        catch (final Throwable ex)
        {
            throw Libc.rethrow(ex);
        }
    }

    /**
     * syscall(2) with five arguments (process_madvise).
     */
    static long syscall5(
        final long number, final long a1, final long a2, final long a3, final long a4, final long a5)
    {
        final MemorySegment capture = Libc.scratch().capture;
        try
        {
            return Libc.result(capture, (long)Libc.Handles.SYSCALL5.invokeExact(capture, number, a1, a2, a3, a4, a5));
        }
        catch (final Throwable ex)
        {
            throw Libc.rethrow(ex);
        }
    }
}
