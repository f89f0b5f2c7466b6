/**
 * What the hypervisor provides about its guest: memory, dirty log, vCPU control and device state.
 * Includes native memory factories for tests and simple VMMs.
 */
package io.pagestream.api.guest;
