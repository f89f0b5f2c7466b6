package io.pagestream.api;

/**
 * Which page encodings the source may use besides zero-page runs, which are always used.
 */
public enum Compression
{
    /** Per page, whatever the cost model says pays on the current link: delta, LZ4 or raw. */
    AUTO,
    /** Raw pages only. */
    NONE,
    /** Delta against the cached version last sent where that is smaller by a margin, else raw. */
    DELTA,
    /** LZ4 where that is smaller by a margin, else raw. */
    LZ4
}
