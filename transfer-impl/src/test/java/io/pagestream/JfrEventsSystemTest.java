package io.pagestream;

import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationStrategy;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real post-copy migration across a cut link, with a manager's change, recorded with JFR: every PageStream event
 * type is found, with figures that agree with the reports.
 */
class JfrEventsSystemTest
{
    @Test
    @Timeout(120)
    void shouldRecordRoundsDecisionsSwitchoverFaultsRecoveryChangesAndTheEnd(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("migration.jfr");
        final PostCopySystemTest.ToggleLoss loss = new PostCopySystemTest.ToggleLoss();
        final MigrationReport[] reports;
        try (Recording recording = new Recording();
            LossyDriver driver = new LossyDriver(loss, loss, loss);
            MigrationHarness harness = new MigrationHarness(PostCopySystemTest.busyGuest()))
        {
            for (final String name : List.of("Round", "PolicyDecision", "Switchover", "PostcopyFault", "Recovery",
                "SettingsChanged", "MigrationEnd"))
            {
                recording.enable("io.pagestream." + name).withThreshold(Duration.ZERO);
            }
            recording.start();
            final Thread cutter = new Thread(() -> PostCopySystemTest.cutLinkOnceInPostcopy(harness, loss, 1_500),
                "link-cutter");
            cutter.setDaemon(true);
            cutter.start();
            final Thread manager = new Thread(() ->
            {
                try
                {
                    while (null == harness.source)
                    {
                        Thread.sleep(1);
                    }
                    harness.source.control().downtimeTarget(400);
                }
                catch (final InterruptedException ignore)
                {
                    Thread.currentThread().interrupt();
                }
            }, "manager");
            manager.start();
            reports = PostCopySystemTest.migrateWithTargetGuestRunning(harness,
                t -> t.postcopyEnabled(true).peerTimeoutMs(400).recoveryTimeoutMs(20_000).jfrFaultThresholdUs(0),
                PostCopySystemTest.capped(MigrationStrategy.AUTO).andThen(s -> s.aeronDirectoryName(driver.directory)
                    .peerTimeoutMs(400).recoveryTimeoutMs(20_000).maxRounds(3)), true);
            cutter.join(5_000);
            manager.join(5_000);
            recording.stop();
            recording.dump(file);
        }
        final List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        final Map<String, List<RecordedEvent>> byType = events.stream()
            .filter(e -> e.getEventType().getName().startsWith("io.pagestream."))
            .collect(Collectors.groupingBy(e -> e.getEventType().getName(), TreeMap::new, Collectors.toList()));
        final StringBuilder counts = new StringBuilder();
        byType.forEach((k, v) -> counts.append(k).append('=').append(v.size()).append(' '));
        System.out.println("JFR: " + counts + "; " + reports[0]);

        assertTrue(reports[0].mode() != MigrationMode.PRECOPY, reports[0].toString());
        final List<RecordedEvent> rounds = byType.getOrDefault("io.pagestream.Round", List.of());
        assertEquals(reports[0].switchRound() + 1, rounds.size(), counts.toString());
        assertEquals(rounds.size(), byType.getOrDefault("io.pagestream.PolicyDecision", List.of()).size());
        assertTrue(byType.get("io.pagestream.PolicyDecision").stream()
            .anyMatch(e -> "POSTCOPY".equals(e.getString("action"))), counts.toString());
        final List<RecordedEvent> switchovers = byType.getOrDefault("io.pagestream.Switchover", List.of());
        assertEquals(1, switchovers.size(), counts.toString());
        assertTrue(switchovers.get(0).getBoolean("postcopy"));
        assertEquals(reports[0].downtimeMs(), switchovers.get(0).getDuration("downtimeMs").toMillis());
        final List<RecordedEvent> faults = byType.getOrDefault("io.pagestream.PostcopyFault", List.of());
        assertEquals(reports[1].faults(), faults.size(), "threshold 0: every fault " + counts);
        assertTrue(faults.stream().allMatch(e -> e.getLong("pageIndex") >= 0 && "software".equals(e.getString("path"))));
        assertTrue(faults.stream().allMatch(e -> e.getLong("migrationId") == reports[1].migrationId()),
            "every fault names its migration");
        final List<RecordedEvent> recoveries = byType.getOrDefault("io.pagestream.Recovery", List.of());
        assertEquals(reports[0].recoveries(), recoveries.size(), counts.toString());
        assertTrue(recoveries.get(0).getBoolean("recovered") && recoveries.get(0).getDuration().toMillis() > 0);
        assertTrue(byType.getOrDefault("io.pagestream.SettingsChanged", List.of()).stream()
            .anyMatch(e -> e.getString("change").equals("downtimeTarget 400 ms") &&
                e.getLong("migrationId") == reports[0].migrationId()), counts.toString());
        final List<RecordedEvent> ends = byType.getOrDefault("io.pagestream.MigrationEnd", List.of());
        assertEquals(2, ends.size(), counts.toString());
        for (final RecordedEvent end : ends)
        {
            assertEquals("COMPLETED", end.getString("result"));
            assertEquals(reports[0].migrationId(), end.getLong("migrationId"));
        }
    }
}
