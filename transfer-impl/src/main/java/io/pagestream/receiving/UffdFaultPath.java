package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.PageInstaller;
import io.pagestream.kernel.FaultMessageReader;
import io.pagestream.kernel.GuestPageScan;
import io.pagestream.kernel.KernelCallException;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.kernel.UserFaultFd;
import org.agrona.concurrent.NanoClock;

import java.util.function.LongConsumer;

/**
 * The post-copy fault path through the kernel, owned by PageStream: guest threads read and write plain memory, and
 * one that touches a page not here yet blocks in the kernel until the page is installed.
 * <ul>
 * <li>At the switchover ({@link #onPostcopyStart}) the stale pages are discarded (MADV_DONTNEED) and guest memory
 * is registered with a userfaultfd for missing pages (private anonymous memory, and hugetlb).</li>
 * <li>A thread of its own reads the faults: a page still to come is requested on the urgent lane through the
 * {@link FaultService} (and again every {@link FaultService#REQUEST_RETRY_NS} while it waits, which carries the
 * request across a reconnection); a page that is here but was never written here (a zero page the migration left
 * alone) gets the zero page at once.</li>
 * <li>Pages arriving on the agent's thread are installed with UFFDIO_COPY straight from the frame, zero runs with
 * UFFDIO_ZEROPAGE: atomically, so no thread ever sees half a page, and waking the threads blocked on them.</li>
 * </ul>
 * Why UFFDIO_COPY on anonymous memory rather than a write through an alias plus UFFDIO_CONTINUE: VMMs map private
 * anonymous RAM by default, where MINOR faults do not exist, and COPY installs and wakes in one call from any
 * source address, the term buffer included; CONTINUE needs shared memory and a second mapping.
 * <p>
 * If post-copy fails the guest is lost: faulting threads stay blocked (never resumed on zeros) until the VMM stops
 * the guest; the registration ends when the target is closed.
 * <p>
 * Faults are mapped to pages by {@link RegionsByAddress}; the pages asked for and not yet here are timed and asked
 * for again by {@link InFlightFaults}.
 * <p>
 * Threading: {@link #onPostcopyStart}, the installs and {@link #onPostcopyEnd} on the target conductor's thread; the
 * fault thread is its own. No allocation per fault or per page.
 */
final class UffdFaultPath implements PageInstaller, AutoCloseable
{
    private static final int MESSAGES = 64;
    private static final int POLL_MS = 10;
    private static final int DISCARD_BATCH = 4096;

    private final GuestMemory memory;
    private final MemoryKernel kernel;
    private final FaultService faults;
    private final NanoClock clock;
    private final int pageSize;
    private final RegionsByAddress regions;
    private final InFlightFaults inFlight;
    private final LongConsumer requestAgain = this::request;
    private UserFaultFd userFaultFd;
    private FaultMessageReader reader;
    private Thread thread;
    private volatile boolean running;
    private volatile boolean lost;
    private long zeroFaults;
    private long faultsSeen;

    /**
     * @param memory target guest memory.
     * @param kernel the memory kernel.
     * @param faults requests pages and keeps the fault figures.
     * @param clock  times faults.
     * @throws MigrationException MISSING_CAPABILITY if this process cannot have a userfaultfd, or if guest memory is
     *                            file-backed or cannot be told not to be ({@link #checkPrivateMemory(int)}).
     */
    UffdFaultPath(final GuestMemory memory, final MemoryKernel kernel, final FaultService faults, final NanoClock clock)
    {
        if (!UserFaultFd.isAvailable())
        {
            throw new MigrationException(ErrorCode.MISSING_CAPABILITY,
                "kernelFaultPath: no userfaultfd for this process (needs Linux, root or vm.unprivileged_userfaultfd=1," +
                " and native access)");
        }
        checkPrivateMemory(GuestPageScan.fileMappingsUnder(memory));
        this.memory = memory;
        this.kernel = kernel;
        this.faults = faults;
        this.clock = clock;
        this.pageSize = memory.pageSize();
        this.regions = new RegionsByAddress(memory);
        this.inFlight = new InFlightFaults(clock);
    }

