package io.pagestream.kernel;

import io.pagestream.api.guest.DirtyPageLog;
import io.pagestream.api.guest.GuestMemory;
import org.agrona.UnsafeApi;

import java.lang.foreign.Arena;

import static io.pagestream.kernel.KernelCallException.failed;
import static io.pagestream.kernel.KernelCallException.range;

/**
 * A {@link DirtyPageLog} kept by the kernel for guest memory mapped in this process: asynchronous userfaultfd
 * write-protection (Linux 6.7) harvested with PAGEMAP_SCAN.
 * <p>
 * {@link #startTracking()} registers every region with a userfaultfd in WP mode with UFFD_FEATURE_WP_ASYNC (a write
 * to a protected page is resolved by the kernel itself, which clears the page's protection: the page is now
 * "written") and UFFD_FEATURE_WP_UNPOPULATED (never-touched anonymous pages are protected by page-table markers
 * without being populated), then write-protects everything. {@link #fetchAndClear(long[])} makes one PAGEMAP_SCAN per
 * region (more only if the output vector fills) with PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC and category
 * PAGE_IS_WRITTEN: the kernel reports the written ranges and write-protects them again under the page-table lock, one
 * entry at a time, and flushes the TLB before returning. A write that lands before the scan reaches its page is
 * reported now; one after it faults and is reported by the next fetch; none is lost, and a page written back with
 * the value it held is reported like any other write. A page released with MADV_DONTNEED while tracked is reported as
 * written, since its contents changed to zero. The protection lives in this process's page tables for the guest's
 * mappings: writes to shared guest memory through another mapping (a second mapping of the memfd, a vhost-user
 * backend in another process) are not seen, and need their own log. Writes the kernel makes into guest memory for
 * this process (read(2) into it) fault like user writes and are seen; KVM reaches guest memory through these page
 * tables too, which is untested here.
 * <p>
 * Guest threads write at full speed between fetches: the first write to a page after a fetch takes one minor fault,
 * later writes none. Nothing is allocated per fetch or per page. Measured on a 2-vCPU VM (Linux 6.18,
 * {@code DirtyLogFetchCost}): a fetch walks every page-table entry of guest memory, about 1.1 ms per GiB with nothing
 * written, plus the re-protection of what was written: 1 GiB with 1% of pages written at random 2.5-4 ms, 10% 4.7 ms;
 * 8 GiB with 1% 15-22 ms, 10% 19-29 ms; written pages in runs cost less (8 GiB, 10% in runs of 64 pages: 16 ms).
 * <p>
 * Threading: as {@link DirtyPageLog}, one thread at a time calls these methods; guest threads write concurrently.
 */
public final class WriteProtectDirtyPageLog implements DirtyPageLog, AutoCloseable
{
    /** The userfaultfd features this log needs. */
    public static final long REQUIRED_FEATURES = UserFaultFd.FEATURE_WP_ASYNC | UserFaultFd.FEATURE_WP_UNPOPULATED;

    /** Page regions one PAGEMAP_SCAN returns by default (24 bytes each). */
    public static final int DEFAULT_SCAN_REGIONS = 4096;

    private static final long SCAN_FLAGS = Pagemap.PM_SCAN_WP_MATCHING | Pagemap.PM_SCAN_CHECK_WPASYNC;

    private static volatile String probedReason;

    private final GuestMemory memory;
    private final int pageShift;
    private final long[] regionFirstPage;
    private final Arena arena = Arena.ofShared();
    private final Pagemap pagemap;
    private UserFaultFd userFaultFd;
    private int pagemapFd = -1;
    private boolean tracking;
    private long fetches;
    private long scans;

    /**
     * @param memory guest memory mapped in this process: anonymous private memory, or with
     *               UFFD_FEATURE_WP_HUGETLBFS_SHMEM also shmem (memfd, /dev/shm) and hugetlbfs.
     */
    public WriteProtectDirtyPageLog(final GuestMemory memory)
    {
        this(memory, DEFAULT_SCAN_REGIONS);
    }

    /**
     * @param memory      guest memory mapped in this process.
     * @param scanRegions written ranges one PAGEMAP_SCAN call can return; more ranges take more calls.
     */
    public WriteProtectDirtyPageLog(final GuestMemory memory, final int scanRegions)
    {
        if (scanRegions < 1)
        {
            throw new IllegalArgumentException("scanRegions must be at least 1: " + scanRegions);
        }
        this.memory = memory;
        this.pageShift = Integer.numberOfTrailingZeros(memory.pageSize());
        this.regionFirstPage = new long[memory.regionCount()];
        long pages = 0;
        for (int i = 0; i < regionFirstPage.length; i++)
        {
            regionFirstPage[i] = pages;
            pages += memory.regionLengthBytes(i) >>> pageShift;
        }
        this.pagemap = new Pagemap(arena, scanRegions);
    }

    /**
     * @return true if this kernel keeps the log: userfaultfd with WP_ASYNC and WP_UNPOPULATED and PAGEMAP_SCAN, tried
     * once on a scratch mapping (a write must be reported once and then cleared).
     */
    public static boolean isAvailable()
    {
        return null == unavailableReason();
    }

    /**
     * @return why {@link #isAvailable()} is false, or null if it is true.
     */
    public static String unavailableReason()
    {
        String reason = probedReason;
        if (null == reason)
        {
            reason = probe();
            probedReason = reason;
        }
        return reason.isEmpty() ? null : reason;
    }

