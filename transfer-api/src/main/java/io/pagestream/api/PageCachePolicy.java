package io.pagestream.api;

/**
 * Eviction policy of the source's cache of sent page versions (used for delta encoding).
 */
public enum PageCachePolicy
{
    /** Second chance: entries enter unreferenced, a hit marks them; keeps pages rewritten round after round. */
    CLOCK,
    /** Least recently sent goes first. */
    LRU
}
