package io.pagestream.kernel;

import io.pagestream.api.guest.GuestMemory;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.agrona.UnsafeApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Which pages may hold data, against real mappings: anonymous memory over several chunks and odd-sized regions,
 * sparse files mapped shared and private (with read-ahead of file pages not mapped yet), the portable kernel's
 * conservative answer, and the parsing of /proc/self/maps lines.
 */
class GuestPageScanTest
{
    private static final int PAGE = 4096;

    private final MemoryKernel kernel = MemoryKernel.create();
    private long mapped;
    private long mappedBytes;
    private Path file;

    @AfterEach
    void tearDown() throws IOException
    {
        if (mapped != 0)
        {
            kernel.unmap(mapped, mappedBytes);
        }
        if (null != file)
        {
            Files.deleteIfExists(file);
        }
    }

    private long mapAnonymous(final long pages)
    {
        mappedBytes = pages * PAGE;
        mapped = kernel.mapAnonymous(mappedBytes, false);
        return mapped;
    }

    @Test
    void shouldFindExactlyTheWrittenPagesOfAnonymousMemoryWithoutCommittingTheRest()
    {
        assumeTrue(Libc.AVAILABLE, Libc.UNAVAILABLE_REASON);
        final long pages = 2L * GuestPageScan.CHUNK_PAGES + 777; // three chunks, the last one partial
        final long base = mapAnonymous(pages);
        final long[] written = { 0, 3, 63, 64, 200, GuestPageScan.CHUNK_PAGES - 1, GuestPageScan.CHUNK_PAGES + 5,
            pages - 1 };
        for (final long page : written)
        {
            UnsafeApi.putLong(base + page * PAGE + 8, page + 1);
        }
        final GuestMemory memory = GuestMemory.wrap(PAGE, new long[]{ base }, new long[]{ pages * PAGE });
        final GuestPageScan scan = new GuestPageScan(kernel, memory);

        for (long page = 0; page < pages; page++)
        {
            assertThat(scan.mayHoldData(page)).as("page %d", page).isEqualTo(contains(written, page));
        }
        assertThat(scan.pagesScanned()).isEqualTo(pages);
        assertThat(scan.pagesWithData()).isEqualTo(written.length);
        assertThat(scan.unknownPages()).isZero();
        assertThat(scan.fileMappings()).isZero();

        final long[] bitmap = new long[(int)((pages + 63) / 64)];
        assertThat(kernel.populatedPages(base, pages * PAGE, PAGE, bitmap)).as("asking committed nothing")
            .isEqualTo(written.length);
    }

    @Test
    void shouldPlaceEachRegionsPagesAtTheirGuestIndexWhenRegionsAreNotWordAligned()
    {
        assumeTrue(Libc.AVAILABLE, Libc.UNAVAILABLE_REASON);
        final long base = mapAnonymous(300);
        // Three regions of 100, 37 and 100 pages, with gaps between them in the mapping.
        final long[] addresses = { base, base + 120L * PAGE, base + 180L * PAGE };
        final long[] lengths = { 100L * PAGE, 37L * PAGE, 100L * PAGE };
        final GuestMemory memory = GuestMemory.wrap(PAGE, addresses, lengths);
        final long[] guestPages = { 0, 99, 100, 136, 137, 200, 236 };
        for (final long page : guestPages)
        {
            UnsafeApi.putByte(memory.pageAddress(page), (byte)1);
        }
        UnsafeApi.putByte(base + 110L * PAGE, (byte)1); // in a gap: not guest memory

        final GuestPageScan scan = new GuestPageScan(kernel, memory);
        for (long page = 0; page < memory.pageCount(); page++)
        {
            assertThat(scan.mayHoldData(page)).as("page %d", page).isEqualTo(contains(guestPages, page));
        }
    }

