package io.pagestream.kernel;

/**
 * A kernel call failed: the message names the call, its address and length (or file descriptor) and the error, e.g.
 * {@code madvise(MADV_POPULATE_WRITE) address=0x7f3a00000000 lengthBytes=67108864 failed: ENOMEM (Cannot allocate
 * memory)}. Also raised when a call has no implementation here (errno 0, {@link #isUnsupported()}).
 * <p>
 * Bad arguments found before any call is made raise {@link IllegalArgumentException} instead.
 */
public final class KernelCallException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    /**
     * @param call    the call and its arguments as they should appear in the message.
     * @param errno   the positive error number the call set, or 0 if the call is unsupported.
     * @param message the description of the error.
     */
    KernelCallException(final String call, final int errno, final String message)
    {
        super(call + " failed: " + message);
        this.call = call;
        this.errno = errno;
    }

    static KernelCallException failed(final String call, final long negativeErrno)
    {
        final int errno = (int)-negativeErrno;
        return new KernelCallException(call, errno, Errno.describe(errno));
    }

    static KernelCallException unsupported(final String call, final String reason)
    {
        return new KernelCallException(call, 0, "not available: " + reason);
    }

    static String range(final String name, final long address, final long lengthBytes)
    {
        return name + " address=0x" + Long.toHexString(address) + " lengthBytes=" + lengthBytes;
    }

    /**
     * @return the call and its arguments, e.g. {@code "madvise(MADV_DONTNEED) address=0x7f3a00000000 lengthBytes=4096"}.
     */
    public String call()
    {
        return call;
    }

    /**
     * @return the positive errno the call set, or 0 if the call is not available here.
     */
    public int errno()
    {
        return errno;
    }

    /**
     * @return true if the call is not available on this system, rather than failed.
     */
    public boolean isUnsupported()
    {
        return 0 == errno;
    }
}
