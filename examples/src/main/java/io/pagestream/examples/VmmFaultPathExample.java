package io.pagestream.examples;

import io.pagestream.PageStream;
import io.pagestream.api.Compression;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.api.MigrationTarget;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.PageInstaller;
import io.pagestream.kernel.FaultMessageReader;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.kernel.UserFaultFd;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.SyntheticVcpus;
import io.pagestream.synthetic.Workload;

import java.util.concurrent.TimeUnit;

/**
 * A VMM-shaped embedding that owns the userfaultfd of its guest memory, as QEMU does: PageStream never touches the
 * target's memory after the post-copy switchover; it tells the VMM which pages went stale and hands it every page
 * that arrives, through the {@link PageInstaller} hook. The VMM discards the stale pages, registers its memory for
 * missing-page faults, runs its own fault thread (which asks PageStream for a missing page with
 * {@link MigrationTarget#requestPage(long)}) and installs pages with UFFDIO_COPY and UFFDIO_ZEROPAGE. Its vCPU
 * threads (the synthetic guest's) read and write plain memory and block in the kernel on a missing page.
 * <p>
 * Both hosts run in this one process over loopback. At the end the target's guest is stopped, its own writes are
 * taken back (each checked to have survived) and the rest compared with the source's final memory.
 * Run with {@code java --enable-native-access=ALL-UNNAMED -cp examples/target/pagestream-demo.jar
 * io.pagestream.examples.VmmFaultPathExample} as root (userfaultfd).
 */
public final class VmmFaultPathExample
{
    private VmmFaultPathExample()
    {
    }

    /**
     * @param args unused.
     */
    public static void main(final String[] args)
    {
        final Result result = run(64L << 20);
        System.out.println(result);
        System.exit(result.exact ? 0 : 1);
    }

    /** What one run showed. */
    static final class Result
    {
        final MigrationReport source;
        final MigrationReport target;
        final long faultsServedByTheVmm;
        final long pagesInstalled;
        final long targetWrites;
        final boolean exact;

        Result(
            final MigrationReport source,
            final MigrationReport target,
            final long faultsServedByTheVmm,
            final long pagesInstalled,
            final long targetWrites,
            final boolean exact)
        {
            this.source = source;
            this.target = target;
            this.faultsServedByTheVmm = faultsServedByTheVmm;
            this.pagesInstalled = pagesInstalled;
            this.targetWrites = targetWrites;
            this.exact = exact;
        }

        public String toString()
        {
            return "source " + source + "\ntarget " + target + "\nthe VMM served " + faultsServedByTheVmm +
                " faults and installed " + pagesInstalled + " pages; the target's guest wrote " + targetWrites +
                " words; memory " + (exact ? "exact" : "DIFFERS");
        }
    }

    static Result run(final long guestBytes)
    {
        final SyntheticGuest.Config shape = new SyntheticGuest.Config()
            .sizeBytes(guestBytes).workload(Workload.UNIFORM).dirtyRatePagesPerSec(50_000).seed(3);
        final byte[] sharedKey = new byte[32];
        new java.security.SecureRandom().nextBytes(sharedKey);
        try (SyntheticGuest vm = SyntheticGuest.create(shape);
            SyntheticGuest incoming = SyntheticGuest.createTarget(shape);
            VmmFaultHandler vmm = new VmmFaultHandler(incoming.memory()))
        {
            final SyntheticVcpus targetVcpus = incoming.vcpus();
            targetVcpus.journal(); // plain memory: faults block in the kernel, no call into PageStream
            try (MigrationTarget target = PageStream.launchTarget(new MigrationTarget.Context()
                    .guestMemory(incoming.memory())
                    .deviceState(incoming.deviceState())
                    .listenEndpoint("127.0.0.1:40410")
                    .postcopyEnabled(true)
                    .pageInstaller(vmm)             // the VMM owns the userfaultfd; PageStream hands it pages
                    .secretKey(sharedKey));
                MigrationSource source = PageStream.launchSource(new MigrationSource.Context()
                    .guestMemory(vm.memory())
                    .dirtyPageLog(vm.dirtyLog())
                    .vcpuControl(vm.vcpus())
                    .deviceState(vm.deviceState())
                    .targetEndpoint("127.0.0.1:40410")
                    .controlEndpoint("127.0.0.1:40411")
                    .strategy(MigrationStrategy.POSTCOPY)
                    .compression(Compression.AUTO)
                    .maxBandwidthBytesPerSec(40_000_000)   // slow enough that the guest faults on the target
                    .secretKey(sharedKey)))
            {
                vmm.target = target;
                target.readyToRun().thenAccept(phase ->
                {
                    if (phase == MigrationPhase.POSTCOPY || phase == MigrationPhase.COMPLETE)
                    {
                        targetVcpus.start();
                    }
                });
                vm.vcpus().start();
                final MigrationReport sourceReport = source.completion().join();
                final MigrationReport targetReport = target.completion().join();
                targetVcpus.pause();
                final long writes = targetVcpus.journalledWrites();
                final boolean exact = targetVcpus.verifyAndUndo() == 0 &&
                    MemoryDigest.digest(vm.memory()) == MemoryDigest.digest(incoming.memory());
                return new Result(sourceReport, targetReport, vmm.faults, vmm.installed, writes, exact);
            }
        }
    }

