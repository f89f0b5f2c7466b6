package io.pagestream.examples;

import io.pagestream.PageStream;
import io.pagestream.api.Compression;
import io.pagestream.api.MigrationPhase;
import io.pagestream.api.MigrationStrategy;
import io.pagestream.api.MigrationEstimate;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationSource;
import io.pagestream.api.MigrationTarget;
import io.pagestream.kernel.HugePages;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.ProcessMemory;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.SyntheticVcpus;
import io.pagestream.synthetic.Workload;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The demo: migrates a running synthetic guest from this process to a target process over Aeron UDP on loopback,
 * printing progress while it runs and a final report; verifies the target's memory against the source's frozen
 * memory with a digest computed independently in each process.
 */
@Command(name = "pagestream-demo", mixinStandardHelpOptions = true, sortOptions = false,
    versionProvider = DemoMigration.Version.class,
    description = "Live-migrate a synthetic guest between two processes over Aeron UDP and verify the result.",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
        "0:migration completed (and, with the demo's own target, its memory verified)",
        "1:migration failed, or the target's memory did not match",
        "2:usage error: a bad option, reported before any process or thread starts",
        "3:with --target: completed, but the remote target's memory was not verified"})
public final class DemoMigration implements Callable<Integer>
{
    /** What a JVM running PageStream needs (the README's list): the target process gets the same. */
    private static final List<String> JVM_FLAGS = List.of(
        "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED",
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-opens", "java.base/java.util.zip=ALL-UNNAMED",
        "--add-opens", "java.base/jdk.internal.util=ALL-UNNAMED",
        "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow");

    @Option(names = "--memory", defaultValue = "1g", description = "Guest memory size (default ${DEFAULT-VALUE}).")
    String memory;

    @Option(names = "--page-size", completionCandidates = DemoMigration.PageSizeValues.class, defaultValue = "4k", description = "Page size: 4k, or 2m for hugetlb pages (the " +
        "demo reserves them in vm.nr_hugepages for both processes when run as root, and gives them back after) " +
        "(default ${DEFAULT-VALUE}).")
    String pageSize;

    @Option(names = "--dirty-log", completionCandidates = DemoMigration.DirtyLogValues.class, defaultValue = "auto", description = "Source dirty log: auto (the kernel's, " +
        "userfaultfd write-protection, where it has one), userfaultfd, or software (the vCPU threads mark a bitmap) " +
        "(default ${DEFAULT-VALUE}).")
    String dirtyLog;

    @Option(names = "--fault-path", completionCandidates = DemoMigration.FaultPathValues.class, defaultValue = "auto", description = "Target post-copy fault path: auto (the " +
        "kernel's, userfaultfd, where this process may have one), userfaultfd (guest threads write plain memory and " +
        "block in the kernel on a missing page), or software (they ask PageStream before each write) " +
        "(default ${DEFAULT-VALUE}).")
    String faultPath;

    @Option(names = "--thp", description = "With 4k pages, ask for transparent huge pages (MADV_HUGEPAGE) on both " +
        "guests' memory.")
    boolean thp;

    @Option(names = "--workload", completionCandidates = DemoMigration.WorkloadValues.class, defaultValue = "hotset",
        description = "idle, hotset, uniform or sequential (default ${DEFAULT-VALUE}).")
    String workload;

    @Option(names = "--dirty-rate", defaultValue = "20000",
        description = "Pages the guest writes per second (default ${DEFAULT-VALUE}).")
    double dirtyRate;

    @Option(names = "--fill", defaultValue = "0.6",
        description = "Fraction of pages holding data; the rest are zero (default ${DEFAULT-VALUE}).")
    double fill;

    @Option(names = "--bandwidth", defaultValue = "unlimited",
        description = "Send rate cap, e.g. 1gbit, 200MB, unlimited (default ${DEFAULT-VALUE}).")
    String bandwidth;

    @Option(names = "--compression", completionCandidates = DemoMigration.CompressionValues.class, defaultValue = "auto",
        description = "auto, none, delta or lz4 (default ${DEFAULT-VALUE}).")
    String compression;

    @Option(names = "--mode", completionCandidates = DemoMigration.ModeValues.class, defaultValue = "auto", description = "auto (pre-copy, then post-copy when rounds stop " +
        "converging), precopy (pre-copy only, with no fallback) or postcopy (post-copy after the bulk pass) " +
        "(default ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--no-postcopy", description = "Let auto fall back to auto-converge (throttling the guest) " +
        "instead of post-copy.")
    boolean noPostcopy;

    @Option(names = "--downtime-ms", defaultValue = "300", description = "Downtime target (default ${DEFAULT-VALUE}).")
    long downtimeMs;

    @Option(names = "--max-rounds", defaultValue = "30", description = "Rounds before giving up (default ${DEFAULT-VALUE}).")
    int maxRounds;

    @Option(names = "--max-time-ms", defaultValue = "600000",
        description = "Time before giving up (default ${DEFAULT-VALUE}).")
    long maxTimeMs;

    @Option(names = "--vcpus", defaultValue = "1", description = "Guest vCPU threads (default ${DEFAULT-VALUE}).")
    int vcpus;

    @Option(names = "--device-state", defaultValue = "256k",
        description = "Device state size (default ${DEFAULT-VALUE}).")
    String deviceState;

    @Option(names = "--mtu", defaultValue = "65504", description = "Aeron MTU of the data stream; loopback carries 64 KiB " +
        "datagrams, so the demo uses the largest Aeron allows where the library defaults to 8 KiB " +
        "(default ${DEFAULT-VALUE}).")
    int mtu;

    @Option(names = "--lanes", defaultValue = "1", description = "Data lanes: Aeron streams the pages are " +
        "partitioned between, 2 MiB stripes each, 1 to 16 (default ${DEFAULT-VALUE}).")
    int lanes;

    @Option(names = "--lane-threads", description = "Give every data lane after the first a sending thread of its " +
        "own for the pre-copy rounds (worth it where each lane and the media driver can have a core).")
    boolean laneThreads;

    @Option(names = "--report-json", description = "Write the final report as JSON to this file (source: the " +
        "demo's, with the verification; target role: the library's own). The target the demo starts writes its " +
        "report beside it, as NAME.target.json.")
    Path reportJson;

    @Option(names = "--target", description = "host:port of a target already running (--role target); " +
        "by default the demo starts one on loopback.")
    String targetEndpoint;

    @Option(names = "--control", description = "host:port where this source receives control frames " +
        "(default: a free loopback port).")
    String controlEndpoint;

    @Option(names = "--to-file", description = "Snapshot the running guest into this file instead of migrating " +
        "it: live, by pre-copy rounds and a short pause, after which the guest runs on; then restore it in a " +
        "second process (--from-file) and compare with the memory at the pause.")
    Path toFile;

    @Option(names = "--parent", description = "With --to-file: first snapshot the guest fully into this file, let " +
        "it run on for a second, then write --to-file as an incremental snapshot of only the pages written since.")
    Path parent;

    @Option(names = "--from-file", description = "Restore this snapshot (and the parents it names) into fresh " +
        "memory, every page checked against its checksum, then map it; print the digests.")
    Path fromFile;

