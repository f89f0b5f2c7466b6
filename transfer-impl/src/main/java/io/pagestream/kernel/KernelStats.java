package io.pagestream.kernel;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Which path each {@link MemoryKernel} operation took, counted per call: the kernel mechanism ({@link Path#isNative()})
 * or a fallback. Nothing falls back silently; {@link #describe()} is one line for a migration report, e.g.
 * {@code "linux-ffm x86_64: populate: madvise 3; populated-map: PAGEMAP_SCAN 2, /proc/self/pagemap 1; ..."}.
 * <p>
 * Threading: counters are atomic and may be read from any thread while calls are counted on others.
 */
public final class KernelStats
{
    /**
     * The operations of {@link MemoryKernel}, each counted by the path it took.
     */
    public enum Operation
    {
        /** {@link MemoryKernel#populateRead} and {@link MemoryKernel#populateWrite}. */
        POPULATE("populate"),
        /** {@link MemoryKernel#dontNeed}. */
        DONTNEED("dontneed"),
        /** {@link MemoryKernel#adviseHugePages}. */
        HUGEPAGE("hugepage"),
        /** {@link MemoryKernel#populatedPages}. */
        POPULATED_MAP("populated-map"),
        /** {@link MemoryKernel#dataPages}. */
        DATA_EXTENTS("data-extents"),
        /** {@link MemoryKernel#memfdCreate}. */
        MEMFD("memfd"),
        /** {@link MemoryKernel#mapAnonymous} and {@link MemoryKernel#mapFile}. */
        MAP("map"),
        /** {@link MemoryKernel#unmap}. */
        UNMAP("unmap");

        private final String label;

        Operation(final String label)
        {
            this.label = label;
        }

        /**
         * @return the short name used in {@link KernelStats#describe()}.
         */
        public String label()
        {
            return label;
        }
    }

    /**
     * One way of carrying out an {@link Operation}.
     */
    public enum Path
    {
        /** madvise(MADV_POPULATE_READ / MADV_POPULATE_WRITE), one call per range. */
        POPULATE_MADVISE(Operation.POPULATE, "madvise", true),
        /** Touching one byte per page: a read, or an atomic add of zero that faults the page in for writing. */
        POPULATE_TOUCH(Operation.POPULATE, "touch", false),
        /** madvise(MADV_DONTNEED): memory released. */
        DONTNEED_MADVISE(Operation.DONTNEED, "madvise", true),
        DONTNEED_BATCHED(Operation.DONTNEED, "process_madvise", true),
        /** Nothing done: memory and contents kept. */
        DONTNEED_KEPT(Operation.DONTNEED, "kept", false),
        /** madvise(MADV_HUGEPAGE). */
        HUGEPAGE_MADVISE(Operation.HUGEPAGE, "madvise", true),
        /** Nothing done: no transparent huge pages here. */
        HUGEPAGE_SKIPPED(Operation.HUGEPAGE, "skipped", false),
        /** ioctl(PAGEMAP_SCAN) on /proc/self/pagemap, Linux 6.7 and later. */
        POPULATED_PAGEMAP_SCAN(Operation.POPULATED_MAP, "PAGEMAP_SCAN", true),
        /** pread of /proc/self/pagemap, 8 bytes per page. */
        POPULATED_PAGEMAP_READ(Operation.POPULATED_MAP, "/proc/self/pagemap", false),
        /** Every page reported populated. */
        POPULATED_ASSUME_ALL(Operation.POPULATED_MAP, "assume-all", false),
        /** lseek(SEEK_DATA / SEEK_HOLE). */
        DATA_SEEK(Operation.DATA_EXTENTS, "SEEK_DATA/SEEK_HOLE", true),
        /** Every page up to the end of the file reported as data. */
        DATA_ASSUME_ALL(Operation.DATA_EXTENTS, "assume-all", false),
        /** memfd_create(2). */
        MEMFD_CREATE(Operation.MEMFD, "memfd_create", true),
        /** No memfd here: the call failed as unsupported. */
        MEMFD_UNAVAILABLE(Operation.MEMFD, "unavailable", false),
        /** mmap(2). */
        MAP_MMAP(Operation.MAP, "mmap", true),
        /** Java: Unsafe-allocated memory or FileChannel.map. */
        MAP_JAVA(Operation.MAP, "java", false),
        /** munmap(2). */
        UNMAP_MUNMAP(Operation.UNMAP, "munmap", true),
        /** Java: freeing the allocation or closing the mapping's arena. */
        UNMAP_JAVA(Operation.UNMAP, "java", false);

        private final Operation operation;
        private final String label;
        private final boolean isNative;

        Path(final Operation operation, final String label, final boolean isNative)
        {
            this.operation = operation;
            this.label = label;
            this.isNative = isNative;
        }

        /**
         * @return the operation this is a path of.
         */
        public Operation operation()
        {
            return operation;
        }

        /**
         * @return the short name used in {@link KernelStats#describe()}.
         */
        public String label()
        {
            return label;
        }

        /**
         * @return true for the kernel mechanism the operation is meant to use, false for a fallback.
         */
        public boolean isNative()
        {
            return isNative;
        }
    }

    private static final Path[] PATHS = Path.values();

    private final String implementation;
    private final AtomicLongArray counts = new AtomicLongArray(PATHS.length);
    private final Path[] preferred = new Path[Operation.values().length];

    /**
     * @param implementation names the implementation in {@link #describe()}, e.g. {@code "linux-ffm x86_64"}.
     */
    KernelStats(final String implementation)
    {
        this.implementation = implementation;
    }

    void prefer(final Path path)
    {
        preferred[path.operation().ordinal()] = path;
    }

    void record(final Path path)
    {
        counts.getAndIncrement(path.ordinal());
    }

    /**
     * @param path one path of one operation.
     * @return calls that took it.
     */
    public long count(final Path path)
    {
        return counts.get(path.ordinal());
    }

    /**
     * @param operation an operation.
     * @return calls of it served by the kernel mechanism.
     */
    public long nativeCount(final Operation operation)
    {
        return sum(operation, true);
    }

    /**
     * @param operation an operation.
     * @return calls of it served by a fallback.
     */
    public long fallbackCount(final Operation operation)
    {
        return sum(operation, false);
    }

    /**
     * @param operation an operation.
     * @return the path it takes now when called, as decided by probing the system.
     */
    public Path preferredPath(final Operation operation)
    {
        return preferred[operation.ordinal()];
    }

    private long sum(final Operation operation, final boolean isNative)
    {
        long sum = 0;
        for (final Path path : PATHS)
        {
            if (path.operation() == operation && path.isNative() == isNative)
            {
                sum += counts.get(path.ordinal());
            }
        }
        return sum;
    }

    /**
     * @return the implementation, then per operation the paths taken with their call counts, or the path it would
     * take and "unused", e.g. {@code "linux-ffm x86_64: populate: madvise 2, touch 1; memfd: memfd_create (unused)"}.
     */
    public String describe()
    {
        final StringBuilder sb = new StringBuilder(implementation).append(": ");
        for (final Operation operation : Operation.values())
        {
            if (operation.ordinal() > 0)
            {
                sb.append("; ");
            }
            sb.append(operation.label()).append(": ");
            boolean any = false;
            for (final Path path : PATHS)
            {
                final long count = counts.get(path.ordinal());
                if (path.operation() == operation && count > 0)
                {
                    sb.append(any ? ", " : "").append(path.label()).append(' ').append(count);
                    any = true;
                }
            }
            if (!any)
            {
                final Path path = preferred[operation.ordinal()];
                sb.append(null == path ? "none" : path.label()).append(" (unused)");
            }
        }
        return sb.toString();
    }

    /**
     * @return like {@link #describe()}, with only the operations that were used; empty if none was.
     */
    public String describeUsed()
    {
        final StringBuilder sb = new StringBuilder();
        for (final Operation operation : Operation.values())
        {
            boolean any = false;
            for (final Path path : PATHS)
            {
                final long count = counts.get(path.ordinal());
                if (path.operation() == operation && count > 0)
                {
                    sb.append(any ? ", " : sb.length() == 0 ? "" : "; ");
                    if (!any)
                    {
                        sb.append(operation.label()).append(": ");
                    }
                    sb.append(path.label()).append(' ').append(count);
                    any = true;
                }
            }
        }
        return sb.length() == 0 ? "" : implementation + ": " + sb;
    }

    /** {@inheritDoc} */
    public String toString()
    {
        return describe();
    }
}
