package io.pagestream.snapshot;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * The snapshot file's layout: a header at offset 0, every guest page at a fixed page-aligned offset after it (a page
 * rewritten in a later round is rewritten in place; pages never written stay holes), then the metadata (the map of
 * pages this file defines, the map of those it holds bytes for, one CRC32C per held page, the device state) and a
 * footer written last. All integers little-endian. README "Snapshot files" draws it.
 * <pre>
 * 0                 header (HEADER_BYTES, padded to the page size): magic, version, page size, layout, ids, time,
 *                   parent path, CRC32C of the header
 * dataOffset        page 0 | page 1 | ... | page n-1      (page i at dataOffset + i * pageSize; holes read as zero)
 * metaOffset        defined map (n bits) | data map (n bits) | CRC32C of each data page, in page order | device state
 * length - 128      footer: magic, metaOffset, counts, device state place, CRC32C of the metadata and of the footer
 * </pre>
 * A full snapshot defines every page; an incremental one defines the pages written since its parent's pause and
 * names its parent by id and path. A defined page without data is zero.
 */
final class SnapshotFormat
{
    /** "PGSNAPv1" in file order. */
    static final long HEADER_MAGIC = magic("PGSNAPv1");
    /** "PGSNAPOK" in file order: the footer, written last. */
    static final long FOOTER_MAGIC = magic("PGSNAPOK");
    static final int VERSION = 1;
    static final int HEADER_BYTES = 4096;
    static final int FOOTER_BYTES = 128;
    static final int MAX_REGIONS = 256;
    static final int MAX_PARENT_PATH_BYTES = 1024;

    private static final int REGIONS_AT = 104;
    private static final int PARENT_PATH_AT = REGIONS_AT + MAX_REGIONS * 8;
    private static final int HEADER_CRC_AT = HEADER_BYTES - 4;
    private static final int FOOTER_CRC_AT = FOOTER_BYTES - 4;

    private SnapshotFormat()
    {
    }

