package io.pagestream.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The C library calls PageStream makes on Linux, reached through {@link Linker#nativeLinker()}: downcall handles are
 * made once, in {@link Handles}, and shared by every caller. The memory calls are here, the calls on file descriptors
 * in {@link Descriptors}.
 * <p>
 * Every call returns what the C function returns, except that a failure ({@code -1} from C, or {@code MAP_FAILED}
 * from {@code mmap}) comes back as {@code -errno}, read from the state the linker captured for this thread
 * ({@link Linker.Option#captureCallState(String...)}). Pointers are passed as {@code long} addresses so that no call
 * allocates. Callers turn negative results into exceptions or fallbacks.
 * <p>
 * Constants are those of Linux on x86_64 and aarch64, which agree except for syscall numbers; on any other system or
 * architecture {@link #AVAILABLE} is false and nothing here may be called.
 * <p>
 * Threading: every method may be called from any thread; each thread has its own errno capture and argument scratch.
 */
final class Libc
{
    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;
    static final int MAP_SHARED = 0x01;
    static final int MAP_PRIVATE = 0x02;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_NORESERVE = 0x4000;
    static final int MAP_HUGETLB = 0x40000;
    /** log2(2 MiB) in the MAP_HUGE_SHIFT (26) field, as MAP_HUGE_2MB and MFD_HUGE_2MB. */
    static final int MAP_HUGE_2MB = 21 << 26;

    static final int MADV_DONTNEED = 4;
    static final int MADV_HUGEPAGE = 14;
    static final int MADV_POPULATE_READ = 22;
    static final int MADV_POPULATE_WRITE = 23;

    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;

    static final int SEEK_END = 2;
    static final int SEEK_DATA = 3;
    static final int SEEK_HOLE = 4;

    static final int MFD_CLOEXEC = 0x1;
    static final int MFD_HUGETLB = 0x4;

    static final short POLLIN = 0x1;

    /** True if this is Linux on x86_64 or aarch64 and every downcall handle could be made. */
    static final boolean AVAILABLE;
    /** Why {@link #AVAILABLE} is false, or null. */
    static final String UNAVAILABLE_REASON;
    /** "x86_64" or "aarch64", or null when unavailable. */
    static final String ARCH;
    /** The kernel's base page size in bytes, or 4096 when unavailable. */
    static final int PAGE_SIZE;
    /** syscall(2) number of userfaultfd: 323 on x86_64, 282 on aarch64. */
    static final long SYS_USERFAULTFD;
    /** syscall(2) number of pidfd_open, the same on x86_64 and aarch64. */
    static final long SYS_PIDFD_OPEN = 434;
    /** syscall(2) number of process_madvise, the same on x86_64 and aarch64. */
    static final long SYS_PROCESS_MADVISE = 440;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    static
    {
        final String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        final String arch = System.getProperty("os.arch", "");
        String reason = null;
        String archName = null;
        long sysUserfaultfd = -1;
        int pageSize = 4096;
        if (!os.startsWith("linux"))
        {
            reason = "not Linux: " + os;
        }
        else if ("amd64".equals(arch) || "x86_64".equals(arch))
        {
            archName = "x86_64";
            sysUserfaultfd = 323;
        }
        else if ("aarch64".equals(arch))
        {
            archName = "aarch64";
            sysUserfaultfd = 282;
        }
        else
        {
            reason = "unsupported architecture: " + arch;
        }

        if (null == reason)
        {
            try
            {
                pageSize = (int)Handles.GETPAGESIZE.invokeExact();
            }
            catch (final Throwable ex)
            {
                final Throwable cause = ex instanceof ExceptionInInitializerError && null != ex.getCause() ?
                    ex.getCause() : ex;
                reason = cause instanceof IllegalCallerException ?
                    "native access not permitted (run with --enable-native-access=ALL-UNNAMED): " +
                    cause.getMessage() : "FFM linker unavailable: " + cause;
            }
        }
        AVAILABLE = null == reason;
        UNAVAILABLE_REASON = reason;
        ARCH = AVAILABLE ? archName : null;
        PAGE_SIZE = AVAILABLE ? pageSize : 4096;
        SYS_USERFAULTFD = sysUserfaultfd;
    }

    /**
     * The downcall handles, made when first used: only after {@link #AVAILABLE} has been decided, and only if it is
     * true. Making one fails if native access is not permitted or a symbol is missing.
     */
    static final class Handles
    {
        private static final Linker LINKER = Linker.nativeLinker();
        private static final SymbolLookup LIBC = LINKER.defaultLookup();
        private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
        static final long ERRNO_OFFSET = Linker.Option.captureStateLayout().byteOffset(groupElement("errno"));

        static final MethodHandle GETPAGESIZE = find("getpagesize", of(JAVA_INT));
        static final MethodHandle MMAP = find(
            "mmap", of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), ERRNO);
        static final MethodHandle MUNMAP = find("munmap", of(JAVA_INT, JAVA_LONG, JAVA_LONG), ERRNO);
        static final MethodHandle MADVISE = find("madvise", of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT), ERRNO);
        // int ioctl(int fd, unsigned long request, ...): the argument is variadic.
        static final MethodHandle IOCTL = find(
            "ioctl", of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), ERRNO, Linker.Option.firstVariadicArg(2));
        // int open(const char *path, int flags, ...): the mode is variadic.
        static final MethodHandle OPEN = find(
            "open", of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT), ERRNO, Linker.Option.firstVariadicArg(2));
        static final MethodHandle CLOSE = find("close", of(JAVA_INT, JAVA_INT), ERRNO);
        static final MethodHandle LSEEK = find("lseek", of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT), ERRNO);
        static final MethodHandle FTRUNCATE = find("ftruncate", of(JAVA_INT, JAVA_INT, JAVA_LONG), ERRNO);
        static final MethodHandle PREAD = find(
            "pread", of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG), ERRNO);
        static final MethodHandle READ = find("read", of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG), ERRNO);
        static final MethodHandle POLL = find("poll", of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT), ERRNO);
        // long syscall(long number, ...): one variadic argument.
        static final MethodHandle SYSCALL1 = find(
            "syscall", of(JAVA_LONG, JAVA_LONG, JAVA_LONG), ERRNO, Linker.Option.firstVariadicArg(1));
        // The same with five arguments (process_madvise).
        static final MethodHandle SYSCALL5 = find("syscall",
            of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), ERRNO,
            Linker.Option.firstVariadicArg(1));
        static final MethodHandle MEMCPY = find("memcpy", of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        static final MethodHandle MEMCHR = find("memchr", of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG));
        static final MethodHandle STRERROR = find("strerror", of(ADDRESS, JAVA_INT));
        // glibc has memfd_create since 2.27; without it the call reports ENOSYS.
        static final MethodHandle MEMFD_CREATE = LIBC.find("memfd_create")
            .map(symbol -> LINKER.downcallHandle(symbol, of(JAVA_INT, JAVA_LONG, JAVA_INT), ERRNO))
            .orElse(null);

        private static MethodHandle find(
            final String name, final FunctionDescriptor descriptor, final Linker.Option... options)
        {
            final MemorySegment symbol = LIBC.find(name)
                .orElseThrow(() -> new UnsupportedOperationException("no symbol " + name + " in the C library"));
            return LINKER.downcallHandle(symbol, descriptor, options);
        }

        private static FunctionDescriptor of(final ValueLayout result, final ValueLayout... arguments)
        {
            return FunctionDescriptor.of(result, arguments);
        }
    }

    /**
     * Per-thread native memory: the errno capture, and 256 bytes for one ioctl argument struct at a time.
     */
    static final class Scratch
    {
        final MemorySegment capture;
        final MemorySegment args;
        final long argsAddress;

        Scratch()
        {
            final Arena arena = Arena.ofAuto();
            capture = arena.allocate(Linker.Option.captureStateLayout());
            args = arena.allocate(256, 64);
            argsAddress = args.address();
        }
    }

    private Libc()
    {
    }

    /**
     * @return this thread's scratch: the errno capture and a 256-byte argument area.
     */
    static Scratch scratch()
    {
        return SCRATCH.get();
    }

    /**
     * @return {@code result}, or {@code -errno} captured for this call if it is -1 (failure).
     */
    static int result(final MemorySegment capture, final int result)
    {
        return result == -1 ? -capture.get(JAVA_INT, Handles.ERRNO_OFFSET) : result;
    }

    /**
     * @return {@code result}, or {@code -errno} captured for this call if it is -1 (failure, or MAP_FAILED).
     */
    static long result(final MemorySegment capture, final long result)
    {
        return result == -1 ? -capture.get(JAVA_INT, Handles.ERRNO_OFFSET) : result;
    }

    static RuntimeException rethrow(final Throwable ex)
    {
        if (ex instanceof RuntimeException re)
        {
            return re;
        }
        if (ex instanceof Error err)
        {
            throw err;
        }
        return new IllegalStateException("native call failed", ex);
    }

    static long mmap(final long address, final long length, final int prot, final int flags, final int fd,
        final long offset)
    {
        final MemorySegment capture = SCRATCH.get().capture;
        try
        {
            return result(capture, (long)Handles.MMAP.invokeExact(capture, address, length, prot, flags, fd, offset));
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    static int munmap(final long address, final long length)
    {
        final MemorySegment capture = SCRATCH.get().capture;
        try
        {
            return result(capture, (int)Handles.MUNMAP.invokeExact(capture, address, length));
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    static int madvise(final long address, final long length, final int advice)
    {
        final MemorySegment capture = SCRATCH.get().capture;
        try
        {
            return result(capture, (int)Handles.MADVISE.invokeExact(capture, address, length, advice));
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    /**
     * memcpy through a downcall. Unlike a Java copy, the calling thread is in native state while it runs, so a copy
     * that blocks on a userfaultfd-registered page does not hold up the JVM's safepoints (which would deadlock a
     * fault-handling Java thread waiting at one).
     */
    static void memcpy(final long destination, final long source, final long length)
    {
        try
        {
            final long ignore = (long)Handles.MEMCPY.invokeExact(destination, source, length);
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    /**
     * Read one byte at an address in native code (memchr over one byte), so that a fault there, even one a
     * userfaultfd handler resolves much later, is taken with the thread in native state and the JVM's safepoints
     * proceed meanwhile.
     */
    static void touch(final long address)
    {
        try
        {
            final long ignore = (long)Handles.MEMCHR.invokeExact(address, 0, 1L);
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    /**
     * @param errno a positive error number.
     * @return the C library's text for it.
     */
    static String strerror(final int errno)
    {
        try
        {
            final MemorySegment message = (MemorySegment)Handles.STRERROR.invokeExact(errno);
            return message.reinterpret(1024).getString(0);
        }
        catch (final Throwable ex)
        {
            return "strerror failed: " + ex;
        }
    }

    /**
     * The _IOC encoding of x86_64 and aarch64 (asm-generic/ioctl.h): direction in bits 30-31 (1 write, 2 read),
     * argument size in bits 16-29, type in bits 8-15, number in bits 0-7.
     *
     * @return the ioctl number as the unsigned value the kernel compares.
     */
    static long ioc(final int direction, final int type, final int number, final int size)
    {
        return ((long)direction << 30) | ((long)size << 16) | ((long)type << 8) | number;
    }

    /** _IOC_WRITE | _IOC_READ, the direction of _IOWR. */
    static final int IOC_READ_WRITE = 3;
    /** _IOC_READ, the direction of _IOR. */
    static final int IOC_READ = 2;
    /** _IOC_NONE, the direction of _IO. */
    static final int IOC_NONE = 0;
}
