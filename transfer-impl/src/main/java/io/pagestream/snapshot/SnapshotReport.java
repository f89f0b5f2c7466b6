package io.pagestream.snapshot;

import java.nio.file.Path;
import java.util.UUID;

/**
 * What one snapshot did.
 *
 * @param file             the file written.
 * @param snapshotId       its id.
 * @param parentId         the snapshot it is incremental to, or null for a full snapshot.
 * @param rounds           rounds run, the bulk pass and the final paused pass included.
 * @param pagesDefined     pages the file defines (every page for a full snapshot; for an incremental one the pages
 *                         written since its parent's pause).
 * @param dataPages        of those, pages the file holds bytes for (the rest are zero).
 * @param pageWrites       data pages written, rewrites in later rounds included.
 * @param fileBytes        the file's length (its page area is sparse: holes stay holes).
 * @param totalTimeMs      from the start to the footer on storage.
 * @param downtimeMs       how long the snapshot held the guest paused: from asking the vCPUs to pause to asking
 *                         them to resume.
 * @param pausedAtMs       wall-clock time of the pause: the file holds guest memory as it was then.
 * @param reason           the policy's reason for the final pass.
 * @param dirtyLog         the dirty log's name.
 */
public record SnapshotReport(
    Path file, UUID snapshotId, UUID parentId, int rounds, long pagesDefined, long dataPages, long pageWrites,
    long fileBytes, long totalTimeMs, long downtimeMs, long pausedAtMs, String reason, String dirtyLog)
{
    /** @return true if the file is a full snapshot. */
    public boolean isFull()
    {
        return null == parentId;
    }
}
