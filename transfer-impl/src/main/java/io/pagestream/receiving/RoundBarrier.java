package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.protocol.RoundEndFlyweight;
import org.agrona.DirectBuffer;

/**
 * The round barrier across data lanes, kept by the guest image. Each lane ends a round with its own ROUND_END
 * carrying what it sent; the lane is then not read until every lane has ended the round, and the round closes. After
 * a close, only lane 0 is read until it opens the next round (any frame of it) or hands over (SWITCHOVER): so a lane
 * never applies a page of round {@code r+1} while another still holds pages of round {@code r}, and no pushed page
 * lands before the post-copy switchover that makes pages present. With one lane this is the single stream's order.
 * <p>
 * Threading: the target conductor's thread.
 */
final class RoundBarrier
{
    private final RoundEndFlyweight roundEnd = new RoundEndFlyweight();
    private int round;
    private int laneCount = 1;
    private long[] laneFrames = new long[1];
    private long[] lanePages = new long[1];
    private boolean[] atBarrier = new boolean[1];
    private boolean leaderFirst;

    /**
     * @param lanes data lanes the source uses, from its hello.
     */
    void laneCount(final int lanes)
    {
        laneCount = lanes;
        laneFrames = new long[lanes];
        lanePages = new long[lanes];
        atBarrier = new boolean[lanes];
    }

    int laneCount()
    {
        return laneCount;
    }

    /** @return the round being received. */
    int round()
    {
        return round;
    }

    /**
     * @param lane     a data lane.
     * @param postcopy true once the post-copy switchover made pages present: no barrier from then on.
     * @return true if the lane may be read now.
     */
    boolean mayPoll(final int lane, final boolean postcopy)
    {
        return postcopy || (!atBarrier[lane] && (lane == 0 || !leaderFirst));
    }

    /**
     * A frame of the current round arrived.
     *
     * @param lane the data lane it came on, or -1 for the urgent lane.
     */
    void onFrame(final int lane)
    {
        if (lane == 0)
        {
            leaderFirst = false; // lane 0 opened the round; the others may follow
        }
    }

    /**
     * @param lane   the data lane a page frame came on, or -1 for the urgent lane.
     * @param frames page frames to count towards the lane's ROUND_END.
     * @param pages  pages completed, to count towards the lane's ROUND_END.
     */
    void count(final int lane, final long frames, final long pages)
    {
        if (lane >= 0)
        {
            laneFrames[lane] += frames;
            lanePages[lane] += pages;
        }
    }

    /** Post-copy switchover: every lane may be read from now on. */
    void release()
    {
        leaderFirst = false;
    }

    /**
     * A lane's ROUND_END: check its counts, hold the lane at the barrier, close the round when every lane is there.
     *
     * @param lane   the data lane.
     * @param buffer holding the frame.
     * @param offset of the frame.
     * @param length of the frame.
     * @return true if this closed the round.
     */
    boolean onRoundEnd(final int lane, final DirectBuffer buffer, final int offset, final int length)
    {
        roundEnd.wrapForRead(buffer, offset);
        roundEnd.validate(length);
        if (roundEnd.round() != round)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "round=" + roundEnd.round() + " in ROUND_END frame, current round is " + round);
        }
        if (roundEnd.pageFrames() != laneFrames[lane] || roundEnd.pages() != lanePages[lane])
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "round " + round + " ended with pageFrames=" +
                roundEnd.pageFrames() + " pages=" + roundEnd.pages() + " but " + laneFrames[lane] + " frames and " +
                lanePages[lane] + " pages arrived" + (laneCount > 1 ? " on lane " + lane : ""));
        }
        onFrame(lane);
        atBarrier[lane] = true;
        for (int i = 0; i < laneCount; i++)
        {
            if (!atBarrier[i])
            {
                return false;
            }
        }
        round++;
        java.util.Arrays.fill(laneFrames, 0);
        java.util.Arrays.fill(lanePages, 0);
        java.util.Arrays.fill(atBarrier, false);
        leaderFirst = laneCount > 1;
        return true;
    }
}
