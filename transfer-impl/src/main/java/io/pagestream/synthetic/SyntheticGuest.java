package io.pagestream.synthetic;

import io.pagestream.api.guest.DirtyPageLog;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.kernel.WriteProtectDirtyPageLog;
import org.agrona.CloseHelper;

/**
 * A running guest made of native memory, vCPU threads writing it, a software dirty log, vCPU control and a device
 * state, for tests, demos and for trying PageStream before wiring it to a real VMM.
 * <pre>{@code
 * SyntheticGuest guest = SyntheticGuest.create(new SyntheticGuest.Config()
 *     .sizeBytes(1L << 30).workload(Workload.HOTSET).dirtyRatePagesPerSec(20_000).fillFraction(0.6));
 * guest.vcpus().start();
 * // hand guest.memory(), guest.dirtyLog(), guest.vcpus(), guest.deviceState() to MigrationSource.Context
 * }</pre>
 * Contents look like a real guest's: a {@code fillFraction} of pages hold data, half of them text-like
 * (words, as in the page cache), half binary laid out like heap pages (records of headers, nearby pointers, small
 * integers and padding, used to 25-100% of the page); the rest are zero.
 */
public final class SyntheticGuest implements AutoCloseable
{

    private final Config config;
    private final GuestMemory memory;
    private final DirtyPageLog dirtyLog;
    private final DirtyLogKind dirtyLogKind;
    private final SyntheticVcpus vcpus;
    private final SyntheticDeviceState deviceState;

    private SyntheticGuest(final Config config, final GuestMemory memory, final boolean source)
    {
        this.config = config;
        this.memory = memory;
        this.dirtyLogKind = source ? config.dirtyLog.resolve() : DirtyLogKind.SOFTWARE;
        final SoftwareDirtyLog softwareLog =
            dirtyLogKind == DirtyLogKind.SOFTWARE ? new SoftwareDirtyLog(memory.pageCount()) : null;
        this.dirtyLog = null != softwareLog ? softwareLog : new WriteProtectDirtyPageLog(memory);
        this.vcpus = new SyntheticVcpus(memory, softwareLog, config.workload, config.vcpus,
            config.dirtyRatePagesPerSec, config.hotsetFraction, config.hotWriteShare, config.seed);
        this.deviceState = source ?
            SyntheticDeviceState.source(config.deviceStateBytes, config.seed) : SyntheticDeviceState.target();
    }

    /**
     * A source guest: memory allocated and filled; vCPUs created but not started.
     *
     * @param config the guest's shape.
     * @return the guest.
     */
    public static SyntheticGuest create(final Config config)
    {
        config.validate();
        final GuestMemory memory = allocate(config);
        try
        {
            fill(memory, config.fillFraction, config.seed);
            return new SyntheticGuest(config, memory, true);
        }
        catch (final RuntimeException | Error ex)
        {
            memory.close();
            throw ex;
        }
    }

    /**
     * A target guest of the same layout: zero-filled memory waiting for a migration; vCPUs not started.
     *
     * @param config the guest's shape (fill and workload are ignored for memory contents).
     * @return the guest.
     */
    public static SyntheticGuest createTarget(final Config config)
    {
        config.validate();
        return new SyntheticGuest(config, allocate(config), false);
    }

    /**
     * Memory as a hypervisor maps guest RAM: private anonymous, committed as it is first written, so pages the guest
     * never writes stay unpopulated; 2 MiB pages are hugetlb pages. Other page sizes use
     * {@link GuestMemory#allocate(long, int)}.
     */
    private static GuestMemory allocate(final Config config)
    {
        final MemoryKernel kernel = MemoryKernel.create();
        if (config.pageSize == kernel.systemPageSize() || config.pageSize == MappedGuestMemory.HUGE_PAGE_BYTES)
        {
            return MappedGuestMemory.anonymous(kernel, config.sizeBytes, config.pageSize, config.transparentHugePages);
        }
        return GuestMemory.allocate(config.sizeBytes, config.pageSize);
    }

    /**
     * Fill memory with realistic contents ({@link GuestContents}): a fraction of pages hold data, chosen by a hash of
     * the page index; only those pages are written.
     *
     * @param memory       to fill.
     * @param fillFraction of pages that hold data, 0 to 1.
     * @param seed         for the choice and the contents.
     */
    public static void fill(final GuestMemory memory, final double fillFraction, final long seed)
    {
        GuestContents.fill(memory, fillFraction, seed);
    }

    /** @return the configuration. */
    public Config config()
    {
        return config;
    }

    /** @return the guest's memory. */
    public GuestMemory memory()
    {
        return memory;
    }

    /**
     * @return the source's dirty log: kept by the kernel ({@link DirtyLogKind#USERFAULTFD}: the vCPUs only write) or
     * marked by the vCPUs ({@link DirtyLogKind#SOFTWARE}).
     */
    public DirtyPageLog dirtyLog()
    {
        return dirtyLog;
    }

    /** @return which dirty log {@link #dirtyLog()} is. */
    public DirtyLogKind dirtyLogKind()
    {
        return dirtyLogKind;
    }

    /** @return true while the dirty log tracks writes. */
    public boolean isTracking()
    {
        return dirtyLog instanceof SoftwareDirtyLog ? ((SoftwareDirtyLog)dirtyLog).isTracking() :
            ((WriteProtectDirtyPageLog)dirtyLog).isTracking();
    }

    /** @return the vCPUs, also the guest's {@link io.pagestream.api.guest.VcpuControl}. */
    public SyntheticVcpus vcpus()
    {
        return vcpus;
    }

