/**
 * Aeron plumbing: the embedded or external media driver, channel URIs, claiming frames and the bandwidth cap.
 * Nothing here knows about rounds or policies.
 */
package io.pagestream.transport;
