/**
 * Snapshots: a running guest's memory written to a file by the same pre-copy rounds and policy as a migration
 * ({@link io.pagestream.snapshot.GuestSnapshots}), incremental snapshots on top of it, and restoring, mapping and
 * merging the files ({@link io.pagestream.snapshot.Snapshots}). The file layout is
 * {@code SnapshotFormat}'s, drawn in the README.
 */
package io.pagestream.snapshot;
