/**
 * PageStream's entry point, {@link io.pagestream.PageStream}: launches a migration source or target from its context.
 * The engine lives in the sub-packages, named for their concern.
 */
package io.pagestream;
