package io.pagestream.kernel;

import org.agrona.UnsafeApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Files and shared memory: data extents of sparse tmpfs files and memfds, memfd shared by two mappings, private
 * (copy-on-write) mappings of a file.
 */
class FileMemoryTest
{
    private static final int PAGE = 4096;
    private static final long MIB = 1 << 20;

    private MemoryKernel kernel;
    private Path file;

    @BeforeEach
    void setUp() throws IOException
    {
        assumeTrue(Libc.AVAILABLE, "Linux FFM kernel calls unavailable: " + Libc.UNAVAILABLE_REASON);
        kernel = MemoryKernel.create();
        file = Files.createTempFile(Path.of("/dev/shm"), "pagestream-kernel-", ".mem");
    }

    @AfterEach
    void tearDown() throws IOException
    {
        if (null != file)
        {
            Files.deleteIfExists(file);
        }
    }

    private void writeSparse(final long sizeBytes, final long... pages) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(sizeBytes);
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            for (final long page : pages)
            {
                channel.write(ByteBuffer.wrap(new byte[]{ 7 }), page * PAGE + 100);
            }
        }
    }

    @Test
    void shouldFindExactlyThePagesWrittenInASparseShmFile() throws IOException
    {
        writeSparse(MIB, 3, 10, 11, 200, 255);

        final long[] bitmap = { -1L, -1L, -1L, -1L, -1L };
        assertThat(kernel.dataPages(file, 0, MIB, PAGE, bitmap)).isEqualTo(5);
        assertThat(bitmap).containsExactly(
            (1L << 3) | (1L << 10) | (1L << 11), 0, 0, (1L << (200 - 192)) | (1L << (255 - 192)), -1L);
        assertThat(kernel.stats().count(KernelStats.Path.DATA_SEEK)).isEqualTo(1);
    }

    @Test
    void shouldReportDataRelativeToTheOffsetInLargerPagesAndHolesPastTheEnd() throws IOException
    {
        writeSparse(MIB, 3, 17, 200);

        final long[] window = { 0 };
        assertThat(kernel.dataPages(file, 8 * PAGE, 16 * PAGE, PAGE, window)).isEqualTo(1);
        assertThat(window[0]).isEqualTo(1L << (17 - 8));

        final long[] large = { 0 };
        assertThat(kernel.dataPages(file, 0, 4 * MIB, 64 * 1024, large)).isEqualTo(3);
        assertThat(large[0]).isEqualTo((1L) | (1L << 1) | (1L << 12));
    }

    @Test
    void shouldAssumeDataUpToTheEndOfTheFileInThePortableFallback() throws IOException
    {
        writeSparse(MIB, 3);
        final PortableMemoryKernel portable = new PortableMemoryKernel("forced by the test");

        final long[] bitmap = new long[8];
        assertThat(portable.dataPages(file, 0, 2 * MIB, PAGE, bitmap)).isEqualTo(256);
        assertThat(bitmap).containsExactly(-1L, -1L, -1L, -1L, 0, 0, 0, 0);
        assertThat(portable.stats().describe()).contains("data-extents: assume-all 1");
    }

    @Test
    void shouldShareAMemfdBetweenTwoMappingsAndFindItsExtents()
    {
        final int fd = kernel.memfdCreate("pagestream-test", MIB, false);
        long first = 0;
        long second = 0;
        try
        {
            first = kernel.mapFile(fd, 0, MIB, true);
            second = kernel.mapFile(fd, 0, MIB, true);
            assertThat(second).isNotEqualTo(first);

            UnsafeApi.putLong(first + 5 * PAGE, 0xCAFE_BABEL);
            UnsafeApi.putLong(second + 9 * PAGE + 8, 0xFEEDL);

            assertThat(UnsafeApi.getLong(second + 5 * PAGE)).isEqualTo(0xCAFE_BABEL);
            assertThat(UnsafeApi.getLong(first + 9 * PAGE + 8)).isEqualTo(0xFEEDL);
            final long[] bitmap = new long[4];
            assertThat(kernel.dataPages(fd, 0, MIB, PAGE, bitmap)).isEqualTo(2);
            assertThat(bitmap[0]).isEqualTo((1L << 5) | (1L << 9));
        }
        finally
        {
            if (first != 0)
            {
                kernel.unmap(first, MIB);
            }
            if (second != 0)
            {
                kernel.unmap(second, MIB);
            }
            kernel.closeFd(fd);
        }
        assertThat(kernel.stats().describe()).contains("memfd: memfd_create 1").contains("map: mmap 2");
    }

    @Test
    void shouldKeepPrivateMappingWritesOutOfTheFileAndTheSharedMapping() throws IOException
    {
        writeSparse(MIB, 4);
        final long shared = kernel.mapFile(file, 0, MIB, true);
        final long privateCopy = kernel.mapFile(file, 0, MIB, false);
        try
        {
            assertThat(UnsafeApi.getByte(privateCopy + 4 * PAGE + 100)).isEqualTo((byte)7);
            UnsafeApi.putByte(privateCopy + 4 * PAGE + 100, (byte)9);
            UnsafeApi.putByte(shared + 6 * PAGE, (byte)3);

            assertThat(UnsafeApi.getByte(shared + 4 * PAGE + 100)).isEqualTo((byte)7);
            assertThat(Files.readAllBytes(file)[4 * PAGE + 100]).isEqualTo((byte)7);
            assertThat(Files.readAllBytes(file)[6 * PAGE]).isEqualTo((byte)3);
        }
        finally
        {
            kernel.unmap(shared, MIB);
            kernel.unmap(privateCopy, MIB);
        }
    }

    @Test
    void shouldRefuseToMapPastTheEndOfAFileAndNameTheFile() throws IOException
    {
        writeSparse(MIB);
        assertThatThrownBy(() -> kernel.mapFile(file, 0, 2 * MIB, true))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining(file.toString()).hasMessageContaining("shorter than offsetBytes + lengthBytes");
        assertThatThrownBy(() -> kernel.dataPages(file, 100, MIB, PAGE, new long[4]))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offsetBytes 100");
        assertThatThrownBy(() -> kernel.dataPages(-1, 0, MIB, PAGE, new long[4]))
            .isInstanceOfSatisfying(KernelCallException.class, ex -> assertThat(ex.errno()).isEqualTo(Errno.EBADF))
            .hasMessageContaining("fd=-1");
    }
}
