/**
 * Counters for everything countable, allocated in the media driver's counters file so other processes can read them
 * (AeronStat shows them), the live progress a source or target publishes to other threads, and what both sides
 * share of a migration's life: its public phase and outcome, and how it ends (the ERROR owed to the peer).
 */
package io.pagestream.status;
