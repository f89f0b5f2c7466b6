package io.pagestream.snapshot;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.api.guest.VcpuControl;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.synthetic.SoftwareDirtyLog;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.agrona.UnsafeApi;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Snapshot chains of any shape: for any sequence of writes (data, zeros, a page's own bytes written again) between a
 * full snapshot and up to four incremental ones, over guest memory of one to three regions, restoring, mapping or
 * merging any snapshot of the chain gives exactly the memory at that snapshot; and any single flipped byte in any
 * file of the chain is refused, or changes nothing restored (a byte of a page the file defines as zero is never
 * read), and a mapped restore that shows it fails {@link MappedSnapshot#verifyPages()}.
 */
class SnapshotProperties
{
    private static final int PAGE = 4096;
    private static final MemoryKernel KERNEL = MemoryKernel.create();
    private static final Set<ErrorCode> REFUSALS =
        Set.of(ErrorCode.SNAPSHOT_INVALID, ErrorCode.CHECKSUM_MISMATCH, ErrorCode.UNSUPPORTED_VERSION);

    @Property(tries = 150)
    void everySnapshotOfAChainRestoresMapsAndMergesExactly(
        @ForAll @IntRange(min = 1, max = 200) final int pages,
        @ForAll @IntRange(min = 1, max = 3) final int regions,
        @ForAll @Size(max = 120) final List<@IntRange(min = 0, max = 1 << 24) Integer> ops,
        @ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) final int pick,
        @ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) final int flipAt) throws IOException
    {
        final Path dir = Files.createTempDirectory("snapshot-props");
        final int regionCount = Math.min(regions, pages);
        try (MappedGuestMemory block = MappedGuestMemory.anonymous(KERNEL, (long)pages * PAGE, PAGE, false))
        {
            final long[] addresses = new long[regionCount];
            final long[] lengths = new long[regionCount];
            for (int r = 0, first = 0; r < regionCount; r++)
            {
                final int count = r == regionCount - 1 ? pages - first : Math.max(1, pages / regionCount);
                addresses[r] = block.address() + (long)first * PAGE;
                lengths[r] = (long)count * PAGE;
                first += count;
            }
            final GuestMemory memory = GuestMemory.wrap(PAGE, addresses, lengths);
            final SoftwareDirtyLog log = new SoftwareDirtyLog(pages);
            final List<Path> files = new ArrayList<>();
            final List<byte[]> expected = new ArrayList<>();
            try (GuestSnapshots snapshots = GuestSnapshots.open(new GuestSnapshots.Context().guestMemory(memory)
                .dirtyPageLog(log).vcpuControl(new IdleVcpus())))
            {
                files.add(snapshots.full(dir.resolve("s0.snap")).file());
                expected.add(copy(memory));
                for (final int op : ops)
                {
                    final long page = (op >>> 2) % pages;
                    final long at = memory.pageAddress(page);
                    switch (op & 3)
                    {
                        case 0:
                            UnsafeApi.setMemory(at + (op & 0xFF0), 16, (byte)(op >>> 8 | 1));
                            break;
                        case 1:
                            UnsafeApi.setMemory(at, PAGE, (byte)0);
                            break;
                        case 2:
                            UnsafeApi.putLong(at, UnsafeApi.getLong(at)); // the same bytes written again
                            break;
                        default:
                            if (files.size() < 5)
                            {
                                files.add(snapshots.incremental(dir.resolve("s" + files.size() + ".snap")).file());
                                expected.add(copy(memory));
                            }
                            continue;
                    }
                    log.markDirty(page);
                }
            }
            final int tip = pick % files.size();
            final Path file = files.get(tip);
            assertRestores(file, expected.get(tip), memory);
            try (MappedSnapshot mapped = Snapshots.map(file))
            {
                assertThat(copy(mapped.memory())).isEqualTo(expected.get(tip));
                assertThat(mapped.verifyPages()).isEqualTo(pages);
            }
            final SnapshotInfo merged = Snapshots.merge(file, dir.resolve("merged.snap"));
            assertThat(merged.isFull()).isTrue();
            assertRestores(merged.file(), expected.get(tip), memory);

            // One flipped byte in one file of the chain.
            final Path victim = files.get(flipAt % (tip + 1));
            final long offset = (flipAt / 7) % Files.size(victim);
            flip(victim, offset, 0x01);
            try (MappedGuestMemory fresh = MappedGuestMemory.anonymous(KERNEL, (long)pages * PAGE, PAGE, false))
            {
                try
                {
                    Snapshots.restore(file, wrapLike(fresh, memory), null, true);
                    assertThat(copy(fresh)).as("flip at %d of %s changed nothing restored", offset, victim)
                        .isEqualTo(expected.get(tip));
                }
                catch (final MigrationException ex)
                {
                    assertThat(REFUSALS).contains(ex.errorCode());
                    assertThat(ex.getMessage()).contains(dir.toString());
                }
            }
            try (MappedSnapshot mapped = Snapshots.map(file))
            {
                if (!java.util.Arrays.equals(copy(mapped.memory()), expected.get(tip)))
                {
                    try
                    {
                        mapped.verifyPages();
                        fail("a mapped snapshot that differs from the memory it was taken of passed verifyPages");
                    }
                    catch (final MigrationException ex)
                    {
                        assertThat(ex.errorCode()).isEqualTo(ErrorCode.CHECKSUM_MISMATCH);
                    }
                }
            }
            catch (final MigrationException ex)
            {
                assertThat(REFUSALS).contains(ex.errorCode());
            }
        }
        finally
        {
            try (Stream<Path> all = Files.walk(dir))
            {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void assertRestores(final Path file, final byte[] expected, final GuestMemory layout)
    {
        try (MappedGuestMemory fresh = MappedGuestMemory.anonymous(KERNEL, layout.sizeBytes(), PAGE, false))
        {
            Snapshots.restore(file, wrapLike(fresh, layout), null, true);
            assertThat(copy(fresh)).isEqualTo(expected);
            // Over memory holding something else: every page is written, zeros included.
            UnsafeApi.setMemory(fresh.address(), layout.sizeBytes(), (byte)0x5A);
            Snapshots.restore(file, wrapLike(fresh, layout), null, false);
            assertThat(copy(fresh)).isEqualTo(expected);
        }
    }

    /** The fresh block cut into the same regions as the guest's. */
    private static GuestMemory wrapLike(final MappedGuestMemory block, final GuestMemory layout)
    {
        final long[] addresses = new long[layout.regionCount()];
        final long[] lengths = new long[layout.regionCount()];
        long at = block.address();
        for (int r = 0; r < layout.regionCount(); r++)
        {
            addresses[r] = at;
            lengths[r] = layout.regionLengthBytes(r);
            at += lengths[r];
        }
        return GuestMemory.wrap(PAGE, addresses, lengths);
    }

    private static byte[] copy(final GuestMemory memory)
    {
        final byte[] bytes = new byte[(int)memory.sizeBytes()];
        for (long p = 0; p < memory.pageCount(); p++)
        {
            UnsafeApi.copyMemory(null, memory.pageAddress(p), bytes,
                UnsafeApi.arrayBaseOffset(byte[].class) + p * PAGE, PAGE);
        }
        return bytes;
    }

    /**
     * Flip bits of one byte of a file in place.
     *
     * @param file   the file.
     * @param offset of the byte.
     * @param mask   the bits to flip.
     * @throws IOException if the file cannot be written.
     */
    static void flip(final Path file, final long offset, final int mask) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(offset);
            final int b = raf.read();
            raf.seek(offset);
            raf.write(b ^ mask);
        }
    }

    /** No vCPUs: the test writes memory itself, between snapshots. */
    static final class IdleVcpus implements VcpuControl
    {
        public void pause()
        {
        }

        public void resume()
        {
        }

        public void throttle(final double fraction)
        {
        }
    }
}
