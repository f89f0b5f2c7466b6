package io.pagestream.examples;

import io.aeron.CncFileDescriptor;
import io.aeron.CommonContext;
import io.pagestream.receiving.TargetState;
import io.pagestream.sending.SourceState;
import io.pagestream.status.CounterType;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersReader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.File;
import java.io.PrintStream;
import java.nio.MappedByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code pagestream-stat}: prints the PageStream counters of the migrations in a media driver's directory, from
 * another process, like AeronStat: while they run, and after they closed if the directory was kept
 * ({@code Context.driverDirectoryName}). Counters of a closed migration show as {@code (closed)} with their last
 * values. Run: {@code java -cp pagestream-demo.jar io.pagestream.examples.PageStat --dir DIR [--watch MS]}.
 */
@Command(name = "pagestream-stat", mixinStandardHelpOptions = true, versionProvider = DemoMigration.Version.class,
    description = "Print the PageStream counters in a media driver's directory.",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:printed", "1:no counters file in the directory", "2:usage error"})
public final class PageStat implements Callable<Integer>
{
    @Option(names = "--dir", required = true, description = "The media driver's directory (the embedder's " +
        "driverDirectoryName, or PageStream.aeronDirectory(...)).")
    File dir;

    @Option(names = "--watch", defaultValue = "0", description = "Print again every this many milliseconds until " +
        "interrupted; 0 (default) prints once.")
    long watchMs;

    private final PrintStream out = System.out;

    /**
     * @param args command line.
     */
    public static void main(final String[] args)
    {
        System.exit(new CommandLine(new PageStat()).execute(args));
    }

    /** {@inheritDoc} */
    public Integer call() throws Exception
    {
        final File cnc = new File(dir, CncFileDescriptor.CNC_FILE);
        if (!cnc.isFile())
        {
            System.err.println("pagestream-stat: no counters file " + cnc);
            return 1;
        }
        final MappedByteBuffer buffer = IoUtil.mapExistingFile(cnc, "cnc");
        try
        {
            final UnsafeBuffer metaData = CncFileDescriptor.createMetaDataBuffer(buffer);
            CncFileDescriptor.checkVersion(metaData.getInt(CncFileDescriptor.cncVersionOffset(0)));
            final CountersReader reader = new CountersReader(
                CncFileDescriptor.createCountersMetaDataBuffer(buffer, metaData),
                CncFileDescriptor.createCountersValuesBuffer(buffer, metaData));
            do
            {
                print(reader, CommonContext.isDriverActive(dir, 2_000, message -> { }));
                if (watchMs > 0)
                {
                    Thread.sleep(watchMs);
                }
            }
            while (watchMs > 0);
        }
        finally
        {
            IoUtil.unmap(buffer);
        }
        return 0;
    }

    /**
     * Read the PageStream counters, live or left by closed migrations.
     *
     * @param reader the driver's counters.
     * @return per migration (label suffix), lines of name, value and state, in counter id order.
     */
    static Map<String, List<String[]>> read(final CountersReader reader)
    {
        final Map<String, List<String[]>> byMigration = new TreeMap<>();
        for (int id = 0, max = reader.maxCounterId(); id <= max; id++)
        {
            final int state = reader.getCounterState(id);
            if (state == CountersReader.RECORD_UNUSED)
            {
                continue;
            }
            final CounterType type = typeOf(reader.getCounterTypeId(id));
            if (null == type)
            {
                continue;
            }
            final String label = reader.getCounterLabel(id);
            final int split = label.indexOf(" migrationId=");
            final String migration = split < 0 ? "?" : label.substring(split + " migrationId=".length());
            final long value = reader.getCounterValue(id);
            byMigration.computeIfAbsent(migration, k -> new ArrayList<>()).add(new String[]{
                type.label().replace("pagestream: ", ""), format(type, value),
                state == CountersReader.RECORD_ALLOCATED ? "" : "(closed)"});
        }
        return byMigration;
    }

    private void print(final CountersReader reader, final boolean driverActive)
    {
        final Map<String, List<String[]>> byMigration = read(reader);
        out.println("pagestream-stat " + dir + " (driver " + (driverActive ? "running" : "stopped") + ")");
        if (byMigration.isEmpty())
        {
            out.println("  no PageStream counters");
        }
        byMigration.forEach((migration, lines) ->
        {
            out.println("  migration " + migration);
            for (final String[] line : lines)
            {
                out.printf(Locale.ROOT, "    %-34s %18s %s%n", line[0], line[1], line[2]);
            }
        });
        out.flush();
    }

    private static CounterType typeOf(final int typeId)
    {
        for (final CounterType type : CounterType.values())
        {
            if (type.typeId() == typeId)
            {
                return type;
            }
        }
        return null;
    }

    private static String format(final CounterType type, final long value)
    {
        switch (type)
        {
            case SOURCE_STATE:
                for (final SourceState s : SourceState.values())
                {
                    if (s.code() == value)
                    {
                        return s.name();
                    }
                }
                return String.valueOf(value);
            case TARGET_STATE:
                for (final TargetState s : TargetState.values())
                {
                    if (s.code() == value)
                    {
                        return s.name();
                    }
                }
                return String.valueOf(value);
            default:
                return String.format(Locale.ROOT, "%,d", value);
        }
    }
}
