package io.pagestream.receiving;

import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.MappedGuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.PageMapFlyweight;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Target memory committed in batches and only for data; stale bytes found by asking the kernel: fresh anonymous
 * memory, memory written before, and a file pre-filled with 0xFF (which must be cleared where the source has zeros).
 */
class MemoryCommitterTest
{
    private static final int PAGE = 4096;
    private static final long PAGES = 4096;

    private final MemoryKernel kernel = MemoryKernel.create();
    private GuestMemory memory;
    private Path file;

    @AfterEach
    void tearDown() throws IOException
    {
        if (null != memory)
        {
            memory.close();
        }
        if (null != file)
        {
            Files.deleteIfExists(file);
        }
    }

    private static UnsafeBuffer dataMap(final long pageCount, final int firstWord, final long... words)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[PageMapFlyweight.frameLength(words.length)]);
        final PageMapFlyweight map = new PageMapFlyweight();
        map.wrap(buffer, 0);
        map.writeHeader(FrameType.DATA_MAP, PageMapFlyweight.frameLength(words.length), 1);
        final int total = (int)((pageCount + 63) / 64);
        map.chunk(firstWord, words.length, total, firstWord + words.length == total);
        for (int i = 0; i < words.length; i++)
        {
            map.word(i, words[i]);
        }
        return buffer;
    }

    private long populated()
    {
        final long[] bitmap = new long[(int)(PAGES / 64)];
        return kernel.populatedPages(memory.pageAddress(0), PAGES * PAGE, PAGE, bitmap);
    }

    @Test
    void shouldCommitTheDataPagesOfAWindowInOneCallPerRunAndNoZeroPage()
    {
        assumeTrue(kernel.stats().describe().startsWith("linux"), "needs the Linux kernel calls");
        memory = MappedGuestMemory.anonymous(kernel, PAGES * PAGE, PAGE, false);
        final MemoryCommitter committer = new MemoryCommitter(memory, kernel, true);
        // Window 0 (pages 0-511): runs 0-3 and 64-127; window 1: page 600.
        final UnsafeBuffer frame = dataMap(PAGES, 0, 0b1111L, -1L, 0, 0, 0, 0, 0, 0, 0, 1L << (600 - 576));
        committer.onDataMap(frame, 0, frame.capacity());
        assertThat(committer.dataMapFrames()).isEqualTo(1);

        committer.beforeWrite(2);
        assertThat(committer.populateCalls()).isEqualTo(2);
        assertThat(committer.pagesCommitted()).isEqualTo(68);
        assertThat(populated()).as("only the data pages of window 0").isEqualTo(68);

        committer.beforeWrite(100);
        assertThat(committer.populateCalls()).as("a window is committed once").isEqualTo(2);
        committer.beforeWrite(600);
        assertThat(committer.pagesCommitted()).isEqualTo(69);
        committer.beforeWrite(3000);
        assertThat(committer.pagesCommitted()).as("a window without data commits nothing").isEqualTo(69);
        assertThat(populated()).isEqualTo(69);
    }

    @Test
    void shouldTakeOnlyPagesThatHeldBytesForOnesToClear()
    {
        assumeTrue(kernel.stats().describe().startsWith("linux"), "needs the Linux kernel calls");
        memory = MappedGuestMemory.anonymous(kernel, PAGES * PAGE, PAGE, false);
        UnsafeApi.putByte(memory.pageAddress(77), (byte)1); // used before the migration
        final MemoryCommitter committer = new MemoryCommitter(memory, kernel, true);
        assertThat(committer.mayHoldOldBytes(77)).isTrue();
        assertThat(committer.mayHoldOldBytes(78)).isFalse();
        assertThat(committer.stalePagesCleared()).isEqualTo(1);

        final MemoryCommitter distrusting = new MemoryCommitter(memory, kernel, false);
        assertThat(distrusting.mayHoldOldBytes(78)).as("memoryZeroed(false): every zero page is written").isTrue();
    }

    @Test
    void shouldTakeEveryPageOfAFilePreFilledWithOnesForOneToClear() throws IOException
    {
        assumeTrue(kernel.stats().describe().startsWith("linux"), "needs the Linux kernel calls");
        file = Files.createTempFile(Path.of("/dev/shm"), "pagestream-target-", ".mem");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            final byte[] ones = new byte[1 << 20];
            java.util.Arrays.fill(ones, (byte)0xFF);
            for (long done = 0; done < PAGES * PAGE; done += ones.length)
            {
                raf.write(ones);
            }
        }
        memory = MappedGuestMemory.file(kernel, file, PAGES * PAGE, PAGE, true);
        final MemoryCommitter committer = new MemoryCommitter(memory, kernel, true);
        for (long page = 0; page < PAGES; page++)
        {
            assertThat(committer.mayHoldOldBytes(page)).as("page %d", page).isTrue();
        }
    }

    @Test
    void shouldTakeTheHolesOfASparseFileForZero() throws IOException
    {
        assumeTrue(kernel.stats().describe().startsWith("linux"), "needs the Linux kernel calls");
        file = Files.createTempFile(Path.of("/dev/shm"), "pagestream-target-", ".mem");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(PAGES * PAGE);
            raf.seek(9L * PAGE);
            raf.write(0x55);
        }
        memory = MappedGuestMemory.file(kernel, file, PAGES * PAGE, PAGE, true);
        final MemoryCommitter committer = new MemoryCommitter(memory, kernel, true);
        for (long page = 0; page < PAGES; page++)
        {
            assertThat(committer.mayHoldOldBytes(page)).as("page %d", page).isEqualTo(page == 9);
        }
    }
}
