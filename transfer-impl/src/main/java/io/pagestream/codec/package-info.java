/**
 * Per-page work on native memory: zero-page detection and checksums (delta and LZ4 encodings come here next).
 * Everything here works on addresses and allocates nothing per page.
 */
package io.pagestream.codec;
