package io.pagestream.codec;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.agrona.UnsafeApi;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shifted-self zero check against the definition: one non-zero byte anywhere makes a page non-zero.
 */
class ZeroPagesProperties
{
    @Property(tries = 3000)
    void aSingleNonZeroByteAnywhereIsSeen(
        @ForAll @IntRange(min = 1, max = 256) final int blocks,
        @ForAll @IntRange(min = 0, max = 16383) final int position,
        @ForAll @IntRange(min = 1, max = 255) final int value)
    {
        final int length = blocks * 64;
        final long page = UnsafeApi.allocateMemory(length);
        try
        {
            UnsafeApi.setMemory(page, length, (byte)0);
            assertThat(ZeroPages.isZero(page, length)).isTrue();
            UnsafeApi.putByte(page + position % length, (byte)value);
            assertThat(ZeroPages.isZero(page, length)).isFalse();
        }
        finally
        {
            UnsafeApi.freeMemory(page);
        }
    }

    @Property(tries = 500)
    void aPageOfOneRepeatedNonZeroWordIsNotZero(@ForAll final long word, @ForAll @IntRange(min = 1, max = 64) final int blocks)
    {
        final int length = blocks * 64;
        final long page = UnsafeApi.allocateMemory(length);
        try
        {
            for (int i = 0; i < length; i += 8)
            {
                UnsafeApi.putLong(page + i, word);
            }
            assertThat(ZeroPages.isZero(page, length)).isEqualTo(word == 0);
        }
        finally
        {
            UnsafeApi.freeMemory(page);
        }
    }
}
