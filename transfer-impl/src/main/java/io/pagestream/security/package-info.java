/**
 * Authentication of the handshake with a pre-shared key (nonces, tags, constant-time checks) and protection of every
 * frame after it under a derived session key (HMAC-SHA256 tag or AES-256-GCM seal, with sequences).
 */
package io.pagestream.security;
