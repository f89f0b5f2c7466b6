/**
 * The sending side: handshake, bulk pass, iterative rounds over the dirty log, stop-and-copy and switchover, run as
 * one Agrona agent. Pages go from guest memory into the publication's term buffer by {@code tryClaim}.
 */
package io.pagestream.source;
