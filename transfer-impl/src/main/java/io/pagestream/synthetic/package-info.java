/**
 * A synthetic guest for tests, demos and hypervisor authors trying PageStream: native memory with realistic page
 * contents, vCPU threads writing it at a chosen rate, a software dirty log, vCPU control and a device state blob.
 */
package io.pagestream.synthetic;
