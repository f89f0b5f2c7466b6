/**
 * Runnable programs: the demo migration between two processes (the README's main job) and a minimal embedding
 * example for hypervisor authors.
 */
package io.pagestream.examples;
