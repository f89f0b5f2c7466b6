/**
 * Authentication of the handshake with a pre-shared key: nonces, tags, constant-time checks.
 */
package io.pagestream.security;
