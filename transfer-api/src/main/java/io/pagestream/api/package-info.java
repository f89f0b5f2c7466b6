/**
 * The contract between a hypervisor and PageStream: sources, targets, their contexts, reports and errors.
 * Everything a VMM author calls or implements lives here or in the {@code guest} and {@code policy} sub-packages.
 */
package io.pagestream.api;