    /**
     * Refuse guest memory this fault path cannot serve: at the switchover it discards stale pages with
     * MADV_DONTNEED, which on a file-backed (shared) mapping drops only this process's mapping of the page, and the
     * next access reads the stale page back from the file instead of faulting; missing-page faults never fire there.
     * Fails closed: where the mappings cannot be read, the memory is refused as well.
     *
     * @param fileMappings file-backed mappings overlapping guest regions, or {@link GuestPageScan#MAPPINGS_UNKNOWN}.
     * @throws MigrationException MISSING_CAPABILITY naming why.
     */
    static void checkPrivateMemory(final int fileMappings)
    {
        if (fileMappings == GuestPageScan.MAPPINGS_UNKNOWN)
        {
            throw new MigrationException(ErrorCode.MISSING_CAPABILITY, "kernelFaultPath: /proc/self/maps cannot be " +
                "read, so whether guest memory lies in file-backed mappings (a file, a memfd, shared memory) cannot " +
                "be told; there MADV_DONTNEED would leave stale pages readable: give the target a pageInstaller " +
                "(MINOR faults and UFFDIO_CONTINUE for shared memory), or make /proc/self/maps readable");
        }
        if (fileMappings > 0)
        {
            throw new MigrationException(ErrorCode.MISSING_CAPABILITY, "kernelFaultPath: guest memory lies in " +
                fileMappings + " file-backed mapping(s) (a file, a memfd, shared memory); missing-page faults cover " +
                "private anonymous memory and hugetlb only, shared memory needs MINOR faults and UFFDIO_CONTINUE: " +
                "give the target a pageInstaller that does those, or map guest memory privately");
        }
    }

    /** {@inheritDoc} */
    public void onPostcopyStart(final long[] staleWords, final long stalePages)
    {
        discard(staleWords);
        userFaultFd = UserFaultFd.open(UserFaultFd.availableFeatures() & UserFaultFd.FEATURE_MISSING_HUGETLBFS, true);
        for (int i = 0; i < regions.count(); i++)
        {
            userFaultFd.register(regions.start(i), regions.lengthBytes(i), UserFaultFd.MODE_MISSING);
        }
        reader = new FaultMessageReader(userFaultFd, MESSAGES);
        running = true;
        thread = new Thread(this::serve, "pagestream-faults");
        thread.setDaemon(true);
        thread.start();
    }

    /** {@inheritDoc} */
    public boolean installPage(final long pageIndex, final long sourceAddress)
    {
        final long address = memory.pageAddress(pageIndex);
        long result;
        do
        {
            result = userFaultFd.copy(address, sourceAddress, pageSize, 0);
        }
        while (result == UserFaultFd.RETRY);
        if (result != pageSize && result != UserFaultFd.EXISTS)
        {
            throw new MigrationException(ErrorCode.INTERNAL, "UFFDIO_COPY of pageIndex=" + pageIndex +
                " installed " + result + " of " + pageSize + " bytes");
        }
        served(pageIndex);
        return result == pageSize;
    }

    /** {@inheritDoc} */
    public long installZeroPages(final long firstPageIndex, final long count)
    {
        long installed = 0;
        for (long page = firstPageIndex, end = firstPageIndex + count; page < end; page++)
        {
            // Page by page: a range stops at the first page already there, and pages of one run may lie in
            // different regions. A zero run in post-copy holds pages still to come, which are few.
            if (zeroPage(page))
            {
                installed++;
            }
            served(page);
        }
        return installed;
    }

    /** {@inheritDoc} */
    public void onPostcopyEnd(final boolean guestLost)
    {
        lost = guestLost;
        stopThread();
        if (!guestLost && null != userFaultFd)
        {
            // Every page is here: pages never written here read as zero from now on, as plain memory.
            userFaultFd.close();
            userFaultFd = null;
        }
    }

    /** {@inheritDoc} */
    public String name()
    {
        return "userfaultfd";
    }

    /** @return faults read from the kernel. */
    long faultsSeen()
    {
        return faultsSeen;
    }

    /** @return faults on pages that were here but never written here, answered with the zero page. */
    long zeroFaults()
    {
        return zeroFaults;
    }

    /**
     * Stop serving and end the registration, except after a lost guest: ending it would let threads blocked on
     * missing pages go on over zero pages, so the registration stays until the VMM unmaps guest memory or the
     * process ends.
     */
    public void close()
    {
        stopThread();
        if (null != userFaultFd && !lost)
        {
            userFaultFd.close();
            userFaultFd = null;
        }
        if (null != reader && null == userFaultFd)
        {
            reader.close();
        }
    }

