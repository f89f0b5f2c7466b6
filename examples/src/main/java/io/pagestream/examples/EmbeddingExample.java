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
import io.pagestream.synthetic.Workload;

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
            final MigrationReport report = migrate(
                vm.memory(), vm.dirtyLog(), vm.vcpus(), vm.deviceState(), incoming.memory(), incoming.deviceState());
            System.out.println(report);
        }
    }

    static MigrationReport migrate(
        final GuestMemory memory,
        final DirtyPageLog dirtyLog,
        final VcpuControl vcpus,
        final DeviceState devices,
        final GuestMemory targetMemory,
        final DeviceState targetDevices)
    {
        // Target host: listen before the source starts; memory has the same layout, freshly mapped (zero).
        try (MigrationTarget target = PageStream.launchTarget(new MigrationTarget.Context()
                .guestMemory(targetMemory)
                .deviceState(targetDevices)
                .listenEndpoint("127.0.0.1:40400"));
            // Source host: hand over the guest; the migration runs on PageStream's own thread.
            MigrationSource source = PageStream.launchSource(new MigrationSource.Context()
                .guestMemory(memory)
                .dirtyPageLog(dirtyLog)
                .vcpuControl(vcpus)
                .deviceState(devices)
                .targetEndpoint("127.0.0.1:40400")
                .controlEndpoint("127.0.0.1:40401")
                .downtimeTargetMs(300)
                .listener(new MigrationListener()
                {
                    public void onPhaseChange(final MigrationPhase previous, final MigrationPhase next)
                    {
                        System.out.println(previous + " -> " + next);
                    }
                })))
        {
            final MigrationReport report = source.completion().join();
            if (target.completion().join().result() == MigrationResult.COMPLETED)
            {
                // The VMM resumes the guest on the target host here; on the source it is paused for good.
                System.out.println("resume on target; downtime " + report.downtimeMs() + " ms");
            }
            // Otherwise PageStream has already resumed the vCPUs on the source and stopped dirty tracking.
            return report;
        }
    }
}