    @Option(names = "--clone", description = "Clone instead of move: when the migration completes the guest runs " +
        "on here too, and the target holds it under a new vmId; verified against the memory at the switchover.")
    boolean clone;

    @Option(names = "--targets", defaultValue = "1", description = "Fan-out: migrate to this many target " +
        "processes at once over one multi-destination stream; the first takes the hand-over, the others follow " +
        "(each verified). Not with --target.")
    int targets;

    @Option(names = "--follower-loss", defaultValue = "0", description = "With --targets 2 or more: the last " +
        "follower's media driver drops this fraction of the data frames it receives (seeded by --seed); Aeron " +
        "repairs the loss for it alone.")
    double followerLoss;

    @Option(names = "--follower", description = "Target role: follow a fan-out (see --targets) instead of " +
        "taking the hand-over: no key, no post-copy, nothing sent back.")
    boolean follower;

    @Option(names = "--loss", defaultValue = "0", description = "Target role: this process's media driver drops " +
        "this fraction of the data frames it receives (Aeron's debug endpoints, seeded by --seed).")
    double loss;

    @Option(names = "--role", completionCandidates = DemoMigration.RoleValues.class, defaultValue = "source", description = "source (default) or target.")
    String role;

    @Option(names = "--listen", defaultValue = "127.0.0.1:40400", description = "Target role: host:port to listen on " +
        "(port 0: any free port, printed on the READY line).")
    String listen;

    @Option(names = "--peer-timeout-ms", defaultValue = "5000",
        description = "Milliseconds without a frame before the peer counts as lost (default ${DEFAULT-VALUE}).")
    long peerTimeoutMs;

    @Option(names = "--recovery-timeout-ms", defaultValue = "120000", description = "Post-copy: milliseconds to " +
        "keep reconnecting after losing the peer before the guest counts as lost (default ${DEFAULT-VALUE}).")
    long recoveryTimeoutMs;

    @Option(names = "--key-file", description = "File holding the pre-shared secret key (at least 16 bytes): " +
        "source and target must prove they hold the same key before a page moves. The demo's own target gets the " +
        "same file.")
    Path keyFile;

    @Option(names = "--security", completionCandidates = DemoMigration.SecurityValues.class, defaultValue = "none", description = "Per-frame protection after the " +
        "handshake: none (the key is still proven in the handshake), auth (a MAC on every frame) or encrypt " +
        "(every frame AES-GCM sealed); auth and encrypt need the key, so not --no-auth (default ${DEFAULT-VALUE}).")
    String security;

    @Option(names = "--no-auth", description = "Run without a secret key: only on a trusted network. Without " +
        "--key-file, the demo makes a fresh key for itself and the target it starts.")
    boolean noAuth;

    @Option(names = "--urgent", description = "Target role: host:port for the post-copy urgent lane " +
        "(default: listen port + 2; any free port if the listen port is 0).")
    String urgent;

    @Option(names = "--driver-dir", description = "Directory for this process's media driver, kept after the " +
        "migration with its counters' last values: read them from another process with pagestream-stat " +
        "(java -cp pagestream-demo.jar io.pagestream.examples.PageStat --dir DIR). The target the demo starts " +
        "uses DIR-target.")
    String driverDir;

    @Option(names = "--estimate-only", description = "Predict the migration (total time, downtime, mode, whether " +
        "pre-copy converges) from the guest's populated pages, a one-second sample of its dirty rate and the link's " +
        "rate (--bandwidth, or --link-rate), print it as JSON (and to --report-json), and start nothing else.")
    boolean estimateOnly;

    @Option(names = "--estimate", description = "Print the estimate first, then migrate, and compare at the end.")
    boolean estimateFirst;

    @Option(names = "--link-rate", defaultValue = "400MB", description = "The link's rate for an estimate when " +
        "--bandwidth is unlimited (default ${DEFAULT-VALUE}, about what loopback carries between two processes " +
        "here).")
    String linkRate;

    @Option(names = "--control-stdin", description = "Read management commands from standard input while the " +
        "migration runs, one a line: " + ManagementCommands.USAGE + ".")
    boolean controlStdin;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for guest contents and writes.")
    long seed;

    private final PrintStream out = System.out;
    /** With --clone: the source's vCPU control, digesting the memory at the switchover before the guest resumes. */
    private DemoSnapshots.DigestingVcpus cloneVcpus;
    /** With --targets: the follower processes, their output and where they listen. */
    private final List<Process> followerProcesses = new ArrayList<>();
    private final List<LinkedBlockingQueue<String>> followerLines = new ArrayList<>();
    private final List<String> followerEndpoints = new ArrayList<>();

    /**
     * @param args command line.
     */
    public static void main(final String[] args)
    {
        System.exit(commandLine().execute(args));
    }

    /**
     * @return the demo's command line, with bad options reported as one line naming the option (exit 2).
     */
    static CommandLine commandLine()
    {
        final CommandLine commandLine = new CommandLine(new DemoMigration()).setCaseInsensitiveEnumValuesAllowed(true);
        commandLine.setParameterExceptionHandler((ex, args) ->
        {
            // This command line's writer: the exception may name another instance, built to carry it.
            commandLine.getErr().println(commandLine.getCommandName() + ": " + ex.getMessage() + " (--help for usage)");
            commandLine.getErr().flush();
            return 2;
        });
        return commandLine;
    }

    /** {@inheritDoc} */
    public Integer call() throws Exception
    {
        validateOptions(); // every bad option is a usage error before any process or thread starts
        if (null != fromFile)
        {
            return new DemoSnapshots(out).restore(fromFile);
        }
        if (null != toFile)
        {
            out.printf(Locale.ROOT, "PageStream demo: snapshot of a running %s guest, workload %s at %.0f pages/s, " +
                "fill %.2f, downtime target %d ms, into %s%s%n", memory, workload, dirtyRate, fill, downtimeMs, toFile,
                null == parent ? "" : " on top of a full snapshot into " + parent);
            return new DemoSnapshots(out).snapshot(guestConfig(), toFile, parent, downtimeMs, maxRounds, maxTimeMs,
                (args, lines) -> startChild(args, lines, "[restore] "));
        }
        if (null == keyFile && !noAuth)
        {
            if (("target".equalsIgnoreCase(role) && !follower) || null != targetEndpoint)
            {
                throw new CommandLine.ParameterException(new CommandLine(this), "the two sides need a shared " +
                    "secret: --key-file FILE (at least 16 bytes) on both, or --no-auth on a trusted network");
            }
            // A fresh key for this run, handed to the target process we start, as a management plane would.
            keyFile = Files.createTempFile("pagestream-demo", ".key");
            keyFile.toFile().deleteOnExit();
            final byte[] key = new byte[32];
            new java.security.SecureRandom().nextBytes(key);
            Files.write(keyFile, key);
        }
        return "target".equalsIgnoreCase(role) ? runTarget() : runSource(); // --role checked above
    }