    /** @return the device state. */
    public SyntheticDeviceState deviceState()
    {
        return deviceState;
    }

    /** Stop the vCPUs, the dirty log and free the memory. Idempotent. */
    public void close()
    {
        vcpus.close();
        // A vCPU the kernel holds at a page that never came (a lost post-copy guest) would fault on unmapped memory
        // if woken: its memory stays mapped until the process ends.
        CloseHelper.closeAll(dirtyLog instanceof AutoCloseable ? (AutoCloseable)dirtyLog : null,
            vcpus.liveThreads() == 0 ? memory : null);
    }

    /**
     * The shape of a synthetic guest. Fluent setters; validated when the guest is created.
     */
    public static final class Config
    {
        private long sizeBytes = 256L << 20;
        private int pageSize = 4096;
        private Workload workload = Workload.HOTSET;
        private double dirtyRatePagesPerSec = 20_000;
        private double fillFraction = 0.6;
        private double hotsetFraction = 0.02;
        private double hotWriteShare = 0.9;
        private int vcpus = 1;
        private int deviceStateBytes = 256 * 1024;
        private long seed = 42;
        private boolean transparentHugePages;
        private DirtyLogKind dirtyLog = DirtyLogKind.AUTO;

        /**
         * The default shape: 256 MiB of 4 KiB pages, 60% holding data, one vCPU writing 20,000 pages a second, 90%
         * of them to a hot set of 2% of the pages, a 256 KiB device state, seed 42.
         */
        public Config()
        {
        }

        void validate()
        {
            if (!(fillFraction >= 0 && fillFraction <= 1))
            {
                throw new IllegalArgumentException("fillFraction must be from 0 to 1: " + fillFraction);
            }
            if (!(hotsetFraction > 0 && hotsetFraction <= 1) || !(hotWriteShare >= 0 && hotWriteShare <= 1))
            {
                throw new IllegalArgumentException("hotsetFraction must be in (0, 1] and hotWriteShare in [0, 1]: " +
                    hotsetFraction + ", " + hotWriteShare);
            }
            if (!(dirtyRatePagesPerSec >= 0) || vcpus < 1 || deviceStateBytes < 0)
            {
                throw new IllegalArgumentException("dirtyRatePagesPerSec >= 0, vcpus >= 1, deviceStateBytes >= 0: " +
                    dirtyRatePagesPerSec + ", " + vcpus + ", " + deviceStateBytes);
            }
        }

        /**
         * @param v guest memory in bytes.
         * @return this.
         */
        public Config sizeBytes(final long v)
        {
            sizeBytes = v;
            return this;
        }

        /** @return guest memory in bytes. */
        public long sizeBytes()
        {
            return sizeBytes;
        }

        /**
         * @param v which dirty log the source uses (default {@link DirtyLogKind#AUTO}: the kernel's where it has one).
         * @return this.
         */
        public Config dirtyLog(final DirtyLogKind v)
        {
            dirtyLog = v;
            return this;
        }

        /** @return which dirty log the source uses. */
        public DirtyLogKind dirtyLog()
        {
            return dirtyLog;
        }

        /**
         * @param v with 4 KiB pages, ask for transparent huge pages (MADV_HUGEPAGE) on the guest's memory.
         * @return this.
         */
        public Config transparentHugePages(final boolean v)
        {
            transparentHugePages = v;
            return this;
        }

        /** @return whether transparent huge pages are asked for. */
        public boolean transparentHugePages()
        {
            return transparentHugePages;
        }

        /**
         * @param v page size in bytes: 4096, or 2 MiB for hugetlb pages (reserve them with vm.nr_hugepages).
         * @return this.
         */
        public Config pageSize(final int v)
        {
            pageSize = v;
            return this;
        }

        /** @return page size in bytes. */
        public int pageSize()
        {
            return pageSize;
        }

        /**
         * @param v which pages get written.
         * @return this.
         */
        public Config workload(final Workload v)
        {
            workload = v;
            return this;
        }

        /** @return the workload. */
        public Workload workload()
        {
            return workload;
        }

        /**
         * @param v page writes per second across all vCPUs.
         * @return this.
         */
        public Config dirtyRatePagesPerSec(final double v)
        {
            dirtyRatePagesPerSec = v;
            return this;
        }

        /** @return page writes per second. */
        public double dirtyRatePagesPerSec()
        {
            return dirtyRatePagesPerSec;
        }

        /**
         * @param v fraction of pages that hold data at start.
         * @return this.
         */
        public Config fillFraction(final double v)
        {
            fillFraction = v;
            return this;
        }

        /** @return fraction of non-zero pages. */
        public double fillFraction()
        {
            return fillFraction;
        }

        /**
         * @param v size of the hot set as a fraction of pages.
         * @return this.
         */
        public Config hotsetFraction(final double v)
        {
            hotsetFraction = v;
            return this;
        }

        /**
         * @param v share of writes that hit the hot set.
         * @return this.
         */
        public Config hotWriteShare(final double v)
        {
            hotWriteShare = v;
            return this;
        }

        /**
         * @param v number of vCPU threads.
         * @return this.
         */
        public Config vcpus(final int v)
        {
            vcpus = v;
            return this;
        }

        /**
         * @param v size of the device state blob.
         * @return this.
         */
        public Config deviceStateBytes(final int v)
        {
            deviceStateBytes = v;
            return this;
        }

        /** @return size of the device state blob. */
        public int deviceStateBytes()
        {
            return deviceStateBytes;
        }

        /**
         * @param v seed for contents and writes.
         * @return this.
         */
        public Config seed(final long v)
        {
            seed = v;
            return this;
        }
    }
}
