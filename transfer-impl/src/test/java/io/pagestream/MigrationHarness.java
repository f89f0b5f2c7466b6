package io.pagestream;

import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationTarget;
import io.pagestream.synthetic.SyntheticGuest;
import org.agrona.CloseHelper;
import org.agrona.concurrent.SleepingMillisIdleStrategy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs both sides of a real migration in one JVM: two embedded media drivers, UDP on loopback, free ports.
 */
final class MigrationHarness implements AutoCloseable
{
    final SyntheticGuest sourceGuest;
    final SyntheticGuest targetGuest;
    final String targetEndpoint;
    final String controlEndpoint;
    final String urgentEndpoint;
    /** Every harness migration is authenticated with a fresh key unless a test says otherwise. */
    final byte[] key = io.pagestream.security.HandshakeAuthenticator.newNonce();
    final List<Throwable> errors = new ArrayList<>();
    MigrationTarget target;
    MigrationSource source;

    MigrationHarness(final SyntheticGuest.Config config)
    {
        sourceGuest = SyntheticGuest.create(config);
        targetGuest = SyntheticGuest.createTarget(config);
        targetEndpoint = "127.0.0.1:" + LoopbackPorts.next();
        controlEndpoint = "127.0.0.1:" + LoopbackPorts.next();
        urgentEndpoint = "127.0.0.1:" + LoopbackPorts.next();
    }

    MigrationTarget.Context targetContext()
    {
        return new MigrationTarget.Context()
            .guestMemory(targetGuest.memory())
            .deviceState(targetGuest.deviceState())
            .listenEndpoint(targetEndpoint)
            .urgentEndpoint(urgentEndpoint)
            .secretKey(key)
            .idleStrategy(new SleepingMillisIdleStrategy(0))
            .errorHandler(this::onError);
    }

    MigrationSource.Context sourceContext()
    {
        return new MigrationSource.Context()
            .guestMemory(sourceGuest.memory())
            .dirtyPageLog(sourceGuest.dirtyLog())
            .vcpuControl(sourceGuest.vcpus())
            .deviceState(sourceGuest.deviceState())
            .targetEndpoint(targetEndpoint)
            .controlEndpoint(controlEndpoint)
            .secretKey(key)
            .errorHandler(this::onError);
    }

    /**
     * The source's guest is running as if no migration had been tried: not paused, not tracked, and writing.
     */
    void assertGuestRunsOnSource() throws InterruptedException
    {
        org.junit.jupiter.api.Assertions.assertFalse(sourceGuest.vcpus().isPaused(), "the guest runs on the source");
        org.junit.jupiter.api.Assertions.assertFalse(sourceGuest.isTracking(), "dirty tracking stopped");
        final long written = sourceGuest.vcpus().pagesWritten();
        Thread.sleep(50);
        org.junit.jupiter.api.Assertions.assertTrue(sourceGuest.vcpus().pagesWritten() > written, "and really runs");
    }

    synchronized void onError(final Throwable t)
    {
        errors.add(t);
    }

    MigrationTarget startTarget(final Consumer<MigrationTarget.Context> customise)
    {
        final MigrationTarget.Context ctx = targetContext();
        customise.accept(ctx);
        target = PageStream.launchTarget(ctx);
        return target;
    }

    MigrationSource startSource(final Consumer<MigrationSource.Context> customise)
    {
        final MigrationSource.Context ctx = sourceContext();
        customise.accept(ctx);
        source = PageStream.launchSource(ctx);
        return source;
    }

    /**
     * Launch target then source, wait for both reports.
     */
    MigrationReport[] migrate(
        final Consumer<MigrationTarget.Context> targetCustomise,
        final Consumer<MigrationSource.Context> sourceCustomise,
        final long timeoutSeconds) throws Exception
    {
        startTarget(targetCustomise);
        startSource(sourceCustomise);
        final MigrationReport sourceReport = source.completion().get(timeoutSeconds, TimeUnit.SECONDS);
        final MigrationReport targetReport = target.completion().get(timeoutSeconds, TimeUnit.SECONDS);
        return new MigrationReport[]{ sourceReport, targetReport };
    }

    public void close()
    {
        CloseHelper.closeAll(source, target, sourceGuest, targetGuest);
    }
}
