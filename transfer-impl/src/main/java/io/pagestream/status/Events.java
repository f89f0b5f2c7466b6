package io.pagestream.status;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * PageStream's JDK Flight Recorder events. Each is committed only where JFR records it (an unrecorded event costs a
 * check, and the per-fault event is only built for faults slower than the target context's
 * {@code jfrFaultThresholdUs}), never per page otherwise. Names start {@code io.pagestream.}; enable them with
 * {@code -XX:StartFlightRecording} and a setting such as {@code io.pagestream.PostcopyFault#enabled=true}, or from
 * JDK Mission Control.
 */
public final class Events
{
    /** The engine warm-up's migration id: its migrations record no events. */
    public static final long WARMUP_MIGRATION_ID = 0x5741524d55500001L;

    private Events()
    {
    }

    /**
     * @param migrationId a migration's id.
     * @return false for the engine warm-up's migrations, whose events would only mislead.
     */
    public static boolean recorded(final long migrationId)
    {
        return migrationId != WARMUP_MIGRATION_ID;
    }

    /** A pre-copy round ended (source). */
    @Name("io.pagestream.Round")
    @Label("Round End")
    @Category({"PageStream", "Source"})
    @StackTrace(false)
    public static final class Round extends Event
    {
        @Label("Migration Id") public long migrationId;
        @Label("Round") public int round;
        @Label("Pages Sent") public long pagesSent;
        @Label("Bytes Sent") @DataAmount public long bytesSent;
        @Label("Dirty Pages") public long dirtyPages;
        @Label("Dirty Rate (pages/s)") public double dirtyRatePagesPerSec;
        @Label("Bandwidth") @DataAmount(DataAmount.BYTES) public double bandwidthBytesPerSec;
        @Label("Predicted Downtime") @Timespan(Timespan.MILLISECONDS) public long predictedDowntimeMs;
        @Label("Round Duration") @Timespan(Timespan.MILLISECONDS) public long durationMs;
    }

    /** The policy decided, at the end of a round (source). */
    @Name("io.pagestream.PolicyDecision")
    @Label("Policy Decision")
    @Category({"PageStream", "Source"})
    @StackTrace(false)
    public static final class PolicyDecision extends Event
    {
        @Label("Migration Id") public long migrationId;
        @Label("Round") public int round;
        @Label("Action") public String action;
        @Label("Throttle") public double throttle;
        @Label("Reason") public String reason;
    }

    /** The switchover's downtime ended: the guest runs on the target, or again here (source). */
    @Name("io.pagestream.Switchover")
    @Label("Switchover")
    @Category({"PageStream", "Source"})
    @StackTrace(false)
    public static final class Switchover extends Event
    {
        @Label("Migration Id") public long migrationId;
        @Label("Post-copy") public boolean postcopy;
        @Label("Last Round") public int round;
        @Label("Outcome") public String outcome;
        @Label("Downtime") @Timespan(Timespan.MILLISECONDS) public long downtimeMs;
    }

    /** A post-copy fault slower than the threshold was served (target). */
    @Name("io.pagestream.PostcopyFault")
    @Label("Post-copy Fault")
    @Description("A guest access to a page not here yet, served slower than the target's jfrFaultThresholdUs " +
        "(system property pagestream.jfr.fault.threshold.us)")
    @Category({"PageStream", "Target"})
    @StackTrace(false)
    public static final class PostcopyFault extends Event
    {
        @Label("Migration Id") public long migrationId;
        @Label("Page Index") public long pageIndex;
        @Label("Service Time") @Timespan(Timespan.MICROSECONDS) public long serviceUs;
        @Label("Fault Path") public String path;
    }

    /** A lost link was recovered, or given up on (source; a duration event). */
    @Name("io.pagestream.Recovery")
    @Label("Post-copy Recovery")
    @Category({"PageStream", "Source"})
    @StackTrace(false)
    public static final class Recovery extends Event
    {
        @Label("Migration Id") public long migrationId;
        @Label("Why") public String why;
        @Label("Recovered") public boolean recovered;
    }

    /** A manager's change took effect (source). */
    @Name("io.pagestream.SettingsChanged")
    @Label("Settings Changed")
    @Category({"PageStream", "Source"})
    @StackTrace(false)
    public static final class SettingsChanged extends Event
    {
        @Label("Migration Id") public long migrationId;
        @Label("Change") public String change;
        @Label("Settings") public String settings;
    }

    /** A migration ended (either side). */
    @Name("io.pagestream.MigrationEnd")
    @Label("Migration End")
    @Category({"PageStream"})
    @StackTrace(false)
    public static final class MigrationEnd extends Event
    {
        @Label("Role") public String role;
        @Label("Migration Id") public long migrationId;
        @Label("Result") public String result;
        @Label("Error Code") public String errorCode;
        @Label("Mode") public String mode;
        @Label("Total Time") @Timespan(Timespan.MILLISECONDS) public long totalTimeMs;
        @Label("Downtime") @Timespan(Timespan.MILLISECONDS) public long downtimeMs;
        @Label("Pages Sent") public long pagesSent;
        @Label("Bytes On Wire") @DataAmount public long bytesOnWire;
        @Label("Reason") public String reason;
    }
}
