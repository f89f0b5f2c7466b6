package io.pagestream;

import io.pagestream.api.Compression;
import io.pagestream.api.MigrationContext;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationTarget;
import io.pagestream.security.HandshakeAuthenticator;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Warms the engine up once per JVM: a migration of a small synthetic guest between a source and a target of this
 * process's own, with their own embedded media drivers, over UDP loopback, with the frame protection the real
 * migration asked for. On a fresh JVM the page path (encoding, the lanes, Aeron's sender and receiver, the target's
 * checks and the kernel calls) is otherwise compiled while the first real guest depends on it: measured here on two
 * cores, the JIT took about half the CPU in the first two seconds of a 1 GiB migration, which took 2.3 s cold and
 * 0.8 s warm. The warm-up takes about half a second of launch time and never touches the real guest.
 * <p>
 * It never fails a launch: a warm-up that cannot run (no free port, say) is given up and said so in
 * {@link #lastOutcome()}. Threading: any thread; runs at most once per JVM.
 */
final class EngineWarmup
{
    /** Size of the warm-up guest. */
    static final long GUEST_BYTES = 64L << 20;

    private static final AtomicBoolean STARTED = new AtomicBoolean();
    private static volatile String lastOutcome = "not run";

    private EngineWarmup()
    {
    }

    /**
     * Run the warm-up migration if this is the first launch in this JVM that asks for one.
     *
     * @param ctx the launching side's context: its frame protection and compression are warmed up.
     * @return nanoseconds spent; 0 if it did not run.
     */
    static long runOnce(final MigrationContext<?> ctx, final Compression compression)
    {
        return ctx.warmUp() ? runOnce(ctx.frameAuthentication(), ctx.frameEncryption(), compression) : 0;
    }

    /**
     * Run the warm-up migration if no warm-up ran in this JVM yet.
     *
     * @param macs        protect its frames with MACs.
     * @param seals       seal its frames.
     * @param compression its compression.
     * @return nanoseconds spent; 0 if it did not run.
     */
    static synchronized long runOnce(final boolean macs, final boolean seals, final Compression compression)
    {
        if (!STARTED.compareAndSet(false, true))
        {
            return 0;
        }
        final long startNs = System.nanoTime();
        final SyntheticGuest.Config config = new SyntheticGuest.Config()
            .sizeBytes(GUEST_BYTES).workload(Workload.HOTSET).dirtyRatePagesPerSec(20_000).fillFraction(0.6)
            .seed(startNs);
        final byte[] key = HandshakeAuthenticator.newNonce();
        try (SyntheticGuest sourceGuest = SyntheticGuest.create(config);
            SyntheticGuest targetGuest = SyntheticGuest.createTarget(config))
        {
            try (MigrationTarget migrationTarget = DefaultMigrationTarget.launch(new MigrationTarget.Context()
                .guestMemory(targetGuest.memory())
                .deviceState(targetGuest.deviceState())
                .listenEndpoint("127.0.0.1:0") // ports the kernel chooses: never one someone else holds
                .secretKey(key)
                .frameAuthentication(macs)
                .frameEncryption(seals)
                .postcopyEnabled(true)
                .warmUp(false)))
            {
                sourceGuest.vcpus().start();
                try (MigrationSource source = DefaultMigrationSource.launch(new MigrationSource.Context()
                    .migrationId(io.pagestream.status.Events.WARMUP_MIGRATION_ID) // no JFR events for it
                    .guestMemory(sourceGuest.memory())
                    .dirtyPageLog(sourceGuest.dirtyLog())
                    .vcpuControl(sourceGuest.vcpus())
                    .deviceState(sourceGuest.deviceState())
                    .targetEndpoint(migrationTarget.listenEndpoint())
                    .controlEndpoint("127.0.0.1:0")
                    .secretKey(key)
                    .frameAuthentication(macs)
                    .frameEncryption(seals)
                    .compression(compression)
                    .warmUp(false)))
                {
                    final MigrationReport report = source.completion().get(30, TimeUnit.SECONDS);
                    migrationTarget.completion().get(10, TimeUnit.SECONDS);
                    lastOutcome = report.result() == MigrationResult.COMPLETED ?
                        "migrated " + (GUEST_BYTES >> 20) + " MiB in " + report.totalTimeMs() + " ms" :
                        "gave up: " + report.reason();
                }
            }
        }
        catch (final Exception | LinkageError ex)
        {
            lastOutcome = "gave up: " + ex;
        }
        return System.nanoTime() - startNs;
    }

    /** @return what the warm-up did, or why it gave up; "not run" before it ran. */
    static String lastOutcome()
    {
        return lastOutcome;
    }
}
