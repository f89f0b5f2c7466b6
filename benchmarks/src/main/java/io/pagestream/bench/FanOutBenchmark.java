package io.pagestream.bench;

import io.pagestream.PageStream;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.api.MigrationTarget;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.agrona.concurrent.SleepingMillisIdleStrategy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * One guest to three targets: a fan-out (the target and two followers on one multi-destination stream per lane)
 * against three migrations one after another, alternating within each pair, in one JVM with a media driver per side
 * on UDP loopback. The guest is idle (its memory does not change between the migrations), 60% of its pages data.
 * Time runs from launching the source to the last target's report; every target's memory is compared with the
 * source's.
 * <pre>
 * java [flags] -cp benchmarks/target/benchmarks.jar io.pagestream.bench.FanOutBenchmark [pairs] [sizeMiB]
 * </pre>
 */
public final class FanOutBenchmark
{
    private static final int TARGETS = 3;

    private FanOutBenchmark()
    {
    }

    /**
     * @param args {@code [pairs [sizeMiB]]}.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final int pairs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        final long size = (args.length > 1 ? Long.parseLong(args[1]) : 256) << 20;
        final SyntheticGuest.Config config = new SyntheticGuest.Config().sizeBytes(size).workload(Workload.IDLE)
            .fillFraction(0.6).seed(7);
        final double[] fanOut = new double[pairs];
        final double[] sequential = new double[pairs];
        System.out.printf(Locale.ROOT, "one %d MiB guest to %d targets: fan-out vs %d migrations in a row, %d pairs%n",
            size >> 20, TARGETS, TARGETS, pairs);
        PageStream.warmUp();
        try (SyntheticGuest source = SyntheticGuest.create(config))
        {
            for (int i = 0; i < pairs; i++)
            {
                final boolean fanOutFirst = (i & 1) == 0;
                for (int k = 0; k < 2; k++)
                {
                    if (fanOutFirst == (k == 0))
                    {
                        fanOut[i] = fanOut(source, config);
                    }
                    else
                    {
                        sequential[i] = sequential(source, config);
                    }
                }
                System.out.printf(Locale.ROOT, "pair %d: fan-out %.0f ms, in a row %.0f ms, ratio %.2f%n", i + 1,
                    fanOut[i], sequential[i], fanOut[i] / sequential[i]);
            }
        }
        final double[] ratios = new double[pairs];
        for (int i = 0; i < pairs; i++)
        {
            ratios[i] = fanOut[i] / sequential[i];
        }
        System.out.printf(Locale.ROOT, "median: fan-out %.0f ms, in a row %.0f ms, ratio %.2f%n", median(fanOut),
            median(sequential), median(ratios));
    }

    private static double fanOut(final SyntheticGuest source, final SyntheticGuest.Config config) throws Exception
    {
        final List<SyntheticGuest> guests = new ArrayList<>();
        final List<MigrationTarget> targets = new ArrayList<>();
        try
        {
            for (int t = 0; t < TARGETS; t++)
            {
                final SyntheticGuest guest = SyntheticGuest.createTarget(config);
                guests.add(guest);
                targets.add(PageStream.launchTarget(targetContext(guest).follower(t > 0)));
            }
            final String[] followers = new String[TARGETS - 1];
            for (int t = 1; t < TARGETS; t++)
            {
                followers[t - 1] = targets.get(t).listenEndpoint();
            }
            final long startNs = System.nanoTime();
            try (MigrationSource migration = PageStream.launchSource(sourceContext(source,
                targets.get(0).listenEndpoint()).followerEndpoints(followers)))
            {
                check(migration.completion().get(120, TimeUnit.SECONDS));
                for (final MigrationTarget target : targets)
                {
                    check(target.completion().get(120, TimeUnit.SECONDS));
                }
            }
            final double ms = (System.nanoTime() - startNs) / 1e6;
            for (final SyntheticGuest guest : guests)
            {
                verify(source, guest);
            }
            source.vcpus().resume();
            return ms;
        }
        finally
        {
            targets.forEach(MigrationTarget::close);
            guests.forEach(SyntheticGuest::close);
        }
    }

    private static double sequential(final SyntheticGuest source, final SyntheticGuest.Config config)
        throws Exception
    {
        double ms = 0;
        for (int t = 0; t < TARGETS; t++)
        {
            try (SyntheticGuest guest = SyntheticGuest.createTarget(config);
                MigrationTarget target = PageStream.launchTarget(targetContext(guest)))
            {
                final long startNs = System.nanoTime();
                try (MigrationSource migration = PageStream.launchSource(sourceContext(source,
                    target.listenEndpoint())))
                {
                    check(migration.completion().get(120, TimeUnit.SECONDS));
                    check(target.completion().get(120, TimeUnit.SECONDS));
                }
                ms += (System.nanoTime() - startNs) / 1e6;
                verify(source, guest);
                source.vcpus().resume();
            }
        }
        return ms;
    }

    private static MigrationTarget.Context targetContext(final SyntheticGuest guest)
    {
        return new MigrationTarget.Context().guestMemory(guest.memory()).deviceState(guest.deviceState())
            .listenEndpoint("127.0.0.1:0").urgentEndpoint("127.0.0.1:0").allowUnauthenticated(true)
            .idleStrategy(new SleepingMillisIdleStrategy(0));
    }

    private static MigrationSource.Context sourceContext(final SyntheticGuest guest, final String endpoint)
    {
        return new MigrationSource.Context().guestMemory(guest.memory()).dirtyPageLog(guest.dirtyLog())
            .vcpuControl(guest.vcpus()).deviceState(guest.deviceState()).targetEndpoint(endpoint)
            .controlEndpoint("127.0.0.1:0").allowUnauthenticated(true).strategy(MigrationStrategy.PRECOPY);
    }

    private static void check(final MigrationReport report)
    {
        if (report.result() != MigrationResult.COMPLETED)
        {
            throw new IllegalStateException("migration did not complete: " + report);
        }
    }

    private static void verify(final SyntheticGuest source, final SyntheticGuest target)
    {
        final long page = MemoryDigest.firstDifference(source.memory(), target.memory());
        if (page >= 0)
        {
            throw new IllegalStateException("target memory differs from the source's at page " + page);
        }
    }

    private static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