    /**
     * Check every option the demo will use, so a bad one is one line and exit 2 before anything starts.
     */
    void validateOptions()
    {
        final long pageBytes = size("--page-size", pageSize);
        if (pageBytes != 4096 && pageBytes != 2L << 20)
        {
            throw usage("--page-size", pageSize, "4k or 2m");
        }
        final long memoryBytes = size("--memory", memory);
        if (memoryBytes % pageBytes != 0 || memoryBytes / pageBytes > Integer.MAX_VALUE * 64L)
        {
            throw usage("--memory", memory, "a whole number of " + pageSize + " pages, at most 2^37 of them");
        }
        choice("--dirty-log", dirtyLog, new DirtyLogValues());
        choice("--fault-path", faultPath, new FaultPathValues());
        choice("--workload", workload, new WorkloadValues());
        choice("--compression", compression, new CompressionValues());
        choice("--mode", mode, new ModeValues());
        choice("--role", role, new RoleValues());
        choice("--security", security, new SecurityValues());
        range("--dirty-rate", dirtyRate, 0, 1e9);
        range("--fill", fill, 0, 1);
        range("--downtime-ms", downtimeMs, 1, 3_600_000);
        range("--max-rounds", maxRounds, 1, 100_000);
        range("--max-time-ms", maxTimeMs, 1, Long.MAX_VALUE);
        range("--vcpus", vcpus, 1, 256);
        range("--lanes", lanes, 1, io.pagestream.api.MigrationSource.Context.MAX_DATA_LANES);
        if (laneThreads && lanes < 2)
        {
            throw usage("--lane-threads", "with --lanes " + lanes, "--lanes 2 or more (lane 0 stays on the agent's " +
                "thread)");
        }
        range("--peer-timeout-ms", peerTimeoutMs, 1, 3_600_000);
        range("--recovery-timeout-ms", recoveryTimeoutMs, 1, 86_400_000);
        if (mtu < 4096 || mtu > 65504 || (mtu & 31) != 0)
        {
            throw usage("--mtu", String.valueOf(mtu), "a multiple of 32 from 4096 to 65504");
        }
        final long deviceBytes = size("--device-state", deviceState);
        if (deviceBytes > 1L << 30)
        {
            throw usage("--device-state", deviceState, "at most 1g");
        }
        try
        {
            final long rate = Units.parseRate(bandwidth);
            if (rate != 0 && rate < 64 * 1024)
            {
                throw usage("--bandwidth", bandwidth, "unlimited, or at least 64 KiB/s (e.g. 1gbit, 200MB)");
            }
        }
        catch (final IllegalArgumentException ex)
        {
            throw usage("--bandwidth", bandwidth, "a rate such as 1gbit, 200MB or unlimited");
        }
        try
        {
            if (Units.parseRate(linkRate) <= 0)
            {
                throw usage("--link-rate", linkRate, "a positive rate such as 1gbit or 400MB");
            }
        }
        catch (final IllegalArgumentException ex)
        {
            throw usage("--link-rate", linkRate, "a positive rate such as 1gbit or 400MB");
        }
        range("--targets", targets, 1, 1 + io.pagestream.api.MigrationSource.Context.MAX_FOLLOWERS);
        range("--follower-loss", followerLoss, 0, 0.5);
        range("--loss", loss, 0, 0.5);
        if (targets > 1 && null != targetEndpoint)
        {
            throw usage("--targets", String.valueOf(targets), "1 with --target (the demo starts the targets itself)");
        }
        if (followerLoss > 0 && targets < 2)
        {
            throw usage("--follower-loss", String.valueOf(followerLoss), "--targets 2 or more");
        }
        if (null != parent && null == toFile)
        {
            throw usage("--parent", parent.toString(), "--to-file too: the incremental snapshot to write on top");
        }
        if (null != parent && parent.toAbsolutePath().normalize().equals(toFile.toAbsolutePath().normalize()))
        {
            throw usage("--parent", parent.toString(), "another file than --to-file");
        }
        if ((null != toFile || null != fromFile) && (null != targetEndpoint || estimateOnly || estimateFirst ||
            clone || "target".equalsIgnoreCase(role)))
        {
            throw new CommandLine.ParameterException(new CommandLine(this), "--to-file and --from-file run no " +
                "migration: not with --target, --role target, --clone or the estimates");
        }
        if (null != toFile && null != fromFile)
        {
            throw new CommandLine.ParameterException(new CommandLine(this), "--to-file or --from-file, not both " +
                "(--to-file restores its file in a second process by itself)");
        }
        if (clone && "target".equalsIgnoreCase(role))
        {
            throw usage("--clone", "true", "the source role (the source decides to clone)");
        }
        if (estimateOnly && null != targetEndpoint)
        {
            throw new CommandLine.ParameterException(new CommandLine(this),
                "--estimate-only starts no migration: not with --target");
        }
        endpoint("--target", targetEndpoint);
        endpoint("--control", controlEndpoint);
        endpoint("--listen", listen);
        endpoint("--urgent", urgent);
        if ("postcopy".equalsIgnoreCase(mode.trim()) && noPostcopy)
        {
            throw new CommandLine.ParameterException(new CommandLine(this),
                "--mode postcopy and --no-postcopy contradict each other");
        }
        if (null != keyFile)
        {
            try
            {
                if (Files.size(keyFile) < 16)
                {
                    throw usage("--key-file", keyFile.toString(), "a file of at least 16 bytes");
                }
            }
            catch (final IOException ex)
            {
                throw usage("--key-file", keyFile.toString(), "a readable file (" + ex.getMessage() + ")");
            }
            if (noAuth)
            {
                throw new CommandLine.ParameterException(new CommandLine(this),
                    "--key-file and --no-auth contradict each other");
            }
        }
        if (frameMacs() && noAuth)
        {
            throw new CommandLine.ParameterException(new CommandLine(this),
                "--security " + security + " needs the key: not with --no-auth");
        }
    }

    private CommandLine.ParameterException usage(final String option, final String value, final String expected)
    {
        return new CommandLine.ParameterException(new CommandLine(this),
            option + ": '" + value + "' is not valid; expected " + expected);
    }

    private long size(final String option, final String value)
    {
        try
        {
            return Units.parseSize(value);
        }
        catch (final IllegalArgumentException ex)
        {
            throw usage(option, value, "a positive size such as 4k, 256m, 1g");
        }
    }

    private void choice(final String option, final String value, final Choices accepted)
    {
        for (final String a : accepted)
        {
            if (a.equalsIgnoreCase(value.trim()))
            {
                return;
            }
        }
        throw usage(option, value, "one of " + String.join(", ", accepted));
    }

    private void range(final String option, final double value, final double low, final double high)
    {
        if (!(value >= low && value <= high))
        {
            throw usage(option, String.valueOf(value).replaceAll("\\.0$", ""), "from " +
                String.valueOf(low).replaceAll("\\.0$", "") + " to " + String.valueOf(high).replaceAll("\\.0$", ""));
        }
    }

