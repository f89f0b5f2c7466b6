package io.pagestream.snapshot;

import java.nio.file.Path;
import java.util.UUID;

/**
 * A complete snapshot file's header and footer, checked.
 *
 * @param file              the file.
 * @param snapshotId        its id.
 * @param parentId          the snapshot it is incremental to, or null for a full one.
 * @param parentPath        the parent's path as written (relative to this file's directory unless absolute), or
 *                          null.
 * @param vmId              the guest's id, or null if none was given.
 * @param pageSize          guest page size.
 * @param pageCount         guest pages.
 * @param regionLengths     the guest's regions in bytes.
 * @param definedPages      pages the file defines.
 * @param dataPages         pages it holds bytes for.
 * @param deviceStateBytes  length of the device state.
 * @param rounds            rounds the snapshot ran.
 * @param creationTimeMs    wall-clock start.
 * @param pausedAtMs        wall-clock time of the pause it holds memory as of.
 * @param fileBytes         the file's length.
 */
public record SnapshotInfo(
    Path file, UUID snapshotId, UUID parentId, String parentPath, UUID vmId, int pageSize, long pageCount,
    long[] regionLengths, long definedPages, long dataPages, int deviceStateBytes, int rounds, long creationTimeMs,
    long pausedAtMs, long fileBytes)
{
    /** @return true if the file is a full snapshot. */
    public boolean isFull()
    {
        return null == parentId;
    }
}
