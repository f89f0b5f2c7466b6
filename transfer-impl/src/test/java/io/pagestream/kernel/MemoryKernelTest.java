package io.pagestream.kernel;

import org.agrona.UnsafeApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Linux memory kernel against what the kernel itself reports (/proc/self/smaps), its fallback paths against its
 * native ones, and its argument checks.
 */
class MemoryKernelTest
{
    private static final int PAGE = 4096;
    private static final long MIB = 1 << 20;

    private MemoryKernel kernel;
    private long address;
    private long length;

    @BeforeEach
    void setUp()
    {
        assumeTrue(Libc.AVAILABLE, "Linux FFM kernel calls unavailable: " + Libc.UNAVAILABLE_REASON);
        kernel = MemoryKernel.create();
        assertThat(kernel).isInstanceOf(LinuxMemoryKernel.class);
    }

    @AfterEach
    void tearDown()
    {
        if (address != 0)
        {
            kernel.unmap(address, length);
        }
    }

    private long map(final long lengthBytes)
    {
        length = lengthBytes;
        address = kernel.mapAnonymous(lengthBytes, false);
        return address;
    }

    @Test
    void shouldPopulateAFreshMappingWithOneCallAndShowItInRss()
    {
        map(64 * MIB);
        assertThat(ProcSelf.smapsBytes(address, "Rss")).isLessThan(length);

        kernel.populateWrite(address, length);

        assertThat(ProcSelf.smapsBytes(address, "Rss")).isGreaterThanOrEqualTo(length);
        final long[] bitmap = new long[(int)(length / PAGE / 64)];
        assertThat(kernel.populatedPages(address, length, PAGE, bitmap)).isEqualTo(length / PAGE);
        assertThat(kernel.stats().count(KernelStats.Path.POPULATE_MADVISE)).isEqualTo(1);
        assertThat(kernel.stats().count(KernelStats.Path.POPULATED_PAGEMAP_SCAN)).isEqualTo(1);
    }

    @Test
    void shouldPopulateForReadWithoutChangingContents()
    {
        map(MIB);
        UnsafeApi.putLong(address + 5 * PAGE, 0x1234_5678L);

        kernel.populateRead(address, length);

        final long[] bitmap = new long[4];
        assertThat(kernel.populatedPages(address, length, PAGE, bitmap)).isEqualTo(length / PAGE);
        assertThat(UnsafeApi.getLong(address + 5 * PAGE)).isEqualTo(0x1234_5678L);
        assertThat(UnsafeApi.getLong(address + 6 * PAGE)).isZero();
    }

    @Test
    void shouldMapExactlyThePagesTouchedInASparseMappingOnEveryPath()
    {
        map(8 * MIB);
        final long pages = length / PAGE;
        final long[] touched = { 0, 1, 2, 63, 64, 65, 700, 701, 1024, 1500, 2047 };
        final long[] expected = new long[(int)(pages / 64)];
        for (final long page : touched)
        {
            UnsafeApi.putByte(address + page * PAGE, (byte)1);
            expected[(int)(page >>> 6)] |= 1L << page;
        }

        final long[] scanned = new long[expected.length];
        assertThat(kernel.populatedPages(address, length, PAGE, scanned)).isEqualTo(touched.length);
        assertThat(scanned).isEqualTo(expected);

        final LinuxMemoryKernel reading = new LinuxMemoryKernel(false, true);
        final long[] read = new long[expected.length];
        assertThat(reading.populatedPages(address, length, PAGE, read)).isEqualTo(touched.length);
        assertThat(read).isEqualTo(expected);
        assertThat(reading.stats().count(KernelStats.Path.POPULATED_PAGEMAP_READ)).isEqualTo(1);
        assertThat(reading.stats().count(KernelStats.Path.POPULATED_PAGEMAP_SCAN)).isZero();
        assertThat(reading.stats().describe()).contains("populated-map: /proc/self/pagemap 1");

        final PortableMemoryKernel portable = new PortableMemoryKernel("forced by the test");
        final long[] assumed = new long[expected.length];
        assertThat(portable.populatedPages(address, length, PAGE, assumed)).isEqualTo(pages);
        assertThat(portable.stats().fallbackCount(KernelStats.Operation.POPULATED_MAP)).isEqualTo(1);
        assertThat(portable.stats().describe()).contains("populated-map: assume-all 1");
    }

    @Test
    void shouldMapPopulatedPagesOfALargerPageSizeAndLeaveBitsPastTheRangeAlone()
    {
        map(2 * MIB);
        final int pageSize = 64 * 1024;
        final long base = (address + pageSize - 1) & -pageSize;
        UnsafeApi.putByte(base, (byte)1);             // 64 KiB page 0
        UnsafeApi.putByte(base + 17 * PAGE, (byte)1); // page 1
        UnsafeApi.putByte(base + 18 * PAGE, (byte)1); // page 1 again
        UnsafeApi.putByte(base + 83 * PAGE, (byte)1); // page 5

        final long[] bitmap = { -1L };
        assertThat(kernel.populatedPages(base, MIB, pageSize, bitmap)).isEqualTo(3);
        assertThat(bitmap[0]).isEqualTo(0b100011L | (-1L << 16));

        final long[] read = { 0 };
        assertThat(new LinuxMemoryKernel(false, true).populatedPages(base, MIB, pageSize, read)).isEqualTo(3);
        assertThat(read[0]).isEqualTo(0b100011L);
        assertThatThrownBy(() -> kernel.populatedPages(base + PAGE, MIB, pageSize, read))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not aligned to 65536 bytes");
    }

