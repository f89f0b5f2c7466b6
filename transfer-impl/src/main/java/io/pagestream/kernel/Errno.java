package io.pagestream.kernel;

/**
 * The error numbers PageStream tells apart, as on Linux x86_64 and aarch64 (asm-generic/errno-base.h and errno.h),
 * and their description for exception messages. Threading: stateless.
 */
final class Errno
{
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int ENXIO = 6;
    static final int EBADF = 9;
    static final int EAGAIN = 11;
    static final int ENOMEM = 12;
    static final int EACCES = 13;
    static final int EFAULT = 14;
    static final int EBUSY = 16;
    static final int EEXIST = 17;
    static final int EINVAL = 22;
    static final int ENOTTY = 25;
    static final int ESRCH = 3;
    static final int ENOSYS = 38;
    static final int EOPNOTSUPP = 95;

    private Errno()
    {
    }

    /**
     * @param errno a positive error number.
     * @return its symbolic name where known and the C library's text, e.g. {@code "EINVAL (Invalid argument)"}.
     */
    static String describe(final int errno)
    {
        final String name = name(errno);
        final String text = Libc.AVAILABLE ? Libc.strerror(errno) : "no strerror here";
        return (null == name ? "errno " + errno : name) + " (" + text + ")";
    }

    static String name(final int errno)
    {
        return switch (errno)
        {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case ESRCH -> "ESRCH";
            case EINTR -> "EINTR";
            case ENXIO -> "ENXIO";
            case EBADF -> "EBADF";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES";
            case EFAULT -> "EFAULT";
            case EBUSY -> "EBUSY";
            case EEXIST -> "EEXIST";
            case EINVAL -> "EINVAL";
            case ENOTTY -> "ENOTTY";
            case ENOSYS -> "ENOSYS";
            case EOPNOTSUPP -> "EOPNOTSUPP";
            default -> null;
        };
    }
}