    /**
     * The VMM's side of post-copy: its userfaultfd, its fault thread and the page-install hook PageStream calls.
     */
    static final class VmmFaultHandler implements PageInstaller, AutoCloseable
    {
        private final GuestMemory memory;
        private final MemoryKernel kernel = MemoryKernel.create();
        private final int pageSize;
        private volatile MigrationTarget target;
        private UserFaultFd uffd;
        private FaultMessageReader reader;
        private Thread faultThread;
        private volatile boolean running;
        volatile long faults;
        volatile long installed;

        VmmFaultHandler(final GuestMemory memory)
        {
            this.memory = memory;
            this.pageSize = memory.pageSize();
        }

        /** {@inheritDoc} */
        public void onPostcopyStart(final long[] staleWords, final long stalePages)
        {
            // Stale pages go, so touching one faults; then the memory is armed for missing-page faults.
            for (long page = 0; page < memory.pageCount(); page++)
            {
                if ((staleWords[(int)(page >>> 6)] & (1L << page)) != 0)
                {
                    kernel.dontNeed(memory.pageAddress(page), pageSize);
                }
            }
            uffd = UserFaultFd.open(0, true);
            for (int r = 0; r < memory.regionCount(); r++)
            {
                uffd.register(memory.regionAddress(r), memory.regionLengthBytes(r), UserFaultFd.MODE_MISSING);
            }
            reader = new FaultMessageReader(uffd, 16);
            running = true;
            faultThread = new Thread(this::serveFaults, "vmm-faults");
            faultThread.setDaemon(true);
            faultThread.start();
        }

        private void serveFaults()
        {
            while (running)
            {
                final int count = reader.poll(20);
                for (int i = 0; i < count; i++)
                {
                    if (reader.event(i) != UserFaultFd.EVENT_PAGEFAULT)
                    {
                        continue;
                    }
                    final long pageIndex = (reader.address(i) - memory.regionAddress(0)) / pageSize;
                    faults++;
                    if (target.isPageReceived(pageIndex))
                    {
                        // Here but never written here: a zero page (or installed meanwhile: then this just wakes).
                        if (uffd.zeroPage(memory.pageAddress(pageIndex), pageSize, false) == UserFaultFd.EXISTS)
                        {
                            uffd.wake(memory.pageAddress(pageIndex), pageSize);
                        }
                    }
                    else
                    {
                        target.requestPage(pageIndex); // the page comes to installPage, which wakes the thread
                    }
                }
            }
        }

        /** {@inheritDoc} */
        public boolean installPage(final long pageIndex, final long sourceAddress)
        {
            long result;
            do
            {
                result = uffd.copy(memory.pageAddress(pageIndex), sourceAddress, pageSize, 0);
            }
            while (result == UserFaultFd.RETRY);
            if (result == pageSize)
            {
                installed++;
                return true;
            }
            return false;
        }

        /** {@inheritDoc} */
        public long installZeroPages(final long firstPageIndex, final long count)
        {
            long done = 0;
            for (long page = firstPageIndex; page < firstPageIndex + count; page++)
            {
                if (uffd.zeroPage(memory.pageAddress(page), pageSize, false) != UserFaultFd.EXISTS)
                {
                    done++;
                }
            }
            installed += done;
            return done;
        }

        /** {@inheritDoc} */
        public void onPostcopyEnd(final boolean guestLost)
        {
            running = false;
            if (!guestLost && null != uffd)
            {
                uffd.close(); // every page is here: plain memory again
                uffd = null;
            }
        }

        /** {@inheritDoc} */
        public String name()
        {
            return "hook";
        }

        /** Stop the fault thread and end the registration. */
        public void close()
        {
            running = false;
            if (null != faultThread)
            {
                try
                {
                    faultThread.join(TimeUnit.SECONDS.toMillis(1));
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
            }
            if (null != uffd)
            {
                uffd.close();
            }
            if (null != reader)
            {
                reader.close();
            }
        }
    }
}
