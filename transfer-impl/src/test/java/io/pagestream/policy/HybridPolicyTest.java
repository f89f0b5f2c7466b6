package io.pagestream.policy;

import io.pagestream.api.policy.HybridPolicy;
import io.pagestream.api.policy.MigrationDecision;
import io.pagestream.api.policy.RoundFigures;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hybrid policy's decisions on hand-made figures.
 */
class HybridPolicyTest
{
    private static final double BANDWIDTH = 100e6;
    private static final double PAGE_BYTES = 4144;

    private static RoundFigures figures(
        final int round, final long dirtyPages, final double dirtyRate, final boolean postcopy, final double throttle)
    {
        return new RoundFigures()
        {
            public int round()
            {
                return round;
            }

            public long dirtyPages()
            {
                return dirtyPages;
            }

            public double dirtyRatePagesPerSec()
            {
                return dirtyRate;
            }

            public double bandwidthBytesPerSec()
            {
                return BANDWIDTH;
            }

            public double wireBytesPerPage()
            {
                return PAGE_BYTES;
            }

            public double predictedDowntimeMs()
            {
                return dirtyPages * PAGE_BYTES / BANDWIDTH * 1000;
            }

            public long pagesSentInRound()
            {
                return 0;
            }

            public long bytesSentInRound()
            {
                return 0;
            }

            public long roundDurationMs()
            {
                return 1000;
            }

            public long elapsedMs()
            {
                return round * 1000L;
            }

            public long roundTripUs()
            {
                return 100;
            }

            public boolean postcopyAvailable()
            {
                return postcopy;
            }

            public double throttleFraction()
            {
                return throttle;
            }
        };
    }

    @Test
    void shouldStopAndCopyWhenPredictionFits()
    {
        final HybridPolicy policy = new HybridPolicy(300, 30, 600_000);
        assertEquals(MigrationDecision.Action.STOP_AND_COPY,
            policy.onRoundComplete(figures(1, 1000, 50_000, true, 0)).action()); // 41 ms predicted
    }

    @Test
    void shouldSwitchToPostcopyAfterTwoRoundsNotConverging()
    {
        final HybridPolicy policy = new HybridPolicy(300, 30, 600_000);
        // 50k pages/s x 4144 B = 207 MB/s against 100 MB/s: not converging.
        assertEquals(MigrationDecision.Action.CONTINUE,
            policy.onRoundComplete(figures(0, 200_000, 50_000, true, 0)).action());
        final MigrationDecision decision = policy.onRoundComplete(figures(1, 200_000, 50_000, true, 0));
        assertEquals(MigrationDecision.Action.POSTCOPY, decision.action());
        assertTrue(decision.reason().contains("2.07x"), decision.reason());
    }

    @Test
    void shouldKeepIteratingWhileTheDirtySetShrinks()
    {
        final HybridPolicy policy = new HybridPolicy(300, 30, 600_000);
        long dirty = 200_000;
        for (int round = 0; round < 5; round++)
        {
            assertEquals(MigrationDecision.Action.CONTINUE,
                policy.onRoundComplete(figures(round, dirty, 50_000, true, 0)).action());
            dirty = dirty * 3 / 4 - 20_000;
        }
    }

    @Test
    void shouldThrottleInMeasuredStepsWithoutPostcopyAndGiveUpAtTheBound()
    {
        final HybridPolicy policy = new HybridPolicy(300, 6, 600_000);
        policy.onRoundComplete(figures(0, 200_000, 50_000, false, 0));
        final MigrationDecision first = policy.onRoundComplete(figures(1, 200_000, 50_000, false, 0));
        assertEquals(MigrationDecision.Action.THROTTLE, first.action());
        // Bring 207 MB/s down to half of 100 MB/s: hold back 1 - 50/207 = 76%.
        assertEquals(0.758, first.throttleFraction(), 0.01);

        final MigrationDecision second = policy.onRoundComplete(
            figures(2, 200_000, 50_000 * (1 - first.throttleFraction()) * 2, false, first.throttleFraction()));
        assertEquals(MigrationDecision.Action.THROTTLE, second.action());
        assertTrue(second.throttleFraction() >= first.throttleFraction() + 0.1 - 1e-9, second.toString());

        final MigrationDecision atBound = policy.onRoundComplete(figures(6, 200_000, 50_000, false, 0.99));
        assertEquals(MigrationDecision.Action.ABORT, atBound.action());
        assertTrue(atBound.reason().contains("post-copy unavailable"), atBound.reason());
    }

    @Test
    void shouldSwitchToPostcopyAtTheBoundEvenWhenConverging()
    {
        final HybridPolicy policy = new HybridPolicy(300, 3, 600_000);
        final MigrationDecision decision = policy.onRoundComplete(figures(3, 50_000, 1_000, true, 0));
        assertEquals(MigrationDecision.Action.POSTCOPY, decision.action());
        assertTrue(decision.reason().startsWith("round/time bound reached"), decision.reason());
    }
}