    private static long magic(final String text)
    {
        return ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII)).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    /**
     * @param pageSize the guest page size.
     * @return where page 0 lies: the header rounded up to the page size, so every page is aligned for mapping.
     */
    static long dataOffset(final int pageSize)
    {
        return Math.max(HEADER_BYTES, pageSize);
    }

    /**
     * What the header says.
     *
     * @param pageSize       guest page size.
     * @param pageCount      guest pages.
     * @param regionLengths  the guest's regions, bytes each.
     * @param vmId           the guest's id, or null.
     * @param snapshotId     this file's id.
     * @param parentId       the parent's id, or null for a full snapshot.
     * @param parentPath     the parent's path as written, or null.
     * @param creationTimeMs wall-clock time the snapshot started.
     */
    record Header(
        int pageSize, long pageCount, long[] regionLengths, UUID vmId, UUID snapshotId, UUID parentId,
        String parentPath, long creationTimeMs)
    {
        long dataOffset()
        {
            return SnapshotFormat.dataOffset(pageSize);
        }

        long metaOffset()
        {
            return dataOffset() + pageCount * pageSize;
        }

        boolean isFull()
        {
            return null == parentId;
        }
    }

    /**
     * What the footer says.
     *
     * @param metaOffset         where the metadata starts.
     * @param definedPages       pages this file defines.
     * @param dataPages          pages it holds bytes for.
     * @param deviceStateOffset  where the device state lies.
     * @param deviceStateLength  its length in bytes.
     * @param rounds             rounds the snapshot ran, the bulk pass included.
     * @param pausedAtMs         wall-clock time of the pause the snapshot ended with.
     * @param snapshotId         the header's id again, tying the two.
     * @param metadataCrc        CRC32C of the metadata bytes.
     */
    record Footer(
        long metaOffset, long definedPages, long dataPages, long deviceStateOffset, int deviceStateLength,
        int rounds, long pausedAtMs, UUID snapshotId, int metadataCrc)
    {
        /** @return the length of the file this footer ends. */
        long fileLength()
        {
            return deviceStateOffset + deviceStateLength + FOOTER_BYTES;
        }
    }

    static ByteBuffer encodeHeader(final Header h)
    {
        if (h.regionLengths.length > MAX_REGIONS)
        {
            throw new IllegalArgumentException("a snapshot holds at most " + MAX_REGIONS + " regions: " +
                h.regionLengths.length);
        }
        final byte[] parent = null == h.parentPath ? new byte[0] : h.parentPath.getBytes(StandardCharsets.UTF_8);
        if (parent.length > MAX_PARENT_PATH_BYTES)
        {
            throw new IllegalArgumentException("the parent's path is longer than " + MAX_PARENT_PATH_BYTES +
                " bytes: " + h.parentPath);
        }
        final ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, HEADER_MAGIC);
        b.putInt(8, VERSION);
        b.putInt(12, HEADER_BYTES);
        b.putInt(16, h.pageSize);
        b.putInt(20, h.regionLengths.length);
        b.putLong(24, h.pageCount);
        b.putLong(32, h.dataOffset());
        putUuid(b, 40, h.vmId);
        putUuid(b, 56, h.snapshotId);
        putUuid(b, 72, h.parentId);
        b.putLong(88, h.creationTimeMs);
        b.putInt(96, parent.length);
        for (int i = 0; i < h.regionLengths.length; i++)
        {
            b.putLong(REGIONS_AT + i * 8, h.regionLengths[i]);
        }
        b.put(PARENT_PATH_AT, parent);
        b.putInt(HEADER_CRC_AT, crc(b, 0, HEADER_CRC_AT));
        return b;
    }

    static Header decodeHeader(final Path file, final ByteBuffer b)
    {
        b.order(ByteOrder.LITTLE_ENDIAN);
        if (b.limit() < HEADER_BYTES || b.getLong(0) != HEADER_MAGIC)
        {
            throw invalid(file, "not a PageStream snapshot (no snapshot header at offset 0)");
        }
        final int version = b.getInt(8);
        if (version != VERSION)
        {
            throw new MigrationException(ErrorCode.UNSUPPORTED_VERSION,
                "snapshot " + file + ": format version " + version + ", this build reads version " + VERSION);
        }
        if (b.getInt(HEADER_CRC_AT) != crc(b, 0, HEADER_CRC_AT))
        {
            throw invalid(file, "the header fails its checksum");
        }
        final int pageSize = b.getInt(16);
        final int regions = b.getInt(20);
        final long pageCount = b.getLong(24);
        final int parentLength = b.getInt(96);
        if (pageSize < 4096 || Integer.bitCount(pageSize) != 1 || regions < 1 || regions > MAX_REGIONS ||
            pageCount < 1 || parentLength < 0 || parentLength > MAX_PARENT_PATH_BYTES ||
            b.getLong(32) != dataOffset(pageSize))
        {
            throw invalid(file, "the header describes an impossible layout (page size " + pageSize + ", " +
                regions + " regions, " + pageCount + " pages)");
        }
        final long[] lengths = new long[regions];
        long total = 0;
        for (int i = 0; i < regions; i++)
        {
            lengths[i] = b.getLong(REGIONS_AT + i * 8);
            if (lengths[i] <= 0 || lengths[i] % pageSize != 0)
            {
                throw invalid(file, "region " + i + " has length " + lengths[i] + ", not a positive multiple of " +
                    "the page size " + pageSize);
            }
            total += lengths[i];
        }
        if (total != pageCount * pageSize)
        {
            throw invalid(file, "the regions add up to " + total + " bytes, the header says " + pageCount +
                " pages of " + pageSize);
        }
        final byte[] parent = new byte[parentLength];
        b.get(PARENT_PATH_AT, parent);
        final UUID parentId = getUuid(b, 72);
        return new Header(pageSize, pageCount, lengths, getUuid(b, 40), getUuid(b, 56), parentId,
            parentLength == 0 ? null : new String(parent, StandardCharsets.UTF_8), b.getLong(88));
    }

    static ByteBuffer encodeFooter(final Footer f)
    {
        final ByteBuffer b = ByteBuffer.allocate(FOOTER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, FOOTER_MAGIC);
        b.putInt(8, VERSION);
        b.putInt(12, FOOTER_BYTES);
        b.putLong(16, f.metaOffset);
        b.putLong(24, f.definedPages);
        b.putLong(32, f.dataPages);
        b.putLong(40, f.deviceStateOffset);
        b.putInt(48, f.deviceStateLength);
        b.putInt(52, f.rounds);
        b.putLong(56, f.pausedAtMs);
        putUuid(b, 64, f.snapshotId);
        b.putInt(80, f.metadataCrc);
        b.putInt(FOOTER_CRC_AT, crc(b, 0, FOOTER_CRC_AT));
        return b;
    }

    static Footer decodeFooter(final Path file, final ByteBuffer b)
    {
        b.order(ByteOrder.LITTLE_ENDIAN);
        if (b.limit() < FOOTER_BYTES || b.getLong(0) != FOOTER_MAGIC)
        {
            throw new MigrationException(ErrorCode.SNAPSHOT_INVALID, "snapshot " + file + " is incomplete: it " +
                "has no completion footer (truncated, or its writer stopped before the end)");
        }
        if (b.getInt(FOOTER_CRC_AT) != crc(b, 0, FOOTER_CRC_AT))
        {
            throw invalid(file, "the completion footer fails its checksum");
        }
        return new Footer(b.getLong(16), b.getLong(24), b.getLong(32), b.getLong(40), b.getInt(48), b.getInt(52),
            b.getLong(56), getUuid(b, 64), b.getInt(80));
    }

    static MigrationException invalid(final Path file, final String what)
    {
        return new MigrationException(ErrorCode.SNAPSHOT_INVALID, "snapshot " + file + ": " + what);
    }

    static int crc(final ByteBuffer b, final int from, final int to)
    {
        final CRC32C crc = new CRC32C();
        crc.update(b.duplicate().clear().position(from).limit(to));
        return (int)crc.getValue();
    }

    private static void putUuid(final ByteBuffer b, final int at, final UUID id)
    {
        b.putLong(at, null == id ? 0 : id.getMostSignificantBits());
        b.putLong(at + 8, null == id ? 0 : id.getLeastSignificantBits());
    }

    private static UUID getUuid(final ByteBuffer b, final int at)
    {
        final long hi = b.getLong(at);
        final long lo = b.getLong(at + 8);
        return hi == 0 && lo == 0 ? null : new UUID(hi, lo);
    }
}
