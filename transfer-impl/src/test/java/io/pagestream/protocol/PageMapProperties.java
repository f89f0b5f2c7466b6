package io.pagestream.protocol;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.pages.PageBitmap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * PENDING_MAP / MISSING_MAP: whatever the map and the frame size, the chunks a writer produces validate and rebuild
 * exactly the map; a chunk that goes backwards or names pages past the guest is refused with the right code.
 */
class PageMapProperties
{
    private static final long SESSION = 0x1234L;

    @Property
    void chunksRebuildTheMapExactly(
        @ForAll @LongRange(min = 1, max = 200_000) final long pageCount,
        @ForAll @Size(max = 400) final List<@LongRange(min = 0, max = 199_999) Long> pages,
        @ForAll @IntRange(min = 64, max = 2048) final int maxFrameLength)
    {
        final PageBitmap map = new PageBitmap(pageCount);
        for (final long p : pages)
        {
            if (p < pageCount)
            {
                map.set(p);
            }
        }
        final PageMapWriter writer = new PageMapWriter();
        writer.start(map.words());
        final UnsafeBuffer scratch = new UnsafeBuffer(new byte[maxFrameLength]);
        final PageMapFlyweight reader = new PageMapFlyweight();
        final long[] rebuilt = new long[PageBitmap.wordCount(pageCount)];
        int nextWord = 0;
        int frames = 0;
        boolean last = false;
        while (!last)
        {
            final int length = writer.prepare(scratch, FrameType.MISSING_MAP, SESSION, maxFrameLength);
            assertThat(length).isLessThanOrEqualTo(maxFrameLength);
            reader.wrapForRead(scratch, 0);
            reader.validateHeader(length);
            reader.validate(length, pageCount, nextWord);
            for (int i = 0; i < reader.wordCount(); i++)
            {
                rebuilt[reader.firstWord() + i] = reader.word(i);
            }
            nextWord = reader.firstWord() + reader.wordCount();
            last = writer.onSent();
            assertThat(reader.isLast()).isEqualTo(last);
            assertThat(++frames).isLessThanOrEqualTo(rebuilt.length + 1);
        }
        assertThat(rebuilt).isEqualTo(map.words());
    }

    @Property
    void chunksOutOfOrderOrPastTheGuestAreRefused(
        @ForAll @LongRange(min = 65, max = 100_000) final long pageCount,
        @ForAll @IntRange(min = 1, max = 1000) final int firstWord)
    {
        final int totalWords = PageBitmap.wordCount(pageCount);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[256]);
        final PageMapFlyweight chunk = new PageMapFlyweight();
        final int length = PageMapFlyweight.frameLength(1);
        chunk.wrap(buffer, 0);
        chunk.writeHeader(FrameType.PENDING_MAP, length, SESSION);
        chunk.chunk(Math.min(firstWord, totalWords - 1), 1, totalWords, false).word(0, -1L);

        final int start = chunk.firstWord();
        // Before a chunk already taken: refused.
        assertThatThrownBy(() -> chunk.validate(length, pageCount, start + 1))
            .isInstanceOf(MigrationException.class)
            .satisfies(e -> assertThat(((MigrationException)e).errorCode()).isEqualTo(ErrorCode.BAD_LENGTH));

        // The last word with bits past the last page: refused unless the guest fills it exactly.
        chunk.chunk(totalWords - 1, 1, totalWords, true);
        if ((pageCount & 63) != 0)
        {
            assertThatThrownBy(() -> chunk.validate(length, pageCount, 0))
                .isInstanceOf(MigrationException.class)
                .satisfies(e -> assertThat(((MigrationException)e).errorCode())
                    .isEqualTo(ErrorCode.PAGE_INDEX_OUT_OF_RANGE));
        }
        else
        {
            chunk.validate(length, pageCount, 0);
        }

        // A total that does not match the guest: refused as a layout mismatch.
        chunk.chunk(0, 1, totalWords + 1, false);
        assertThatThrownBy(() -> chunk.validate(length, pageCount, 0))
            .isInstanceOf(MigrationException.class)
            .satisfies(e -> assertThat(((MigrationException)e).errorCode()).isEqualTo(ErrorCode.LAYOUT_MISMATCH));
    }
}