    private void discard(final long[] staleWords)
    {
        final long pageCount = memory.pageCount();
        final long[] addresses = new long[DISCARD_BATCH]; // once per switchover
        final long[] lengths = new long[DISCARD_BATCH];
        int runs = 0;
        long page = 0;
        while (page < pageCount)
        {
            final int w = (int)(page >>> 6);
            final long bits = staleWords[w] & (-1L << page);
            if (bits == 0)
            {
                page = ((long)w + 1) << 6;
                continue;
            }
            page = ((long)w << 6) + Long.numberOfTrailingZeros(bits);
            if (page >= pageCount)
            {
                break;
            }
            long end = page + 1;
            while (end < pageCount && (staleWords[(int)(end >>> 6)] & (1L << end)) != 0 &&
                memory.pageAddress(end) == memory.pageAddress(end - 1) + pageSize)
            {
                end++;
            }
            addresses[runs] = memory.pageAddress(page);
            lengths[runs] = (end - page) * pageSize;
            if (++runs == DISCARD_BATCH)
            {
                discardRuns(addresses, lengths, runs);
                runs = 0;
            }
            page = end;
        }
        discardRuns(addresses, lengths, runs);
    }

    private void discardRuns(final long[] addresses, final long[] lengths, final int runs)
    {
        if (runs > 0 && !kernel.dontNeed(addresses, lengths, runs))
        {
            throw new MigrationException(ErrorCode.INTERNAL, "kernelFaultPath: MADV_DONTNEED is not available, " +
                "so stale pages cannot be discarded before the guest runs");
        }
    }

    private boolean zeroPage(final long pageIndex)
    {
        final long address = memory.pageAddress(pageIndex);
        long result;
        do
        {
            result = userFaultFd.zeroPage(address, pageSize, false);
        }
        while (result == UserFaultFd.RETRY);
        if (result == UserFaultFd.EXISTS)
        {
            userFaultFd.wake(address, pageSize); // installed meanwhile: make sure its waiters run
            return false;
        }
        return true;
    }

    private void serve()
    {
        long lastRetryNs = clock.nanoTime();
        try
        {
            while (running)
            {
                final int count = reader.poll(POLL_MS);
                for (int i = 0; i < count; i++)
                {
                    if (reader.event(i) == UserFaultFd.EVENT_PAGEFAULT)
                    {
                        onFault(reader.address(i));
                    }
                }
                final long nowNs = clock.nanoTime();
                if (nowNs - lastRetryNs >= FaultService.REQUEST_RETRY_NS && inFlight.count() > 0)
                {
                    lastRetryNs = nowNs;
                    inFlight.forEachOverdue(nowNs, FaultService.REQUEST_RETRY_NS, requestAgain);
                }
            }
        }
        catch (final KernelCallException ex)
        {
            if (running)
            {
                faults.guestLost("the userfaultfd fault thread failed: " + ex.getMessage());
            }
        }
    }

    private void onFault(final long address)
    {
        faultsSeen++;
        final long pageIndex = regions.pageIndexOf(address);
        if (pageIndex < 0)
        {
            return; // not guest memory
        }
        if (faults.isPresent(pageIndex))
        {
            // Here but never written here (zero), or installed since the fault: the zero page, or just a wake.
            if (zeroPage(pageIndex))
            {
                zeroFaults++;
            }
            return;
        }
        if (lost)
        {
            return; // the guest is lost: its threads stay blocked
        }
        if (inFlight.track(pageIndex))
        {
            faults.kernelFaultStarted();
        }
        request(pageIndex);
    }

    private void request(final long pageIndex)
    {
        try
        {
            faults.requestPage(pageIndex);
        }
        catch (final MigrationException ex)
        {
            lost = true; // GUEST_LOST: the page never comes; the thread stays blocked
        }
    }

    /** Agent thread: a page was installed; if a thread faulted on it, that fault has been served now. */
    private void served(final long pageIndex)
    {
        final long serviceNs = inFlight.served(pageIndex);
        if (serviceNs != InFlightFaults.NOT_TRACKED)
        {
            faults.kernelFaultServed(pageIndex, serviceNs);
        }
    }

    private void stopThread()
    {
        running = false;
        final Thread t = thread;
        if (null != t && t != Thread.currentThread())
        {
            try
            {
                t.join(1000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        thread = null;
    }
}
