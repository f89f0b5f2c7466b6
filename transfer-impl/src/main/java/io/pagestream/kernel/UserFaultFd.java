package io.pagestream.kernel;

import java.lang.foreign.Arena;

import static io.pagestream.kernel.KernelCallException.failed;

/**
 * A userfaultfd(2): page faults and write-protection of registered ranges handled by this process. Fault messages
 * are read with a {@link FaultMessageReader}.
 * <p>
 * The ioctls' request numbers and argument structs are encoded in {@link UffdIoctls}. Messages, as read(2) returns
 * them:
 * <pre>
 * struct uffd_msg (32 bytes, packed)
 *   0  __u8 event        (0x12 UFFD_EVENT_PAGEFAULT)
 *   1  reserved (7 bytes)
 *   8  __u64 flags       (UFFD_PAGEFAULT_FLAG_WRITE 1, _WP 2, _MINOR 4)
 *  16  __u64 address     (the faulting address, page-aligned unless UFFD_FEATURE_EXACT_ADDRESS)
 *  24  __u32 ptid        (the faulting thread, with UFFD_FEATURE_THREAD_ID)
 * </pre>
 * Installing calls ({@link #copy}, {@link #zeroPage}, {@link #continuePages}) return Aeron-style codes for the two
 * outcomes a fault handler must expect: {@link #EXISTS} (EEXIST: the first page is already mapped, by another handler
 * or an earlier call; nothing was installed, and waiters are not woken, so {@link #wake} the range if threads may wait
 * on it) and {@link #RETRY} (EAGAIN with nothing done: the address space is changing; call again). A partial result
 * (EAGAIN after some pages) returns the bytes done; carry on from there.
 * <p>
 * Threading: the ioctl methods may be called from any thread (each uses its thread's scratch memory). Threads that touch registered memory
 * and may block on it should do so from native code (a downcall), so that a blocked thread does not hold up the JVM's
 * safepoints while the handler waits at one.
 */
public final class UserFaultFd implements AutoCloseable
{
    /** UFFD_FEATURE_PAGEFAULT_FLAG_WP. */
    public static final long FEATURE_PAGEFAULT_FLAG_WP = 1L;
    /** UFFD_FEATURE_MISSING_HUGETLBFS. */
    public static final long FEATURE_MISSING_HUGETLBFS = 1L << 4;
    /** UFFD_FEATURE_MISSING_SHMEM. */
    public static final long FEATURE_MISSING_SHMEM = 1L << 5;
    /** UFFD_FEATURE_THREAD_ID: messages carry the faulting thread's id. */
    public static final long FEATURE_THREAD_ID = 1L << 8;
    /** UFFD_FEATURE_MINOR_HUGETLBFS. */
    public static final long FEATURE_MINOR_HUGETLBFS = 1L << 9;
    /** UFFD_FEATURE_MINOR_SHMEM: minor faults on shmem (memfd, /dev/shm) for {@link #MODE_MINOR}. */
    public static final long FEATURE_MINOR_SHMEM = 1L << 10;
    /** UFFD_FEATURE_EXACT_ADDRESS. */
    public static final long FEATURE_EXACT_ADDRESS = 1L << 11;
    /** UFFD_FEATURE_WP_HUGETLBFS_SHMEM: write-protection of shmem and hugetlbfs. */
    public static final long FEATURE_WP_HUGETLBFS_SHMEM = 1L << 12;
    /** UFFD_FEATURE_WP_UNPOPULATED: write-protect never-touched anonymous pages without populating them. */
    public static final long FEATURE_WP_UNPOPULATED = 1L << 13;
    /** UFFD_FEATURE_WP_ASYNC: the kernel resolves write-protect faults itself, recording the page as written. */
    public static final long FEATURE_WP_ASYNC = 1L << 15;

