package io.pagestream.sending;

import org.agrona.CloseHelper;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.NanoClock;

/**
 * Data lanes on threads of their own ({@code MigrationSource.Context.laneThreads}): every lane after the first gets
 * a thread that sends the lane's share of a pre-copy round. Lane 0 carries the control frames and stays on the agent's
 * thread, as does every lane in post-copy.
 * <p>
 * The hand-over: the agent begins a round on a lane (the lane is idle, so the agent owns it), then hands it over with
 * a volatile write; the lane's thread sends until the lane's ROUND_END is out and hands it back with a volatile write;
 * the agent touches the lane again only after reading it back, so each side sees everything the other wrote. A
 * failure on a lane's thread (its stream closed) is handed back the same way and thrown on the agent's thread, into
 * the one failure path. What a threaded lane counts for the round bookkeeping goes to its {@link LaneTally}, which the
 * agent folds into the {@link RoundTracker}.
 */
final class LaneThreads implements AutoCloseable
{
    /** Pages a lane's thread sends between looks at whether it is still running, as the agent does per cycle. */
    static final int PAGES_PER_WORK = 64;

    private final LaneAgent[] agents;
    private final AgentRunner[] runners;

    /**
     * @param lanes   every lane; index 0 stays on the agent's thread.
     * @param tallies lane i's tally at index i (index 0 unused).
     * @param clock   the engine's clock.
     * @param errorHandler for what escapes a lane's duty cycle (nothing should: failures are handed back).
     */
    LaneThreads(final DataLane[] lanes, final LaneTally[] tallies, final NanoClock clock, final ErrorHandler errorHandler)
    {
        agents = new LaneAgent[lanes.length];
        runners = new AgentRunner[lanes.length];
        for (int i = 1; i < lanes.length; i++)
        {
            agents[i] = new LaneAgent(lanes[i], tallies[i], clock);
            runners[i] = new AgentRunner(new BackoffIdleStrategy(64, 16, 1_000, 200_000),
                errorHandler, null, agents[i]);
        }
    }

    /** Start the lanes' threads; they idle until handed a round. */
    void start()
    {
        for (int i = 1; i < runners.length; i++)
        {
            AgentRunner.startOnThread(runners[i]);
        }
    }

    /** @return threads started for lanes. */
    int count()
    {
        return runners.length - 1;
    }

    /**
     * @param lane a lane index.
     * @return true if the lane's thread owns it now.
     */
    boolean isHandedOver(final int lane)
    {
        return lane > 0 && agents[lane].handedOver;
    }

    /**
     * Hand a lane whose round just began to its thread.
     *
     * @param lane a lane index other than 0.
     */
    void handOver(final int lane)
    {
        agents[lane].handedOver = true;
    }

    /**
     * Fold every threaded lane's counts into the tracker.
     *
     * @param tracker the round bookkeeping.
     */
    void fold(final RoundTracker tracker)
    {
        for (int i = 1; i < agents.length; i++)
        {
            agents[i].tally.foldInto(tracker);
        }
    }

    /**
     * Throw, on the agent's thread, a failure a lane's thread met and handed back.
     */
    void throwFailure()
    {
        for (int i = 1; i < agents.length; i++)
        {
            final RuntimeException failure = agents[i].failure;
            if (null != failure)
            {
                agents[i].failure = null;
                throw failure;
            }
        }
    }

    /** Stop the lanes' threads, waiting for each to leave its duty cycle. */
    public void close()
    {
        for (int i = 1; i < runners.length; i++)
        {
            CloseHelper.quietClose(runners[i]);
        }
    }

    private static final class LaneAgent implements Agent
    {
        private final DataLane lane;
        private final LaneTally tally;
        private final NanoClock clock;
        private final String roleName;
        private volatile boolean handedOver;
        private volatile RuntimeException failure;

        LaneAgent(final DataLane lane, final LaneTally tally, final NanoClock clock)
        {
            this.lane = lane;
            this.tally = tally;
            this.clock = clock;
            this.roleName = "pagestream-lane-" + lane.index();
        }

        public int doWork()
        {
            if (!handedOver)
            {
                return 0;
            }
            try
            {
                final int work = lane.doWork(clock.nanoTime(), PAGES_PER_WORK);
                if (lane.isRoundSent())
                {
                    handedOver = false;
                }
                return work;
            }
            catch (final RuntimeException ex)
            {
                failure = ex;
                handedOver = false;
                return 0;
            }
        }

        public String roleName()
        {
            return roleName;
        }
    }
}
