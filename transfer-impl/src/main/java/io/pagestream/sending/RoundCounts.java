package io.pagestream.sending;

/**
 * Where a data lane counts what it sent in a round: the {@link RoundTracker} itself for a lane on the agent's thread,
 * a {@link LaneTally} for a lane on a thread of its own.
 */
interface RoundCounts
{
    /**
     * A page went out as data frames (not a zero run).
     *
     * @param frames number of frames (chunks) it took.
     * @param bytes  frame bytes, headers included.
     */
    void onDataPage(int frames, int bytes);

    /**
     * A zero-page run went out.
     *
     * @param pages in the run.
     * @param bytes of the frame.
     */
    void onZeroRun(long pages, int bytes);
}