    /** UFFDIO_REGISTER_MODE_MISSING: faults on pages not yet mapped. */
    public static final int MODE_MISSING = 1;
    /** UFFDIO_REGISTER_MODE_WP: faults on writes to write-protected pages. */
    public static final int MODE_WP = 2;
    /** UFFDIO_REGISTER_MODE_MINOR: faults on pages in the page cache but not mapped here. */
    public static final int MODE_MINOR = 4;

    /** UFFDIO_COPY_MODE_DONTWAKE (also ZEROPAGE and CONTINUE): install but leave waiters asleep. */
    public static final int COPY_MODE_DONTWAKE = 1;
    /** UFFDIO_COPY_MODE_WP (also CONTINUE): install the page write-protected. */
    public static final int COPY_MODE_WP = 2;

    /** uffd_msg.event of a page fault. */
    public static final int EVENT_PAGEFAULT = 0x12;
    /** Page fault flag: the access was a write. */
    public static final long PAGEFAULT_FLAG_WRITE = 1;
    /** Page fault flag: a write to a write-protected page. */
    public static final long PAGEFAULT_FLAG_WP = 2;
    /** Page fault flag: a minor fault. */
    public static final long PAGEFAULT_FLAG_MINOR = 4;

    /** Returned by the installing calls on EEXIST: the page is already there. */
    public static final long EXISTS = -Errno.EEXIST;
    /** Returned by the installing calls on EAGAIN with nothing done: try again. */
    public static final long RETRY = -Errno.EAGAIN;

    private static final int UFFD_USER_MODE_ONLY = 1;

    private static volatile long probedFeatures = -1;

    private final int fd;
    private final String openedBy;
    private final boolean userModeOnly;
    private final long features;
    private final long offeredFeatures;
    private final long ioctls;
    private boolean closed;

    private UserFaultFd(
        final int fd, final String openedBy, final boolean userModeOnly, final long features,
        final long offeredFeatures, final long ioctls)
    {
        this.fd = fd;
        this.openedBy = openedBy;
        this.userModeOnly = userModeOnly;
        this.features = features;
        this.offeredFeatures = offeredFeatures;
        this.ioctls = ioctls;
    }

    /**
     * Open a userfaultfd: the userfaultfd(2) syscall, else (ENOSYS, or EPERM where unprivileged userfaultfd is off)
     * /dev/userfaultfd with USERFAULTFD_IOC_NEW; then the UFFDIO_API handshake enabling {@code features}.
     *
     * @param features        UFFD_FEATURE_* bits to enable ({@code FEATURE_*} here); all must be available.
     * @param userModeOnly    handle only faults from user mode (UFFD_USER_MODE_ONLY), where the kernel has the flag;
     *                        a fault from the kernel (a syscall or KVM touching the range) then fails with EFAULT.
     * @return an open, non-blocking, close-on-exec userfaultfd.
     * @throws KernelCallException if the kernel has no userfaultfd, refuses it, or lacks a feature.
     */
    public static UserFaultFd open(final long features, final boolean userModeOnly)
    {
        return open(features, userModeOnly, false);
    }

