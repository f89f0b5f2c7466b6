/**
 * The receiving side: validates the hello, applies pages from the subscription's term buffer straight into guest
 * memory, checks checksums and round counts, restores the device state and acknowledges switchover.
 */
package io.pagestream.target;
