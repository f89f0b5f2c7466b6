package io.pagestream;

import io.pagestream.api.MigrationException;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.api.ErrorCode;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import io.pagestream.testing.FreezingVcpus;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cloning a running guest over a real migration: the source guest resumes when the migration completes, the target
 * accepts the guest under the clone's new vmId, and the target's memory equals the source's memory at the point the
 * source paused for the switchover (copied just before the source resumed).
 */
@Timeout(120)
class CloneSystemTest
{
    @ParameterizedTest
    @EnumSource(value = MigrationStrategy.class, names = { "PRECOPY", "POSTCOPY" })
    void shouldLeaveBothGuestsRunningFromTheSameMemory(final MigrationStrategy strategy) throws Exception
    {
        final UUID original = UUID.randomUUID();
        final UUID clone = UUID.randomUUID();
        try (MigrationHarness h = new MigrationHarness(new SyntheticGuest.Config().sizeBytes(32L << 20)
            .workload(Workload.HOTSET).fillFraction(0.6).dirtyRatePagesPerSec(5_000));
            FreezingVcpus vcpus = new FreezingVcpus(h.sourceGuest))
        {
            h.sourceGuest.vcpus().start();
            final MigrationReport[] reports = h.migrate(t -> t.vmId(clone).postcopyEnabled(true),
                s -> s.vmId(original).cloneVmId(clone).vcpuControl(vcpus).strategy(strategy)
                    .downtimeTargetMs(100), 60);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertTrue(reports[0].reason().contains("cloned as " + clone), reports[0].reason());

            assertFalse(h.sourceGuest.vcpus().isPaused(), "the source guest runs on");
            final long written = h.sourceGuest.vcpus().pagesWritten();
            Thread.sleep(100);
            assertTrue(h.sourceGuest.vcpus().pagesWritten() > written, "and writes");
            assertEquals(-1, MemoryDigest.firstDifference(vcpus.frozen(), h.targetGuest.memory()),
                "the clone holds the source's memory at the switchover");
            assertEquals(h.sourceGuest.deviceState().checksum(), h.targetGuest.deviceState().checksum());
        }
    }

    @Test
    void shouldRefuseACloneIdEqualToTheGuestsOwn()
    {
        final UUID id = UUID.randomUUID();
        try (MigrationHarness h = new MigrationHarness(new SyntheticGuest.Config().sizeBytes(4L << 20)))
        {
            final MigrationSource.Context ctx = h.sourceContext().vmId(id).cloneVmId(id);
            final MigrationException ex = assertThrows(MigrationException.class, ctx::conclude);
            assertEquals(ErrorCode.INVALID_CONFIGURATION, ex.errorCode());
            assertTrue(ex.getMessage().contains("cloneVmId"), ex.getMessage());
        }
    }
}