    private static String probe()
    {
        if (!Libc.AVAILABLE)
        {
            return Libc.UNAVAILABLE_REASON;
        }
        final long missing = REQUIRED_FEATURES & ~UserFaultFd.availableFeatures();
        if (missing != 0)
        {
            return "userfaultfd lacks features 0x" + Long.toHexString(missing) + " (WP_ASYNC, WP_UNPOPULATED)";
        }
        final int pageSize = Libc.PAGE_SIZE;
        final long address = Libc.mmap(0, 2L * pageSize, Libc.PROT_READ | Libc.PROT_WRITE,
            Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        if (address < 0)
        {
            return "mmap failed: " + Errno.describe((int)-address);
        }
        final GuestMemory probeMemory = GuestMemory.wrap(pageSize, new long[]{ address }, new long[]{ 2L * pageSize });
        try (WriteProtectDirtyPageLog log = new WriteProtectDirtyPageLog(probeMemory, 4))
        {
            log.startTracking();
            UnsafeApi.putLongVolatile(null, address + pageSize, 1L);
            final long[] bitmap = new long[1];
            final long first = log.fetchAndClear(bitmap);
            bitmap[0] = 0;
            final long second = log.fetchAndClear(bitmap);
            return first == 1 && second == 0 ? "" : "probe reported " + first + " then " + second + " written pages";
        }
        catch (final RuntimeException ex)
        {
            return ex.getMessage();
        }
        finally
        {
            Libc.munmap(address, 2L * pageSize);
        }
    }

    /**
     * Register guest memory with a new userfaultfd and write-protect all of it; if already tracking, write-protect
     * all of it again, which forgets the writes not yet fetched.
     *
     * @throws KernelCallException if the kernel refuses; nothing is left registered then.
     */
    public void startTracking()
    {
        if (null == userFaultFd)
        {
            try
            {
                final long features = REQUIRED_FEATURES |
                    (UserFaultFd.availableFeatures() & UserFaultFd.FEATURE_WP_HUGETLBFS_SHMEM);
                userFaultFd = UserFaultFd.open(features, true);
                pagemapFd = Pagemap.open();
                if (pagemapFd < 0)
                {
                    throw failed("open(/proc/self/pagemap)", pagemapFd);
                }
                for (int i = 0; i < regionFirstPage.length; i++)
                {
                    userFaultFd.register(memory.regionAddress(i), memory.regionLengthBytes(i), UserFaultFd.MODE_WP);
                }
            }
            catch (final RuntimeException ex)
            {
                stopTracking();
                throw ex;
            }
        }
        for (int i = 0; i < regionFirstPage.length; i++)
        {
            userFaultFd.writeProtect(memory.regionAddress(i), memory.regionLengthBytes(i), true, false);
        }
        tracking = true;
    }

    /**
     * OR into {@code bitmap} the pages written since tracking started or since the previous fetch, and write-protect
     * them again, atomically with the guest's writes.
     *
     * @param bitmap at least {@code (pageCount + 63) / 64} words, global page indices; bits are only set.
     * @return the number of bits newly set in {@code bitmap}.
     * @throws IllegalStateException if not tracking.
     */
    public long fetchAndClear(final long[] bitmap)
    {
        if (!tracking)
        {
            throw new IllegalStateException("fetchAndClear: not tracking; call startTracking() first");
        }
        Checks.bitmap("fetchAndClear", bitmap, memory.pageCount());
        final long roundUp = (1L << pageShift) - 1;
        long newlySet = 0;
        for (int r = 0; r < regionFirstPage.length; r++)
        {
            final long base = memory.regionAddress(r);
            final long end = base + memory.regionLengthBytes(r);
            final long firstPage = regionFirstPage[r];
            long start = base;
            while (start < end)
            {
                final int regions = pagemap.scan(
                    pagemapFd, start, end, SCAN_FLAGS, Pagemap.PAGE_IS_WRITTEN, 0, Pagemap.PAGE_IS_WRITTEN);
                scans++;
                if (regions < 0)
                {
                    throw failed(range("ioctl(PAGEMAP_SCAN, PM_SCAN_WP_MATCHING|PM_SCAN_CHECK_WPASYNC)",
                        start, end - start), regions);
                }
                for (int i = 0; i < regions; i++)
                {
                    newlySet += Bitmaps.setRange(bitmap,
                        firstPage + ((pagemap.regionStart(i) - base) >>> pageShift),
                        firstPage + ((pagemap.regionEnd(i) - base + roundUp) >>> pageShift));
                }
                final long walkEnd = pagemap.walkEnd();
                if (walkEnd <= start)
                {
                    throw new IllegalStateException("PAGEMAP_SCAN made no progress at 0x" + Long.toHexString(start));
                }
                start = walkEnd;
            }
        }
        fetches++;
        return newlySet;
    }

    /**
     * Unregister guest memory and close the userfaultfd; writes are no longer recorded and cost nothing. Idempotent.
     */
    public void stopTracking()
    {
        tracking = false;
        final UserFaultFd fd = userFaultFd;
        userFaultFd = null;
        if (pagemapFd >= 0)
        {
            Descriptors.close(pagemapFd);
            pagemapFd = -1;
        }
        if (null != fd)
        {
            // Closing the userfaultfd unregisters every range and drops the write-protection with it.
            fd.close();
        }
    }

    /**
     * @return true between {@link #startTracking()} and {@link #stopTracking()}.
     */
    public boolean isTracking()
    {
        return tracking;
    }

    /**
     * @return completed {@link #fetchAndClear(long[])} calls.
     */
    public long fetches()
    {
        return fetches;
    }

    /**
     * @return PAGEMAP_SCAN calls made by fetches: one per region per fetch, more when a region had more written ranges
     * than the output vector holds.
     */
    public long scans()
    {
        return scans;
    }

    /**
     * Stop tracking and free the scan buffers. Idempotent.
     */
    public void close()
    {
        stopTracking();
        if (arena.scope().isAlive())
        {
            arena.close();
        }
    }

    /** {@inheritDoc} */
    public String name()
    {
        return "userfaultfd";
    }
}