    @Test
    void shouldFindFileDataThatIsNotMappedYetAndMapItAheadOfReading() throws IOException
    {
        assumeTrue(Libc.AVAILABLE, Libc.UNAVAILABLE_REASON);
        final long pages = 4096;
        file = Files.createTempFile(Path.of("/dev/shm"), "pagestream-scan-", ".mem");
        writeSparse(pages, 10, 11, 12, 2000, 4095);
        mappedBytes = pages * PAGE;
        mapped = kernel.mapFile(file, 0, mappedBytes, true);
        final GuestMemory memory = GuestMemory.wrap(PAGE, new long[]{ mapped }, new long[]{ mappedBytes });
        final GuestPageScan scan = new GuestPageScan(kernel, memory);

        assertThat(scan.fileMappings()).isEqualTo(1);
        final long[] data = { 10, 11, 12, 2000, 4095 };
        for (long page = 0; page < pages; page++)
        {
            assertThat(scan.mayHoldData(page)).as("page %d", page).isEqualTo(contains(data, page));
        }
        final long[] bitmap = new long[(int)(pages / 64)];
        assertThat(kernel.populatedPages(mapped, mappedBytes, PAGE, bitmap)).as("nothing mapped yet").isZero();

        scan.readAhead(0, 512);
        assertThat(scan.pagesReadAhead()).isEqualTo(3);
        assertThat(scan.readAheadCalls()).as("one call for the run 10-12").isEqualTo(1);
        assertThat(kernel.populatedPages(mapped, mappedBytes, PAGE, bitmap)).isEqualTo(3);
        assertThat(bitmap[0]).isEqualTo(0b111L << 10);
        assertThat(UnsafeApi.getByte(mapped + 11L * PAGE + 100)).isEqualTo((byte)7);

        scan.readAhead(0, 512);
        assertThat(scan.pagesReadAhead()).as("each page is mapped ahead once").isEqualTo(3);
    }

    @Test
    void shouldCountPagesWrittenThroughAPrivateFileMappingAndTheFilesData() throws IOException
    {
        assumeTrue(Libc.AVAILABLE, Libc.UNAVAILABLE_REASON);
        final long pages = 1024;
        file = Files.createTempFile(Path.of("/dev/shm"), "pagestream-scan-", ".mem");
        writeSparse(pages, 5);
        mappedBytes = pages * PAGE;
        mapped = kernel.mapFile(file, 0, mappedBytes, false);
        UnsafeApi.putByte(mapped + 700L * PAGE, (byte)9); // copy on write: an anonymous page in a file mapping
        final GuestMemory memory = GuestMemory.wrap(PAGE, new long[]{ mapped }, new long[]{ mappedBytes });
        final GuestPageScan scan = new GuestPageScan(kernel, memory);

        for (long page = 0; page < pages; page++)
        {
            assertThat(scan.mayHoldData(page)).as("page %d", page).isEqualTo(page == 5 || page == 700);
        }
    }

    @Test
    void shouldTakeEveryPageForDataWhereTheKernelCannotTell()
    {
        final long pages = 200;
        try (GuestMemory memory = GuestMemory.allocate(pages * PAGE, PAGE))
        {
            final GuestPageScan scan = new GuestPageScan(new PortableMemoryKernel("test: no native calls"), memory);
            for (long page = 0; page < pages; page++)
            {
                assertThat(scan.mayHoldData(page)).isTrue();
            }
            assertThat(scan.pagesWithData()).isEqualTo(pages);
        }
    }

    @Test
    void shouldParseFileBackedMappingsAndLeavePrivateAnonymousOnesOut()
    {
        final MappedRanges ranges = MappedRanges.parse(List.of(
            "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 ",
            "7f0000100000-7f0000200000 rw-s 00002000 00:17 4242                       /dev/shm/guest ram.mem",
            "7f0000200000-7f0000400000 rw-s 00000000 00:01 77                         /memfd:guest (deleted)",
            "7f0000400000-7f0000600000 rw-p 00000000 00:0f 88                         /anon_hugepage (deleted)",
            "7f0000600000-7f0000800000 rw-s 00000000 00:0f 89                         /anon_hugepage (deleted)",
            "7f0000800000-7f0000900000 r--p 00000000 08:01 99                         /usr/lib/libc.so.6",
            "garbage line",
            "7f0000900000-7f0000a00000 rw-p 00000000 00:00 0                          [heap]"),
            new long[]{ 0x7f0000000000L }, new long[]{ 0x7f0000800000L });

        assertThat(ranges.known()).isTrue();
        final MappedRanges.Range[] found = ranges.ranges();
        assertThat(found).hasSize(3);
        assertThat(found[0].file).isEqualTo(Path.of("/dev/shm/guest ram.mem"));
        assertThat(found[0].fileOffset).isEqualTo(0x2000);
        assertThat(found[0].shared).isTrue();
        assertThat(found[1].file).isEqualTo(Path.of("/proc/self/map_files/7f0000200000-7f0000400000"));
        assertThat(found[2].start).isEqualTo(0x7f0000600000L);
        assertThat(found[2].file.toString()).startsWith("/proc/self/map_files/");
    }

