package io.pagestream.sending;

/**
 * What a lane (or the control frames) put on the wire, in plain fields its one writer adds to; the conductor sums
 * the lanes' figures into the Aeron counters and the report. Threading: one writer; read by the conductor on the
 * same thread.
 */
final class LaneStats
{
    /** Pages sent, zero pages included. */
    long pages;
    /** Frame bytes handed to the stream, headers included. */
    long bytes;
    /** Page frames (a page larger than a frame takes several). */
    long pageFrames;
    /** Pages sent in zero runs. */
    long zeroPages;
    /** Pages sent raw. */
    long rawPages;
    /** Pages sent as deltas. */
    long deltaPages;
    /** Pages sent LZ4-compressed. */
    long lz4Pages;
    /** Bytes the encodings kept off the wire. */
    long bytesSaved;
    /** Pages sent after the post-copy switchover. */
    long postcopyPages;
    /** Pages sent in answer to faults. */
    long urgentPages;
    long unreadZeroPages;
    long dataMapFrames;

    void clear()
    {
        pages = 0;
        bytes = 0;
        pageFrames = 0;
        zeroPages = 0;
        rawPages = 0;
        deltaPages = 0;
        lz4Pages = 0;
        bytesSaved = 0;
        postcopyPages = 0;
        urgentPages = 0;
        unreadZeroPages = 0;
        dataMapFrames = 0;
    }

    void add(final LaneStats other)
    {
        pages += other.pages;
        bytes += other.bytes;
        pageFrames += other.pageFrames;
        zeroPages += other.zeroPages;
        rawPages += other.rawPages;
        deltaPages += other.deltaPages;
        lz4Pages += other.lz4Pages;
        bytesSaved += other.bytesSaved;
        postcopyPages += other.postcopyPages;
        urgentPages += other.urgentPages;
        unreadZeroPages += other.unreadZeroPages;
        dataMapFrames += other.dataMapFrames;
    }
}
