package io.pagestream.kernel;

import java.lang.foreign.MemorySegment;

import static io.pagestream.kernel.KernelCallException.failed;
import static io.pagestream.kernel.KernelCallException.range;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The userfaultfd ioctls as include/uapi/linux/userfaultfd.h defines them: request numbers computed from the
 * _IOWR/_IOR encoding and the sizes of the argument structs (all fields {@code __u64} unless noted; the kernel writes
 * the fields marked "out"), each struct filled in the calling thread's scratch memory, and each result decoded.
 * <pre>
 * UFFDIO_API          _IOWR(0xAA, 0x3F, 24)  uffdio_api      { api, features, ioctls (out) }
 * UFFDIO_REGISTER     _IOWR(0xAA, 0x00, 32)  uffdio_register { start, len, mode, ioctls (out) }
 * UFFDIO_UNREGISTER   _IOR (0xAA, 0x01, 16)  uffdio_range    { start, len }
 * UFFDIO_WAKE         _IOR (0xAA, 0x02, 16)  uffdio_range    { start, len }
 * UFFDIO_COPY         _IOWR(0xAA, 0x03, 40)  uffdio_copy     { dst, src, len, mode, __s64 copy (out) }
 * UFFDIO_ZEROPAGE     _IOWR(0xAA, 0x04, 32)  uffdio_zeropage { start, len, mode, __s64 zeropage (out) }
 * UFFDIO_WRITEPROTECT _IOWR(0xAA, 0x06, 24)  uffdio_writeprotect { start, len, mode }
 * UFFDIO_CONTINUE     _IOWR(0xAA, 0x07, 32)  uffdio_continue { start, len, mode, __s64 mapped (out) }
 * USERFAULTFD_IOC_NEW _IO  (0xAA, 0x00)      on /dev/userfaultfd, argument: the open flags
 * </pre>
 * Ranges are checked before the call ({@link Checks}), so a bad argument is named rather than returned as EINVAL; a
 * failed call raises {@link KernelCallException} naming the call and its range. The installing calls return the
 * codes {@link UserFaultFd} documents: the bytes installed, {@link UserFaultFd#EXISTS} or {@link UserFaultFd#RETRY}.
 * <p>
 * Threading: any thread; each uses its own scratch memory. No allocation: call names are constants.
 */
final class UffdIoctls
{
    /** UFFD_API: the API version UFFDIO_API asks for. */
    static final long UFFD_API = 0xAA;

    private static final int UFFDIO = 0xAA;
    static final long UFFDIO_API = Libc.ioc(Libc.IOC_READ_WRITE, UFFDIO, 0x3F, 24);
    static final long UFFDIO_REGISTER = Libc.ioc(Libc.IOC_READ_WRITE, UFFDIO, 0x00, 32);
    static final long UFFDIO_UNREGISTER = Libc.ioc(Libc.IOC_READ, UFFDIO, 0x01, 16);
    static final long UFFDIO_WAKE = Libc.ioc(Libc.IOC_READ, UFFDIO, 0x02, 16);
    static final long UFFDIO_COPY = Libc.ioc(Libc.IOC_READ_WRITE, UFFDIO, 0x03, 40);
    static final long UFFDIO_ZEROPAGE = Libc.ioc(Libc.IOC_READ_WRITE, UFFDIO, 0x04, 32);
    static final long UFFDIO_WRITEPROTECT = Libc.ioc(Libc.IOC_READ_WRITE, UFFDIO, 0x06, 24);
    static final long UFFDIO_CONTINUE = Libc.ioc(Libc.IOC_READ_WRITE, UFFDIO, 0x07, 32);
    static final long USERFAULTFD_IOC_NEW = Libc.ioc(Libc.IOC_NONE, UFFDIO, 0x00, 0);

    private UffdIoctls()
    {
    }

    /**
     * USERFAULTFD_IOC_NEW: a new userfaultfd from an open /dev/userfaultfd.
     *
     * @param device the open /dev/userfaultfd.
     * @param flags  the new descriptor's open flags.
     * @return the new descriptor, or -errno.
     */
    static int newFromDevice(final int device, final int flags)
    {
        return Descriptors.ioctl(device, USERFAULTFD_IOC_NEW, flags);
    }

    /**
     * UFFDIO_API: the handshake that enables {@code features}. Whatever the result, the kernel's answer stays in this
     * thread's scratch memory until its next call here: {@link #offeredFeatures()} and {@link #apiIoctls()}.
     *
     * @param fd       a userfaultfd not yet through the handshake.
     * @param features UFFD_FEATURE_* bits to enable.
     * @return 0, or -errno.
     */
    static int api(final int fd, final long features)
    {
        final MemorySegment args = Libc.scratch().args;
        args.set(JAVA_LONG, 0, UFFD_API);
        args.set(JAVA_LONG, 8, features);
        args.set(JAVA_LONG, 16, 0L);
        return Descriptors.ioctl(fd, UFFDIO_API, args.address());
    }

    /** @return uffdio_api.features of this thread's last {@link #api}: the bits the kernel offers. */
    static long offeredFeatures()
    {
        return Libc.scratch().args.get(JAVA_LONG, 8);
    }

    /** @return uffdio_api.ioctls of this thread's last {@link #api}: the ioctls allowed on the descriptor. */
    static long apiIoctls()
    {
        return Libc.scratch().args.get(JAVA_LONG, 16);
    }

    /**
     * UFFDIO_REGISTER.
     *
     * @return uffdio_register.ioctls: the ioctls the kernel allows on the range.
     */
    static long register(final int fd, final long address, final long lengthBytes, final int modes)
    {
        final String call = "ioctl(UFFDIO_REGISTER)";
        Checks.addressRange(call, address, lengthBytes, Libc.PAGE_SIZE);
        final MemorySegment args = Libc.scratch().args;
        args.set(JAVA_LONG, 0, address);
        args.set(JAVA_LONG, 8, lengthBytes);
        args.set(JAVA_LONG, 16, (long)modes);
        args.set(JAVA_LONG, 24, 0L);
        check(call, address, lengthBytes, Descriptors.ioctl(fd, UFFDIO_REGISTER, args.address()));
        return args.get(JAVA_LONG, 24);
    }

    /** UFFDIO_UNREGISTER. */
    static void unregister(final int fd, final long address, final long lengthBytes)
    {
        rangeCall(fd, "ioctl(UFFDIO_UNREGISTER)", UFFDIO_UNREGISTER, address, lengthBytes);
    }

    /** UFFDIO_WAKE. */
    static void wake(final int fd, final long address, final long lengthBytes)
    {
        rangeCall(fd, "ioctl(UFFDIO_WAKE)", UFFDIO_WAKE, address, lengthBytes);
    }

    /** UFFDIO_WRITEPROTECT: mode UFFDIO_WRITEPROTECT_MODE_WP (1) to protect, _DONTWAKE (2) when unprotecting. */
    static void writeProtect(
        final int fd, final long address, final long lengthBytes, final boolean protect, final boolean dontWake)
    {
        final String call = protect ? "ioctl(UFFDIO_WRITEPROTECT, WP)" : "ioctl(UFFDIO_WRITEPROTECT, unprotect)";
        Checks.addressRange(call, address, lengthBytes, Libc.PAGE_SIZE);
        final MemorySegment args = Libc.scratch().args;
        args.set(JAVA_LONG, 0, address);
        args.set(JAVA_LONG, 8, lengthBytes);
        args.set(JAVA_LONG, 16, (protect ? 1L : 0L) | (dontWake ? 2L : 0L));
        check(call, address, lengthBytes, Descriptors.ioctl(fd, UFFDIO_WRITEPROTECT, args.address()));
    }

    /**
     * UFFDIO_COPY.
     *
     * @return {@code lengthBytes}, or the bytes done before EAGAIN, or {@link UserFaultFd#EXISTS} or
     * {@link UserFaultFd#RETRY}.
     */
    static long copy(final int fd, final long address, final long sourceAddress, final long lengthBytes, final int mode)
    {
        // Constant names: this runs once per fault and must not allocate.
        final String call = "ioctl(UFFDIO_COPY)";
        Checks.addressRange(call, address, lengthBytes, Libc.PAGE_SIZE);
        if (sourceAddress == 0)
        {
            throw new IllegalArgumentException(call + ": sourceAddress is 0"); // the kernel needs no alignment
        }
        final MemorySegment args = Libc.scratch().args;
        args.set(JAVA_LONG, 0, address);
        args.set(JAVA_LONG, 8, sourceAddress);
        args.set(JAVA_LONG, 16, lengthBytes);
        args.set(JAVA_LONG, 24, (long)mode);
        args.set(JAVA_LONG, 32, 0L);
        return installed(call, address, lengthBytes, Descriptors.ioctl(fd, UFFDIO_COPY, args.address()), args, 32);
    }

    /**
     * UFFDIO_ZEROPAGE.
     *
     * @return as {@link #copy}.
     */
    static long zeroPage(final int fd, final long address, final long lengthBytes, final boolean dontWake)
    {
        return rangeInstall(fd, "ioctl(UFFDIO_ZEROPAGE)", UFFDIO_ZEROPAGE, address, lengthBytes, dontWake ? 1 : 0);
    }

    /**
     * UFFDIO_CONTINUE.
     *
     * @return as {@link #copy}.
     */
    static long continuePages(final int fd, final long address, final long lengthBytes, final int mode)
    {
        return rangeInstall(fd, "ioctl(UFFDIO_CONTINUE)", UFFDIO_CONTINUE, address, lengthBytes, mode);
    }

    /**
     * What an installing call's result means: all of it, the part done before EAGAIN (read from the struct's "out"
     * field), nothing yet ({@link UserFaultFd#RETRY}), already there ({@link UserFaultFd#EXISTS}), or a failure.
     *
     * @param result     the ioctl's result: 0 or -errno.
     * @param args       the argument struct, after the call.
     * @param doneOffset of its "out" field.
     */
    static long installed(
        final String call, final long address, final long lengthBytes, final int result, final MemorySegment args,
        final long doneOffset)
    {
        if (result == 0)
        {
            return lengthBytes;
        }
        final long done = args.get(JAVA_LONG, doneOffset);
        if (result == -Errno.EAGAIN)
        {
            return done > 0 ? done : UserFaultFd.RETRY;
        }
        if (result == -Errno.EEXIST)
        {
            return UserFaultFd.EXISTS;
        }
        throw failed(range(call, address, lengthBytes), result);
    }

    private static void rangeCall(
        final int fd, final String call, final long request, final long address, final long lengthBytes)
    {
        Checks.addressRange(call, address, lengthBytes, Libc.PAGE_SIZE);
        final MemorySegment args = Libc.scratch().args;
        args.set(JAVA_LONG, 0, address);
        args.set(JAVA_LONG, 8, lengthBytes);
        check(call, address, lengthBytes, Descriptors.ioctl(fd, request, args.address()));
    }

    private static long rangeInstall(
        final int fd, final String call, final long request, final long address, final long lengthBytes,
        final int mode)
    {
        Checks.addressRange(call, address, lengthBytes, Libc.PAGE_SIZE);
        final MemorySegment args = Libc.scratch().args;
        args.set(JAVA_LONG, 0, address);
        args.set(JAVA_LONG, 8, lengthBytes);
        args.set(JAVA_LONG, 16, (long)mode);
        args.set(JAVA_LONG, 24, 0L);
        return installed(call, address, lengthBytes, Descriptors.ioctl(fd, request, args.address()), args, 24);
    }

    private static void check(final String call, final long address, final long lengthBytes, final int result)
    {
        if (result < 0)
        {
            throw failed(range(call, address, lengthBytes), result);
        }
    }
}