    /**
     * @param viaDevice go straight to /dev/userfaultfd, as when the syscall is refused (for tests of that path).
     */
    static UserFaultFd open(final long features, final boolean userModeOnly, final boolean viaDevice)
    {
        if (!Libc.AVAILABLE)
        {
            throw KernelCallException.unsupported("userfaultfd", Libc.UNAVAILABLE_REASON);
        }
        int flags = Libc.O_CLOEXEC | Libc.O_NONBLOCK | (userModeOnly ? UFFD_USER_MODE_ONLY : 0);
        long fd = viaDevice ? -Errno.ENOSYS : Descriptors.syscall1(Libc.SYS_USERFAULTFD, flags);
        if (fd == -Errno.EINVAL && userModeOnly && !viaDevice)
        {
            // Before Linux 5.11 there is no UFFD_USER_MODE_ONLY; without it the fd also handles kernel faults.
            flags &= ~UFFD_USER_MODE_ONLY;
            fd = Descriptors.syscall1(Libc.SYS_USERFAULTFD, flags);
        }
        String openedBy = "userfaultfd(2)";
        if (fd == -Errno.ENOSYS || fd == -Errno.EPERM)
        {
            final long syscallError = fd;
            try (Arena names = Arena.ofConfined())
            {
                final int device = Descriptors.open(
                    names.allocateFrom("/dev/userfaultfd").address(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
                fd = device < 0 ? syscallError : UffdIoctls.newFromDevice(device, flags);
                if (device >= 0)
                {
                    Descriptors.close(device);
                    openedBy = "/dev/userfaultfd";
                }
            }
        }
        if (fd < 0)
        {
            throw failed("userfaultfd(flags=0x" + Integer.toHexString(flags) + ")", fd);
        }

        final int result = UffdIoctls.api((int)fd, features);
        final long available = UffdIoctls.offeredFeatures();
        final long apiIoctls = UffdIoctls.apiIoctls();
        if (result < 0)
        {
            Descriptors.close((int)fd);
            throw failed("ioctl(UFFDIO_API, features=0x" + Long.toHexString(features) + ")", result);
        }
        if ((features & ~available) != 0)
        {
            Descriptors.close((int)fd);
            throw KernelCallException.unsupported("ioctl(UFFDIO_API, features=0x" + Long.toHexString(features) + ")",
                "features 0x" + Long.toHexString(features & ~available) + " missing; the kernel offers 0x" +
                Long.toHexString(available));
        }
        return new UserFaultFd((int)fd, openedBy, (flags & UFFD_USER_MODE_ONLY) != 0, features, available, apiIoctls);
    }

    /**
     * @return the UFFD_FEATURE_* bits this kernel offers, probed once with a throw-away userfaultfd; 0 if there is no
     * userfaultfd here or it may not be opened.
     */
    public static long availableFeatures()
    {
        long probed = probedFeatures;
        if (probed < 0)
        {
            try (UserFaultFd probe = open(0, true))
            {
                probed = probe.offeredFeatures;
            }
            catch (final KernelCallException ex)
            {
                probed = 0;
            }
            probedFeatures = probed;
        }
        return probed;
    }

    /**
     * @return true if a userfaultfd can be opened here.
     */
    public static boolean isAvailable()
    {
        return Libc.AVAILABLE && availableFeatures() != 0;
    }

    /**
     * Register a range for faults of the given kinds. Anonymous private memory takes MISSING and WP; shmem and
     * hugetlbfs take all three given the features.
     *
     * @param address     start, page-aligned.
     * @param lengthBytes length, a multiple of the page size.
     * @param modes       {@link #MODE_MISSING}, {@link #MODE_WP}, {@link #MODE_MINOR}, OR-ed.
     * @return the bit set of ioctls (1 &lt;&lt; _UFFDIO_*) the kernel allows on the range.
     */
    public long register(final long address, final long lengthBytes, final int modes)
    {
        return UffdIoctls.register(fd, address, lengthBytes, modes);
    }

    /**
     * Stop handling faults on a range; threads waiting on it are woken.
     *
     * @param address     start, page-aligned.
     * @param lengthBytes length, a multiple of the page size.
     */
    public void unregister(final long address, final long lengthBytes)
    {
        UffdIoctls.unregister(fd, address, lengthBytes);
    }

    /**
     * Wake threads waiting on faults in a range, after installing pages with a DONTWAKE mode or on {@link #EXISTS}.
     *
     * @param address     start, page-aligned.
     * @param lengthBytes length, a multiple of the page size.
     */
    public void wake(final long address, final long lengthBytes)
    {
        UffdIoctls.wake(fd, address, lengthBytes);
    }

    /**
     * Write-protect a range of a {@link #MODE_WP} registration, or lift the protection (which wakes threads waiting
     * on it unless {@code dontWake}).
     *
     * @param address     start, page-aligned.
     * @param lengthBytes length, a multiple of the page size.
     * @param protect     true to protect, false to unprotect.
     * @param dontWake    when unprotecting, leave waiting threads asleep.
     */
    public void writeProtect(final long address, final long lengthBytes, final boolean protect, final boolean dontWake)
    {
        UffdIoctls.writeProtect(fd, address, lengthBytes, protect, dontWake);
    }

    /**
     * Install pages with the contents of {@code sourceAddress} into a {@link #MODE_MISSING} range (UFFDIO_COPY),
     * atomically for threads faulting on them, and wake them unless {@link #COPY_MODE_DONTWAKE}.
     *
     * @param address       destination start, page-aligned.
     * @param sourceAddress source start, page-aligned, readable.
     * @param lengthBytes   length, a multiple of the page size.
     * @param mode          0, {@link #COPY_MODE_DONTWAKE}, {@link #COPY_MODE_WP}, OR-ed.
     * @return {@code lengthBytes}, or the bytes done before EAGAIN, or {@link #EXISTS} or {@link #RETRY}.
     */
    public long copy(final long address, final long sourceAddress, final long lengthBytes, final int mode)
    {
        return UffdIoctls.copy(fd, address, sourceAddress, lengthBytes, mode);
    }

    /**
     * Install zero pages into a {@link #MODE_MISSING} range (UFFDIO_ZEROPAGE), waking waiters unless
     * {@code dontWake}.
     *
     * @param address     start, page-aligned.
     * @param lengthBytes length, a multiple of the page size.
     * @param dontWake    leave waiting threads asleep.
     * @return {@code lengthBytes}, or the bytes done before EAGAIN, or {@link #EXISTS} or {@link #RETRY}.
     */
    public long zeroPage(final long address, final long lengthBytes, final boolean dontWake)
    {
        return UffdIoctls.zeroPage(fd, address, lengthBytes, dontWake);
    }

    /**
     * Map pages already in the page cache into a {@link #MODE_MINOR} range (UFFDIO_CONTINUE), waking waiters unless
     * {@link #COPY_MODE_DONTWAKE}.
     *
     * @param address     start, page-aligned.
     * @param lengthBytes length, a multiple of the page size.
     * @param mode        0, {@link #COPY_MODE_DONTWAKE}, {@link #COPY_MODE_WP}, OR-ed.
     * @return {@code lengthBytes}, or the bytes done before EAGAIN, or {@link #EXISTS} or {@link #RETRY}.
     */
    public long continuePages(final long address, final long lengthBytes, final int mode)
    {
        return UffdIoctls.continuePages(fd, address, lengthBytes, mode);
    }

    /** @return the file descriptor. */
    public int fd()
    {
        return fd;
    }

    /** @return "userfaultfd(2)" or "/dev/userfaultfd": how the descriptor was opened. */
    public String openedBy()
    {
        return openedBy;
    }

    /** @return true if only user-mode faults are handled (UFFD_USER_MODE_ONLY took effect). */
    public boolean isUserModeOnly()
    {
        return userModeOnly;
    }

    /** @return the UFFD_FEATURE_* bits enabled, as requested. */
    public long features()
    {
        return features;
    }

    /** @return the UFFD_FEATURE_* bits the kernel offered in the UFFDIO_API answer. */
    public long offeredFeatures()
    {
        return offeredFeatures;
    }

    /** @return the ioctl bit set (1 &lt;&lt; _UFFDIO_*) the UFFDIO_API answer allows on the descriptor. */
    public long apiIoctls()
    {
        return ioctls;
    }

    /**
     * Close the descriptor: the kernel unregisters every range and wakes waiting threads, whose faults then resolve
     * as if never registered. Idempotent; call when no other thread uses this object.
     */
    public void close()
    {
        if (!closed)
        {
            closed = true;
            Descriptors.close(fd);
        }
    }
}