    @Test
    void shouldCountOnlyFileMappingsThatOverlapAGuestRegion()
    {
        final List<String> maps = List.of(
            "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 ",
            "7f0000100000-7f0000300000 rw-s 00000000 00:17 4242                       /dev/shm/unrelated",
            "7f0000300000-7f0000400000 rw-p 00000000 00:00 0 ",
            "7f0000400000-7f0000500000 r--p 00000000 08:01 99                         /usr/lib/libc.so.6");
        // Two guest regions, in either order, with an unrelated shared file mapped in the gap between them.
        final long[] starts = { 0x7f0000300000L, 0x7f0000000000L };
        final long[] ends = { 0x7f0000400000L, 0x7f0000100000L };

        final MappedRanges gap = MappedRanges.parse(maps, starts, ends);
        assertThat(gap.known()).isTrue();
        assertThat(gap.ranges()).as("a mapping between guest regions is not guest memory").isEmpty();

        // A region that reaches one page into a file mapping, on either side, counts it.
        final MappedRanges low = MappedRanges.parse(maps, new long[]{ 0x7f0000000000L },
            new long[]{ 0x7f0000101000L });
        final MappedRanges high = MappedRanges.parse(maps, new long[]{ 0x7f00002ff000L, 0x7f0000400000L },
            new long[]{ 0x7f0000300000L, 0x7f0000401000L });
        assertThat(low.ranges()).hasSize(1);
        assertThat(high.ranges()).hasSize(2);
        assertThat(high.ranges()[0].file).isEqualTo(Path.of("/dev/shm/unrelated"));
    }

    @Test
    void shouldNotKnowTheMappingsWhenTheyCannotBeRead()
    {
        final MappedRanges unreadable = MappedRanges.read(Path.of("/proc/self/no-such-maps"),
            new long[]{ 0x7f0000000000L }, new long[]{ 0x7f0000100000L });

        assertThat(unreadable.known()).isFalse();
        assertThat(unreadable.ranges()).isEmpty();
    }

    @Test
    void shouldLeaveOutAFileMappedForRealInTheGapBetweenGuestRegions()
    {
        assumeTrue(Libc.AVAILABLE, Libc.UNAVAILABLE_REASON);
        final int mapFixed = 0x10;
        final long base = mapAnonymous(300);
        final int fd = kernel.memfdCreate("pagestream-gap", 100L * PAGE, false);
        try
        {
            // Pages 100-199 of the anonymous mapping become a shared memfd mapping.
            final long middle = Libc.mmap(base + 100L * PAGE, 100L * PAGE, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_SHARED | mapFixed, fd, 0);
            assertThat(middle).isEqualTo(base + 100L * PAGE);
        }
        finally
        {
            kernel.closeFd(fd);
        }
        final GuestMemory aroundTheGap = GuestMemory.wrap(PAGE, new long[]{ base, base + 200L * PAGE },
            new long[]{ 100L * PAGE, 100L * PAGE });
        final GuestMemory overTheFile = GuestMemory.wrap(PAGE, new long[]{ base, base + 150L * PAGE },
            new long[]{ 100L * PAGE, 100L * PAGE });

        assertThat(GuestPageScan.fileMappingsUnder(aroundTheGap)).isZero();
        assertThat(new GuestPageScan(kernel, aroundTheGap).fileMappings()).isZero();
        assertThat(GuestPageScan.fileMappingsUnder(overTheFile)).isEqualTo(1);
    }

    @Property(tries = 300)
    void orShiftedShouldMatchABitAtATimeCopy(
        @ForAll final long seed,
        @ForAll @IntRange(min = 0, max = 400) final int count,
        @ForAll @LongRange(min = 0, max = 300) final long targetBit)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final long[] source = new long[8];
        final long[] target = new long[14];
        final long[] fresh = new long[14];
        for (int i = 0; i < source.length; i++)
        {
            source[i] = random.nextLong();
        }
        for (int i = 0; i < target.length; i++)
        {
            target[i] = random.nextLong() & random.nextLong();
        }
        final long[] expectedTarget = target.clone();
        final long[] expectedFresh = new long[14];
        for (long i = 0; i < count; i++)
        {
            if ((source[(int)(i >>> 6)] & (1L << i)) != 0)
            {
                final long bit = targetBit + i;
                if ((expectedTarget[(int)(bit >>> 6)] & (1L << bit)) == 0)
                {
                    expectedFresh[(int)(bit >>> 6)] |= 1L << bit;
                }
                expectedTarget[(int)(bit >>> 6)] |= 1L << bit;
            }
        }
        GuestPageScan.orShifted(source, count, target, targetBit, fresh);
        assertThat(target).isEqualTo(expectedTarget);
        assertThat(fresh).isEqualTo(expectedFresh);
    }

    private void writeSparse(final long pages, final long... dataPages) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(pages * PAGE);
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            for (final long page : dataPages)
            {
                channel.write(ByteBuffer.wrap(new byte[]{ 7 }), page * PAGE + 100);
            }
        }
    }

    private static boolean contains(final long[] values, final long value)
    {
        for (final long v : values)
        {
            if (v == value)
            {
                return true;
            }
        }
        return false;
    }
}