    @Test
    void shouldPopulateByTouchingWhenTheAdviceIsNotUsedAndCountIt()
    {
        map(2 * MIB);
        final LinuxMemoryKernel touching = new LinuxMemoryKernel(true, false);
        UnsafeApi.putLong(address + PAGE, 42L);

        touching.populateWrite(address, length);

        final long[] bitmap = new long[8];
        assertThat(kernel.populatedPages(address, length, PAGE, bitmap)).isEqualTo(length / PAGE);
        assertThat(UnsafeApi.getLong(address + PAGE)).isEqualTo(42L);
        assertThat(touching.stats().count(KernelStats.Path.POPULATE_TOUCH)).isEqualTo(1);
        assertThat(touching.stats().describe()).contains("populate: touch 1");
    }

    @Test
    void shouldReleasePagesWithDontNeedSoTheyReadAsZero()
    {
        map(MIB);
        kernel.populateWrite(address, length);
        UnsafeApi.putLong(address + 3 * PAGE, 99L);

        assertThat(kernel.dontNeed(address + 2 * PAGE, 2 * PAGE)).isTrue();

        final long[] bitmap = new long[4];
        assertThat(kernel.populatedPages(address, length, PAGE, bitmap)).isEqualTo(length / PAGE - 2);
        assertThat(bitmap[0] & 0b1100L).isZero();
        assertThat(UnsafeApi.getLong(address + 3 * PAGE)).isZero();
    }

    @Test
    void shouldAdviseHugePagesAndCountThePathTaken()
    {
        map(4 * MIB);
        final boolean thp = Files.exists(
            Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));

        assertThat(kernel.adviseHugePages(address, length)).isEqualTo(thp);

        assertThat(kernel.stats().count(
            thp ? KernelStats.Path.HUGEPAGE_MADVISE : KernelStats.Path.HUGEPAGE_SKIPPED)).isEqualTo(1);
    }

    @Test
    void shouldFallBackInTheJavaImplementationAndCountEveryCall()
    {
        final PortableMemoryKernel portable = new PortableMemoryKernel("forced by the test");
        final long mapped = portable.mapAnonymous(MIB, false);
        try
        {
            assertThat(mapped & (portable.systemPageSize() - 1)).isZero();
            assertThat(UnsafeApi.getLong(mapped + MIB - 8)).isZero();
            portable.populateWrite(mapped, MIB);
            assertThat(portable.dontNeed(mapped, MIB)).isFalse();
            assertThat(portable.adviseHugePages(mapped, MIB)).isFalse();
            assertThatThrownBy(() -> portable.memfdCreate("x", MIB, false))
                .isInstanceOfSatisfying(KernelCallException.class, ex -> assertThat(ex.isUnsupported()).isTrue())
                .hasMessageContaining("memfd_create(x)").hasMessageContaining("forced by the test");
        }
        finally
        {
            portable.unmap(mapped, MIB);
        }
        final KernelStats stats = portable.stats();
        assertThat(stats.fallbackCount(KernelStats.Operation.POPULATE)).isEqualTo(1);
        assertThat(stats.nativeCount(KernelStats.Operation.POPULATE)).isZero();
        assertThat(stats.describe()).startsWith("portable (forced by the test): populate: touch 1; dontneed: kept 1")
            .contains("memfd: unavailable 1").contains("map: java 1").contains("unmap: java 1");
        assertThatThrownBy(() -> portable.unmap(mapped, MIB)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("not mapped by this kernel");
    }

    @Test
    void shouldDescribeThePathsTakenAndThoseNotYetUsed()
    {
        map(MIB);
        kernel.populateWrite(address, length);
        final String description = kernel.stats().describe();
        assertThat(description).startsWith("linux-ffm " + Libc.ARCH + ": populate: madvise 1; ")
            .contains("populated-map: PAGEMAP_SCAN (unused)").contains("map: mmap 1");
    }

    @Test
    void shouldNameWhatIsWrongWithBadArguments()
    {
        map(MIB);
        assertThatThrownBy(() -> kernel.populateWrite(address + 1, PAGE))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("madvise(MADV_POPULATE_WRITE)")
            .hasMessageContaining("0x" + Long.toHexString(address + 1)).hasMessageContaining("not aligned to 4096");
        assertThatThrownBy(() -> kernel.populateRead(address, 0))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lengthBytes must be positive: 0");
        assertThatThrownBy(() -> kernel.dontNeed(address, 100))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lengthBytes 100 is not a multiple");
        assertThatThrownBy(() -> kernel.populateWrite(Checks.USER_ADDRESS_LIMIT - PAGE, 2 * PAGE))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out of range");
        assertThatThrownBy(() -> kernel.populatedPages(address, length, PAGE, new long[3]))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("bitmap of 3 words holds 192 pages, the range has 256");
        assertThatThrownBy(() -> kernel.populatedPages(address, length, 3000, new long[4]))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pageSizeBytes 3000");
        assertThatThrownBy(() -> kernel.mapAnonymous(-PAGE, false))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lengthBytes must be positive");
    }

    @Test
    void shouldNameTheCallTheRangeAndTheErrnoWhenTheKernelFails()
    {
        final long unmapped = kernel.mapAnonymous(MIB, false);
        kernel.unmap(unmapped, MIB);

        assertThatThrownBy(() -> kernel.populateWrite(unmapped, MIB))
            .isInstanceOfSatisfying(KernelCallException.class, ex ->
            {
                assertThat(ex.errno()).isEqualTo(Errno.ENOMEM);
                assertThat(ex.call()).isEqualTo(
                    "madvise(MADV_POPULATE_WRITE) address=0x" + Long.toHexString(unmapped) + " lengthBytes=" + MIB);
            })
            .hasMessageEndingWith("failed: ENOMEM (Cannot allocate memory)");
    }
}
