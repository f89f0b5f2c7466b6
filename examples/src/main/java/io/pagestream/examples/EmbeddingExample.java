package io.pagestream.examples;

import io.pagestream.PageStream;
import io.pagestream.api.MigrationListener;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationTarget;
import io.pagestream.api.guest.DeviceState;
import io.pagestream.api.guest.DirtyPageLog;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.VcpuControl;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.SyntheticVcpus;
import io.pagestream.synthetic.Workload;

import java.util.concurrent.TimeUnit;

/**
 * The smallest complete embedding, for hypervisor authors: what a VMM hands PageStream on each side and what it
 * does with the result. The synthetic guest stands in for the VMM's own memory, dirty log, vCPUs and devices.
 * Run with {@code java -cp examples/target/pagestream-demo.jar io.pagestream.examples.EmbeddingExample}.
 */
public final class EmbeddingExample
{
    private EmbeddingExample()
    {
    }

    /**
     * @param args unused.
     */
    public static void main(final String[] args)
    {
        final SyntheticGuest.Config shape = new SyntheticGuest.Config()
            .sizeBytes(256L << 20).workload(Workload.HOTSET).dirtyRatePagesPerSec(10_000);
        try (SyntheticGuest vm = SyntheticGuest.create(shape);
            SyntheticGuest incoming = SyntheticGuest.createTarget(shape))
        {
            vm.vcpus().start();
            // In production the management plane hands both hosts a per-migration secret; here we make one.
            final byte[] sharedKey = new byte[32];
            new java.security.SecureRandom().nextBytes(sharedKey);
            final MigrationReport report = migrate(vm.memory(), vm.dirtyLog(), vm.vcpus(), vm.deviceState(),
                incoming.memory(), incoming.deviceState(), incoming.vcpus(), sharedKey);
            System.out.println(report);
        }
    }

    static MigrationReport migrate(
        final GuestMemory memory,
        final DirtyPageLog dirtyLog,
        final VcpuControl vcpus,
        final DeviceState devices,
        final GuestMemory targetMemory,
        final DeviceState targetDevices,
        final SyntheticVcpus targetVcpus,
        final byte[] sharedKey)
    {
        // Target host: listen before the source starts; memory has the same layout, freshly mapped (zero).
        try (MigrationTarget target = PageStream.launchTarget(new MigrationTarget.Context()
                .guestMemory(targetMemory)
                .deviceState(targetDevices)
                .listenEndpoint("127.0.0.1:40400")
                .postcopyEnabled(true)                // the fault path below is wired
                .secretKey(sharedKey));               // both sides prove they hold it before a page moves
            // Source host: hand over the guest; the migration runs on PageStream's own thread.
            MigrationSource source = PageStream.launchSource(new MigrationSource.Context()
                .guestMemory(memory)
                .dirtyPageLog(dirtyLog)
                .vcpuControl(vcpus)
                .deviceState(devices)
                .targetEndpoint("127.0.0.1:40400")
                .controlEndpoint("127.0.0.1:40401")
                .secretKey(sharedKey)
                .downtimeTargetMs(300)
                .listener(new MigrationListener()
                {
                    public void onPhaseChange(final MigrationPhase previous, final MigrationPhase next)
                    {
                        System.out.println(previous + " -> " + next);
                    }
                })))
        {
            // Target host: the VMM's fault handler (userfaultfd, EPT violation) asks for a page not yet here. In
            // pre-copy every page is here before the guest runs; after a post-copy switchover, not yet.
            targetVcpus.faultPath(pageIndex ->
            {
                while (!target.awaitPage(pageIndex, TimeUnit.SECONDS.toNanos(1)))
                {
                    System.out.println("still waiting for page " + pageIndex); // link down: PageStream reconnects
                }
            });
            // Resume the guest when PageStream says it may: POSTCOPY (now) or COMPLETE (everything is here).
            target.readyToRun().thenAccept(phase ->
            {
                if (phase == MigrationPhase.POSTCOPY || phase == MigrationPhase.COMPLETE)
                {
                    System.out.println("resume on target (" + phase + ")");
                    targetVcpus.start();
                }
            });

            final MigrationReport report = source.completion().join();
            if (target.completion().join().result() == MigrationResult.COMPLETED)
            {
                // On the source the guest is paused for good.
                System.out.println("migrated (" + report.mode() + "); downtime " + report.downtimeMs() + " ms");
            }
            // FAILED/CANCELLED before the switchover: PageStream has already resumed the vCPUs on the source and
            // stopped dirty tracking. GUEST_LOST: post-copy could not finish; the target's fault path now throws.
            return report;
        }
    }
}