    private void endpoint(final String option, final String value)
    {
        if (null == value)
        {
            return;
        }
        final int colon = value.lastIndexOf(':');
        boolean ok = colon > 0 && colon < value.length() - 1;
        if (ok)
        {
            try
            {
                final int port = Integer.parseInt(value.substring(colon + 1));
                ok = port >= 0 && port <= 65535;
            }
            catch (final NumberFormatException ex)
            {
                ok = false;
            }
        }
        if (!ok)
        {
            throw usage(option, value, "host:port");
        }
    }

    /** The demo's version and what it runs on, for {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider
    {
        /** {@inheritDoc} */
        public String[] getVersion()
        {
            final String version = DemoMigration.class.getPackage().getImplementationVersion();
            return new String[]{
                "pagestream-demo " + (null != version ? version : "(built from source, no jar manifest)"),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + "), " +
                    System.getProperty("os.name") + " " + System.getProperty("os.version") + " " +
                    System.getProperty("os.arch"),
                "kernel paths: " + io.pagestream.kernel.MemoryKernel.create().stats().describe() +
                    (io.pagestream.kernel.UserFaultFd.isAvailable() ? "; userfaultfd available" :
                        "; no userfaultfd for this process")};
        }
    }

    private SyntheticGuest.Config guestConfig()
    {
        return new SyntheticGuest.Config()
            .sizeBytes(Units.parseSize(memory))
            .pageSize((int)Units.parseSize(pageSize))
            .transparentHugePages(thp)
            .dirtyLog(parseDirtyLog())
            .workload(Workload.parse(workload))
            .dirtyRatePagesPerSec(dirtyRate)
            .fillFraction(fill)
            .vcpus(vcpus)
            .deviceStateBytes((int)Units.parseSize(deviceState))
            .seed(seed);
    }

    private int runTarget() throws Exception
    {
        PageStream.warmUp(); // before READY: as a VMM started for an incoming migration would
        final boolean kernelFaults = !follower && kernelFaultPath();
        try (LossyMediaDriver lossy = loss > 0 ? new LossyMediaDriver(loss, seed) : null;
            SyntheticGuest guest = SyntheticGuest.createTarget(guestConfig());
            MigrationTarget target = PageStream.launchTarget(new MigrationTarget.Context()
                .reportFile(reportJson) // the library's own JSON report (MigrationReport.toJson), written at the end
                .driverDirectoryName(null == lossy ? driverDir : null)
                .aeronDirectoryName(null == lossy ? null : lossy.directory)
                .kernelFaultPath(kernelFaults)
                .guestMemory(guest.memory())
                .deviceState(guest.deviceState())
                .listenEndpoint(listen)
                .urgentEndpoint(urgent)
                .secretKey(follower ? null : readKey())
                .allowUnauthenticated(noAuth || follower)
                .frameAuthentication(frameMacs())
                .frameEncryption(frameSeals())
                .peerTimeoutMs(peerTimeoutMs)
                .recoveryTimeoutMs(recoveryTimeoutMs)
                .postcopyEnabled(!follower)
                .follower(follower)
                .handshakeTimeoutMs(120_000)))
        {
            // The guest resumes here when PageStream says it may: at once in post-copy, with its vCPUs faulting
            // missing pages in (blocked in the kernel, or asking PageStream first with the software path); they
            // journal their writes so the result can be checked exactly.
            final SyntheticVcpus vcpus = guest.vcpus();
            vcpus.journal();
            if (!kernelFaults)
            {
                vcpus.faultPath(pageIndex ->
                {
                    while (!target.awaitPage(pageIndex, TimeUnit.SECONDS.toNanos(1)))
                    {
                        Thread.onSpinWait();
                    }
                });
            }
            target.readyToRun().thenAccept(phase ->
            {
                if (phase == MigrationPhase.POSTCOPY || phase == MigrationPhase.COMPLETE)
                {
                    out.println("RUNNING " + phase);
                    out.flush();
                    vcpus.start();
                }
            });
            out.println("READY " + target.listenEndpoint()); // the port the kernel chose if --listen asked for 0
            out.flush();
            final MigrationReport report = target.completion().get();
            out.println("RESULT " + report.result() + " " + (null == report.errorCode() ? "-" : report.errorCode()) +
                " " + report.reason().replace('\n', ' '));
            out.flush();
            if (report.result() != MigrationResult.COMPLETED)
            {
                vcpus.close(); // joins the vCPU threads; one waiting on a page that will never come has stopped
            }
            if (null != vcpus.guestLost())
            {
                // The fault path refused to hand the guest a page that never arrived: its vCPUs stopped.
                out.println("VCPUS STOPPED " + vcpus.guestLost().getMessage());
                out.flush();
            }
            else if (report.result() != MigrationResult.COMPLETED && kernelFaults && vcpus.liveThreads() > 0)
            {
                // The kernel holds them at the missing pages: the guest is lost and never runs on pages that are not
                // there; the process ending takes them with it.
                out.println("VCPUS BLOCKED " + vcpus.liveThreads() + " vCPU thread(s) held by the kernel at pages " +
                    "that never arrived (" + report.errorCode() + ")");
                out.flush();
            }
            if (report.result() == MigrationResult.COMPLETED)
            {
                // Prove the memory exact: stop the guest, take back exactly the writes it made here (checking each
                // one survived), and digest what is left, which must be the source's final memory.
                vcpus.pause();
                final long writes = vcpus.journalledWrites();
                final long mismatches = vcpus.verifyAndUndo();
                final long digest = MemoryDigest.digest(guest.memory());
                out.println("DIGEST " + Long.toHexString(digest) + " " +
                    Long.toHexString(guest.deviceState().checksum()) + " " + mismatches + " " + writes);
                out.flush();
            }
            vcpus.close();
            out.println("FAULTPATH " + (report.faultPath().isEmpty() ? "none" : report.faultPath()));
            out.println("MEMORY " + ProcessMemory.peakResidentBytes() + " " + report.pagesCommittedAhead() + " " +
                report.memoryPaths());
            out.flush();
            return report.result() == MigrationResult.COMPLETED ? 0 : 1;
        }
    }

    private MigrationSource.Context sourceContext(final SyntheticGuest guest, final String endpoint,
        final String control, final long bandwidthBytesPerSec) throws IOException
    {
        return new MigrationSource.Context()
            .driverDirectoryName(driverDir)
            .guestMemory(guest.memory())
            .dirtyPageLog(guest.dirtyLog())
            .vcpuControl(null != cloneVcpus ? cloneVcpus : guest.vcpus())
            .cloneVmId(clone ? java.util.UUID.randomUUID() : null)
            .followerEndpoints(followerEndpoints.toArray(new String[0]))
            .deviceState(guest.deviceState())
            .targetEndpoint(endpoint)
            .controlEndpoint(control)
            .mtuLength(mtu)
            .dataLanes(lanes)
            .laneThreads(laneThreads)
            .downtimeTargetMs(downtimeMs)
            .maxRounds(maxRounds)
            .maxTimeMs(maxTimeMs)
            .maxBandwidthBytesPerSec(bandwidthBytesPerSec)
            .secretKey(readKey())
            .allowUnauthenticated(noAuth)
            .frameAuthentication(frameMacs())
            .frameEncryption(frameSeals())
            .peerTimeoutMs(peerTimeoutMs)
            .recoveryTimeoutMs(recoveryTimeoutMs)
            .strategy(MigrationStrategy.parse(mode))
            .postcopyAllowed(!noPostcopy)
            .compression(parseCompression(compression))
            .listener(new io.pagestream.api.MigrationListener()
            {
                public void onSettingsChanged(final io.pagestream.api.MigrationSettings settings,
                    final String change)
                {
                    out.println("control: applied " + change + "; now " + settings);
                }
            });
    }

    private int runSource() throws Exception
    {
        final SyntheticGuest.Config config = guestConfig();
        final long bandwidthBytesPerSec = Units.parseRate(bandwidth);
        final String control = null != controlEndpoint ? controlEndpoint : "127.0.0.1:0"; // any free port
        Process targetProcess = null;
        final LinkedBlockingQueue<String> targetLines = new LinkedBlockingQueue<>();
        String endpoint = targetEndpoint;

        out.printf(Locale.ROOT, "PageStream demo: %s guest, %s pages, workload %s at %.0f pages/s, fill %.2f, " +
            "compression %s, bandwidth %s, downtime target %d ms%n", memory, pageSize, config.workload().label(),
            dirtyRate, fill, compression,
            bandwidthBytesPerSec == 0 ? "unlimited" : String.format(Locale.ROOT, "%.1f MB/s", bandwidthBytesPerSec / 1e6),
            downtimeMs);

        final long hugePagesAdded = reserveHugePages(config);
        if (null == endpoint && !estimateOnly)
        {
            targetProcess = startTarget("127.0.0.1:0", targetLines); // it prints the ports the kernel chose
            for (int i = 1; i < targets; i++)
            {
                final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
                followerLines.add(lines);
                followerProcesses.add(startTarget("127.0.0.1:0", lines, i, i == targets - 1 ? followerLoss : 0));
            }
        }
        // Warm the engine up while the target process starts (it warms up its own meanwhile), as a VMM would when
        // it starts, long before a migration: the launch then finds it done. Before the guest exists, so the peak
        // resident memory is the larger of the two, not their sum.
        final long engineWarmupMs = PageStream.warmUp() / 1_000_000;
        try (SyntheticGuest guest = SyntheticGuest.create(config))
        {
            final long populatedBefore = ProcessMemory.populatedPages(guest.memory());
            if (null != targetProcess)
            {
                endpoint = awaitLine(targetProcess, targetLines, "READY", 60).substring("READY ".length());
                out.println("target process " + targetProcess.pid() + " listening on " + endpoint);
                for (int i = 0; i < followerProcesses.size(); i++)
                {
                    final Process process = followerProcesses.get(i);
                    followerEndpoints.add(awaitLine(process, followerLines.get(i), "READY", 60)
                        .substring("READY ".length()));
                    out.println("follower " + (i + 1) + " process " + process.pid() + " listening on " +
                        followerEndpoints.get(i) + (i == followerProcesses.size() - 1 && followerLoss > 0 ?
                        String.format(Locale.ROOT, " (its driver drops %.0f%% of data frames)", followerLoss * 100) :
                        ""));
                }
            }

            if (clone)
            {
                cloneVcpus = new DemoSnapshots.DigestingVcpus(guest);
            }
            guest.vcpus().start();
            Thread.sleep(200); // let the guest reach its dirty rate before the migration starts

            final MigrationReport report;
            long warmupMs = 0;
            final long launchStartNs = System.nanoTime();
            long launchMs = 0;
            MigrationEstimate estimate = null;
            if (estimateOnly || estimateFirst)
            {
                estimate = PageStream.estimate(sourceContext(guest, endpoint, control, bandwidthBytesPerSec),
                    0 != bandwidthBytesPerSec ? 0 : Units.parseRate(linkRate), 1_000, !noPostcopy);
                out.println("estimate: " + estimate);
                if (estimateOnly)
                {
                    out.print(estimate.toJson());
                    if (null != reportJson)
                    {
                        Files.writeString(reportJson, estimate.toJson(), StandardCharsets.UTF_8);
                    }
                    return 0;
                }
            }
            try (MigrationSource source = PageStream.launchSource(
                sourceContext(guest, endpoint, control, bandwidthBytesPerSec)))
            {
                launchMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - launchStartNs);
                if (controlStdin)
                {
                    ManagementCommands.readFrom(System.in, source.control(), source.completion()::isDone, out);
                }
                String decisionShown = "";
                while (!source.completion().isDone())
                {
                    try
                    {
                        source.completion().get(500, TimeUnit.MILLISECONDS);
                    }
                    catch (final java.util.concurrent.TimeoutException ignore)
                    {
                        final io.pagestream.api.MigrationProgress progress = source.progress();
                        out.println("  " + progress);
                        if (!progress.lastDecision().equals(decisionShown))
                        {
                            decisionShown = progress.lastDecision();
                            out.println("    policy: " + decisionShown);
                        }
                    }
                }
                report = source.completion().get();
                warmupMs = PageStream.launchWarmupNs(source) / 1_000_000;
            }

            boolean verified = false;
            String verification = "not attempted: migration did not complete";
            String targetLost = null;
            if (report.result() == MigrationResult.COMPLETED)
            {
                if (null == targetProcess)
                {
                    // Not verified, and said so: the exit code is 3, not 0. The target role prints its DIGEST line
                    // (digest, device state digest, overwritten guest writes, writes) for a comparison by hand.
                    verification = "NOT VERIFIED (external target): its DIGEST line must start with " +
                        Long.toHexString(MemoryDigest.digest(guest.memory())) + " " +
                        Long.toHexString(guest.deviceState().checksum()) + " 0";
                }
                else
                {
                    // The guest stays paused on the source after switchover: its memory is frozen. A clone runs on,
                    // so its memory was digested at the switchover, before it resumed.
                    final long digest = null != cloneVcpus ? cloneVcpus.digest : MemoryDigest.digest(guest.memory());
                    final String deviceDigest = Long.toHexString(guest.deviceState().checksum());
                    String digestLine;
                    try
                    {
                        digestLine = awaitLine(targetProcess, targetLines, "DIGEST", 300);
                    }
                    catch (final IllegalStateException ex)
                    {
                        digestLine = null;
                        targetLost = ex.getMessage(); // killed, say: in a fan-out a follower took its place
                    }
                    final String line = null == digestLine ? "LOST" : digestLine;
                    final String[] parts = line.split(" ");
                    verified = parts.length == 5 && parts[1].equals(Long.toHexString(digest)) &&
                        parts[2].equals(deviceDigest) && parts[3].equals("0");
                    if (null != cloneVcpus)
                    {
                        final long written = guest.vcpus().pagesWritten();
                        Thread.sleep(100);
                        final boolean runs = !guest.vcpus().isPaused() && guest.vcpus().pagesWritten() > written;
                        verified &= runs;
                        out.println("clone             the source guest " + (runs ? "runs on" : "DOES NOT RUN") +
                            "; its memory at the switchover digested in " + cloneVcpus.digestMs + " ms before it " +
                            "resumed");
                    }
                    verification = null != targetLost ? "target LOST before its report: " + targetLost :
                        verified ? "target memory equals the source's " +
                        (null != cloneVcpus ? "memory at the switchover" : "final memory") + " plus exactly the " +
                        parts[4] + " words the guest wrote on the target; device state equal" :
                        "MISMATCH: source digest " + Long.toHexString(digest) + " / " + deviceDigest +
                        ", target says " + line + " (digest, device state, overwritten guest writes, writes)";
                }
            }
            else if (null != targetProcess)
            {
                awaitLine(targetProcess, targetLines, "RESULT", 30);
            }
            int followersVerified = 0;
            final String sourceDigest = followerProcesses.isEmpty() ? "" : Long.toHexString(null != cloneVcpus ?
                cloneVcpus.digest : MemoryDigest.digest(guest.memory()));
            for (int i = 0; i < followerProcesses.size(); i++)
            {
                final String name = "follower " + (i + 1);
                String line;
                try
                {
                    line = report.result() == MigrationResult.COMPLETED ?
                        awaitLine(followerProcesses.get(i), followerLines.get(i), "DIGEST", 300) : null;
                }
                catch (final IllegalStateException ex)
                {
                    line = null;
                    out.println(name + "        LOST: " + ex.getMessage());
                }
                if (null != line)
                {
                    final String[] parts = line.split(" ");
                    final boolean ok = parts.length == 5 && parts[1].equals(sourceDigest) &&
                        parts[2].equals(Long.toHexString(guest.deviceState().checksum())) && parts[3].equals("0");
                    followersVerified += ok ? 1 : 0;
                    out.println(name + "        " + (ok ? "verified: its memory equals the source's final memory " +
                        "plus exactly the " + parts[4] + " words its guest wrote; device state equal" :
                        "MISMATCH: it says " + line));
                }
            }
            if (!followerProcesses.isEmpty())
            {
                out.printf(Locale.ROOT, "followers         %d of %d verified%n", followersVerified,
                    followerProcesses.size());
                verified &= followersVerified == followerProcesses.size();
                if (followersVerified < followerProcesses.size())
                {
                    verification += "; NOT every follower verified";
                }
            }

            final String targetFaultPath = null == targetProcess || null != targetLost ? "" :
                awaitLine(targetProcess, targetLines, "FAULTPATH", 300).substring("FAULTPATH ".length());
            final TargetMemory targetMemory = null == targetProcess || null != targetLost ? null :
                TargetMemory.parse(awaitLine(targetProcess, targetLines, "MEMORY", 300));
            final long sourcePeak = ProcessMemory.peakResidentBytes();
            final long populatedAfter = ProcessMemory.populatedPages(guest.memory());
            printReport(report, verified, verification, guest.vcpus().isPaused(), launchMs, warmupMs);
            if (null != estimate)
            {
                out.printf(Locale.ROOT, "estimate          %s predicted, %s actual; total %,d ms predicted, %,d " +
                    "actual (%+.0f%%); downtime %d ms predicted, %d actual%n", estimate.predictedMode(), report.mode(),
                    estimate.predictedTotalTimeMs(), report.totalTimeMs(),
                    100.0 * (estimate.predictedTotalTimeMs() - report.totalTimeMs()) / Math.max(1, report.totalTimeMs()),
                    estimate.predictedDowntimeMs(), report.downtimeMs());
            }
            out.printf(Locale.ROOT, "source guest      %,d pages populated when the migration started, %,d at its " +
                "end (the guest's own writes since included)%n", populatedBefore, populatedAfter);
            out.printf(Locale.ROOT, "engine warm-up    %,d ms at start, while the target process started (%s)%n",
                engineWarmupMs, PageStream.warmupOutcome());
            out.printf(Locale.ROOT, "peak resident     source %s, target %s%n", ProcessMemory.format(sourcePeak),
                null == targetMemory ? "not known (external target)" : ProcessMemory.format(targetMemory.peakRss));
            out.printf(Locale.ROOT, "memory paths      source %s%n", report.memoryPaths().isEmpty() ? "none used" :
                report.memoryPaths());
            if (null != targetMemory)
            {
                out.printf(Locale.ROOT, "                  target %s (%,d pages committed ahead in batches)%n",
                    targetMemory.paths, targetMemory.committedAhead);
            }
            if (null != reportJson)
            {
                Files.writeString(reportJson, json(report, verified, sourcePeak,
                    null == targetMemory ? -1 : targetMemory.peakRss, targetFaultPath), StandardCharsets.UTF_8);
                out.println("report written to " + reportJson + (null == targetProcess ? "" :
                    ", the target's to " + targetReportJson()));
            }
            if (report.result() != MigrationResult.COMPLETED)
            {
                return 1;
            }
            return null == targetProcess ? 3 : verified ? 0 : 1;
        }
        finally
        {
            if (null != targetProcess)
            {
                if (!targetProcess.waitFor(30, TimeUnit.SECONDS))
                {
                    targetProcess.destroyForcibly();
                }
            }
            for (final Process process : followerProcesses)
            {
                if (!process.waitFor(30, TimeUnit.SECONDS))
                {
                    process.destroyForcibly();
                }
            }
            HugePages.release(hugePagesAdded);
        }
    }

    /**
     * 2 MiB pages: make sure the hugetlb pool holds enough free pages for both guests (root may grow it).
     *
     * @return huge pages added to the pool, to give back at the end.
     */
    private long reserveHugePages(final SyntheticGuest.Config config)
    {
        if (config.pageSize() != MappedGuestMemory.HUGE_PAGE_BYTES)
        {
            return 0;
        }
        final long perGuest = config.sizeBytes() / MappedGuestMemory.HUGE_PAGE_BYTES;
        final long needed = null == targetEndpoint ? 2 * perGuest : perGuest;
        final long totalBefore = Math.max(0, HugePages.total());
        if (!HugePages.ensureFree(needed))
        {
            throw new CommandLine.ParameterException(new CommandLine(this), "--page-size 2m needs " + needed +
                " free 2 MiB huge pages (" + perGuest + " per guest), " + HugePages.free() + " are free: as root, " +
                "sysctl vm.nr_hugepages=" + (Math.max(0, HugePages.total()) + needed - Math.max(0, HugePages.free())));
        }
        return Math.max(0, HugePages.total() - totalBefore);
    }

    private io.pagestream.synthetic.DirtyLogKind parseDirtyLog()
    {
        try
        {
            return io.pagestream.synthetic.DirtyLogKind.parse(dirtyLog);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CommandLine.ParameterException(new CommandLine(this), "--" + ex.getMessage());
        }
    }

    private boolean kernelFaultPath()
    {
        switch (faultPath.trim().toLowerCase(Locale.ROOT))
        {
            case "auto":
                return io.pagestream.kernel.UserFaultFd.isAvailable() &&
                    Units.parseSize(pageSize) == 4096; // private anonymous 4 KiB memory: MISSING faults
            case "userfaultfd":
                return true;
            case "software":
                return false;
            default:
                throw new CommandLine.ParameterException(new CommandLine(this), "--fault-path must be auto, " +
                    "userfaultfd or software: " + faultPath);
        }
    }

    private boolean frameMacs()
    {
        switch (security.trim().toLowerCase(Locale.ROOT))
        {
            case "none":
            case "handshake":
                return false;
            case "auth":
            case "encrypt":
                return true;
            default:
                throw new CommandLine.ParameterException(new CommandLine(this), "--security must be none, " +
                    "auth or encrypt: " + security);
        }
    }

    private boolean frameSeals()
    {
        return frameMacs() && "encrypt".equalsIgnoreCase(security.trim());
    }

    private byte[] readKey() throws IOException
    {
        return null == keyFile ? null : Files.readAllBytes(keyFile);
    }

    private static Compression parseCompression(final String text)
    {
        for (final Compression c : Compression.values())
        {
            if (c.name().equalsIgnoreCase(text.trim()))
            {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown compression '" + text + "', expected auto, none, delta or lz4");
    }

    private Path targetReportJson()
    {
        return Path.of(reportJson.toString().replaceFirst("(\\.json)?$", ".target.json"));
    }

    private Process startTarget(final String endpoint, final LinkedBlockingQueue<String> lines) throws IOException
    {
        return startTarget(endpoint, lines, 0, 0);
    }

    /**
     * @param endpoint    where it listens.
     * @param lines       its output.
     * @param followerNo  0 for the target, else the follower's number (from 1).
     * @param lossRate    the fraction of data frames its driver drops, 0 for none.
     */
    private Process startTarget(final String endpoint, final LinkedBlockingQueue<String> lines, final int followerNo,
        final double lossRate) throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add("--role=target");
        if (followerNo > 0)
        {
            command.add("--follower");
        }
        if (lossRate > 0)
        {
            command.add("--loss=" + lossRate);
        }
        command.add("--listen=" + endpoint);
        command.add("--memory=" + memory);
        command.add("--page-size=" + pageSize);
        command.add("--fault-path=" + faultPath);
        if (thp)
        {
            command.add("--thp");
        }
        command.add("--seed=" + seed);
        if (null != reportJson)
        {
            command.add("--report-json=" + targetReportJson());
        }
        if (null != driverDir)
        {
            command.add("--driver-dir=" + driverDir + "-target");
        }
        command.add("--workload=" + workload);
        command.add("--dirty-rate=" + dirtyRate);
        command.add("--vcpus=" + vcpus);
        if (null != keyFile && followerNo == 0)
        {
            command.add("--key-file=" + keyFile.toAbsolutePath());
        }
        if (noAuth)
        {
            command.add("--no-auth");
        }
        command.add("--security=" + security);
        return startChild(command, lines, followerNo == 0 ? "[target] " : "[follower " + followerNo + "] ");
    }

    /**
     * Start this demo in a child process with the same JVM and flags.
     *
     * @param args   the demo's arguments.
     * @param lines  where its output lines go, each also printed with the prefix.
     * @param prefix for its printed lines.
     * @return the process.
     */
    private Process startChild(final List<String> args, final LinkedBlockingQueue<String> lines, final String prefix)
    {
        final List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(JVM_FLAGS);
        command.add("-Xmx3g");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(DemoMigration.class.getName());
        command.addAll(args);
        final Process process;
        try
        {
            process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        }
        catch (final IOException ex)
        {
            throw new java.io.UncheckedIOException("cannot start " + command, ex);
        }
        final Thread reader = new Thread(() ->
        {
            try (BufferedReader reader1 = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
            {
                String line;
                while (null != (line = reader1.readLine()))
                {
                    lines.add(line);
                    out.println(prefix + line);
                }
            }
            catch (final IOException ignore)
            {
                // process ended
            }
        }, "target-output");
        reader.setDaemon(true);
        reader.start();
        return process;
    }

    /** What the target process said of its memory on its MEMORY line. */
    static final class TargetMemory
    {
        final long peakRss;
        final long committedAhead;
        final String paths;

        private TargetMemory(final long peakRss, final long committedAhead, final String paths)
        {
            this.peakRss = peakRss;
            this.committedAhead = committedAhead;
            this.paths = paths;
        }

        static TargetMemory parse(final String line)
        {
            final String[] parts = line.split(" ", 4);
            return new TargetMemory(Long.parseLong(parts[1]), Long.parseLong(parts[2]),
                parts.length > 3 && !parts[3].isEmpty() ? parts[3] : "none used");
        }
    }

    /**
     * Wait for the target process's line starting with {@code prefix}; give up early, naming its exit code, if the
     * process ended without printing it (its error output is above).
     */
    static String awaitLine(
        final Process target, final LinkedBlockingQueue<String> lines, final String prefix, final long seconds)
        throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        int emptyPollsSinceExit = 0;
        while (System.nanoTime() < deadline)
        {
            final String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (null != line)
            {
                if (line.startsWith(prefix))
                {
                    return line;
                }
            }
            else if (!target.isAlive() && ++emptyPollsSinceExit >= 5) // its last lines read by now
            {
                throw new IllegalStateException("target process exited with code " + target.exitValue() +
                    " before printing " + prefix);
            }
        }
        throw new IllegalStateException("target process did not print " + prefix + " within " + seconds + " s");
    }

    private void printReport(
        final MigrationReport r,
        final boolean verified,
        final String verification,
        final boolean sourcePaused,
        final long launchMs,
        final long warmupMs)
    {
        out.println();
        out.println("==================== migration report ====================");
        out.printf(Locale.ROOT, "result            %s%s%n", r.result(),
            r.result() == MigrationResult.COMPLETED ? "" : " (" + r.errorCode() + ")");
        out.printf(Locale.ROOT, "reason            %s%n", r.reason());
        out.printf(Locale.ROOT, "guest on source   %s%n", sourcePaused ? "paused (now runs on the target)" : "running");
        out.printf(Locale.ROOT, "verified          %s (%s)%n", verified, verification);
        out.printf(Locale.ROOT, "mode              %s%s%n", r.mode().name().toLowerCase(Locale.ROOT),
            r.switchRound() >= 0 ? " (switched over after round " + r.switchRound() + ")" : "");
        out.printf(Locale.ROOT, "guest memory      %,d bytes, %,d-byte pages, %d data lane%s%s%n", r.guestBytes(),
            r.pageSize(), r.lanes(), r.lanes() == 1 ? "" : "s",
            r.laneThreads() > 0 ? " (" + r.laneThreads() + " on threads of their own)" : "");
        out.printf(Locale.ROOT, "total time        %,d ms (after %,d ms of launch: driver, allocations, %,d ms of " +
            "codec warm-up)%n", r.totalTimeMs(), launchMs, warmupMs);
        out.printf(Locale.ROOT, "downtime          %,d ms (target %,d ms)%n", r.downtimeMs(), r.downtimeTargetMs());
        out.printf(Locale.ROOT, "rounds            %d after the bulk pass (dirty log: %s)%n", r.rounds(),
            r.dirtyLog());
        if (!r.lastDecision().isEmpty())
        {
            out.printf(Locale.ROOT, "policy            %s%n", r.lastDecision());
        }
        out.printf(Locale.ROOT, "pages sent        %,d (zero %,d, delta %,d, lz4 %,d, raw %,d)%n",
            r.pagesSent(), r.zeroPages(), r.deltaPages(), r.lz4Pages(), r.rawPages());
        out.printf(Locale.ROOT, "bytes on wire     %,d (%.1f MB/s average)%n", r.bytesOnWire(),
            r.totalTimeMs() == 0 ? 0.0 : r.bytesOnWire() / 1e3 / r.totalTimeMs());
        out.printf(Locale.ROOT, "bytes saved       %,d by delta and LZ4 encoding%n", r.bytesSaved());
        out.printf(Locale.ROOT, "back-pressure     %,d events%n", r.backPressureEvents());
        out.printf(Locale.ROOT, "device state      %,d bytes, saved in %,d us%n", r.deviceStateBytes(),
            r.deviceSaveUs());
        if (r.maxThrottle() > 0)
        {
            out.printf(Locale.ROOT, "auto-converge     throttled the guest up to %.0f%%%n", r.maxThrottle() * 100);
        }
        if (r.mode() != io.pagestream.api.MigrationMode.PRECOPY)
        {
            out.printf(Locale.ROOT, "post-copy         %,d ms, %,d pages after switchover (%,d urgent), %d recoveries%n",
                r.postcopyMs(), r.postcopyPages(), r.urgentPages(), r.recoveries());
            out.printf(Locale.ROOT, "faults            %,d served: p50 %,d us, p99 %,d us, max %,d us%n",
                r.faults(), r.faultP50Us(), r.faultP99Us(), r.faultMaxUs());
        }
        out.println("==========================================================");
    }

    static String json(final MigrationReport r, final boolean verified)
    {
        return json(r, verified, -1, -1, "");
    }

    static String json(
        final MigrationReport r,
        final boolean verified,
        final long sourcePeakRssBytes,
        final long targetPeakRssBytes,
        final String targetFaultPath)
    {
        return "{\n" +
            "  \"result\": \"" + r.result() + "\",\n" +
            "  \"reason\": " + quote(r.reason()) + ",\n" +
            "  \"verified\": " + verified + ",\n" +
            "  \"mode\": \"" + r.mode().name().toLowerCase(Locale.ROOT) + "\",\n" +
            "  \"guestBytes\": " + r.guestBytes() + ",\n" +
            "  \"pageSize\": " + r.pageSize() + ",\n" +
            "  \"lanes\": " + r.lanes() + ",\n" +
            "  \"laneThreads\": " + r.laneThreads() + ",\n" +
            "  \"deviceSaveUs\": " + r.deviceSaveUs() + ",\n" +
            "  \"sourcePeakRssBytes\": " + sourcePeakRssBytes + ",\n" +
            "  \"targetPeakRssBytes\": " + targetPeakRssBytes + ",\n" +
            "  \"unreadZeroPages\": " + r.unreadZeroPages() + ",\n" +
            "  \"dirtyLog\": " + quote(r.dirtyLog()) + ",\n" +
            "  \"faultPath\": " + quote(targetFaultPath) + ",\n" +
            "  \"totalTimeMs\": " + r.totalTimeMs() + ",\n" +
            "  \"downtimeMs\": " + r.downtimeMs() + ",\n" +
            "  \"downtimeTargetMs\": " + r.downtimeTargetMs() + ",\n" +
            "  \"rounds\": " + r.rounds() + ",\n" +
            "  \"switchRound\": " + r.switchRound() + ",\n" +
            "  \"maxThrottle\": " + r.maxThrottle() + ",\n" +
            "  \"decision\": " + quote(r.lastDecision()) + ",\n" +
            "  \"adjustments\": " + r.adjustments() + ",\n" +
            "  \"settings\": " + quote(r.settings()) + ",\n" +
            "  \"pagesSent\": " + r.pagesSent() + ",\n" +
            "  \"bytesOnWire\": " + r.bytesOnWire() + ",\n" +
            "  \"pagesByEncoding\": {\"zero\": " + r.zeroPages() + ", \"delta\": " + r.deltaPages() +
            ", \"lz4\": " + r.lz4Pages() + ", \"raw\": " + r.rawPages() + "},\n" +
            "  \"postcopy\": {\"faults\": " + r.faults() + ", \"faultP50Us\": " + r.faultP50Us() +
            ", \"faultP99Us\": " + r.faultP99Us() + ", \"faultMaxUs\": " + r.faultMaxUs() +
            ", \"postcopyMs\": " + r.postcopyMs() + ", \"pages\": " + r.postcopyPages() +
            ", \"urgentPages\": " + r.urgentPages() + ", \"recoveries\": " + r.recoveries() + "}\n" +
            "}\n";
    }

    static String quote(final String s)
    {
        final StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++)
        {
            final char c = s.charAt(i);
            switch (c)
            {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20)
                    {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int)c));
                    }
                    else
                    {
                        b.append(c);
                    }
            }
        }
        return b.append('"').toString();
    }

    /** The values an option accepts: one list for validation, help and shell completion. */
    abstract static class Choices extends java.util.ArrayList<String>
    {
        private static final long serialVersionUID = 1L;

        Choices(final String... values)
        {
            super(List.of(values));
        }
    }

    /** Values {@code --dirty-log} accepts. */
    static final class DirtyLogValues extends Choices
    {
        private static final long serialVersionUID = 1L;

        DirtyLogValues()
        {
            super("auto", "userfaultfd", "software");
        }
    }

    /** Values {@code --fault-path} accepts. */
    static final class FaultPathValues extends Choices
    {
        private static final long serialVersionUID = 1L;

        FaultPathValues()
        {
            super("auto", "userfaultfd", "software");
        }
    }

    /** Values {@code --workload} accepts. */
    static final class WorkloadValues extends Choices
    {
        private static final long serialVersionUID = 1L;

        WorkloadValues()
        {
            super("idle", "hotset", "uniform", "sequential");
        }
    }

    /** Values {@code --compression} accepts. */
    static final class CompressionValues extends Choices
    {
        private static final long serialVersionUID = 1L;

        CompressionValues()
        {
            super("auto", "none", "delta", "lz4");
        }
    }

    /** Values {@code --mode} accepts. */
    static final class ModeValues extends Choices
    {
        private static final long serialVersionUID = 1L;

        ModeValues()
        {
            super("auto", "precopy", "postcopy");
        }
    }

    /** Values {@code --role} accepts. */
    static final class RoleValues extends Choices
    {
        private static final long serialVersionUID = 1L;

        RoleValues()
        {
            super("source", "target");
        }
    }

    /** Values {@code --security} accepts. */
    static final class SecurityValues extends Choices
    {
        private static final long serialVersionUID = 1L;

        SecurityValues()
        {
            super("none", "auth", "encrypt");
        }
    }

    /** Values {@code --page-size} accepts. */
    static final class PageSizeValues extends Choices
    {
        private static final long serialVersionUID = 1L;

        PageSizeValues()
        {
            super("4k", "2m");
        }
    }
}
