/**
 * Counters for everything countable, allocated in the media driver's counters file so other processes can read them
 * (AeronStat shows them), and the live progress a source or target publishes to other threads.
 */
package io.pagestream.status;
