package io.pagestream.sending;

import io.pagestream.api.PageCachePolicy;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.agrona.BufferUtil;
import org.agrona.UnsafeApi;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cache invariant the delta encoder relies on: a lookup returns nothing, or exactly the version last put.
 */
class PageCacheProperties
{
    @Property(tries = 300)
    void lookupReturnsNothingOrTheVersionLastPut(
        @ForAll final PageCachePolicy policy,
        @ForAll @IntRange(min = 1, max = 16) final int slots,
        @ForAll @Size(max = 300) final List<@IntRange(min = 0, max = 299) Integer> operations)
    {
        final int pageSize = 4096;
        final PageCache cache = new PageCache((long)slots * pageSize, pageSize, 64, policy);
        final ByteBuffer page = BufferUtil.allocateDirectAligned(pageSize, 64);
        final long address = BufferUtil.address(page);
        final Map<Long, Long> lastPut = new HashMap<>();
        long version = 0;
        for (final int op : operations)
        {
            final long pageIndex = op % 24;
            switch (op / 100)
            {
                case 0:
                    version++;
                    UnsafeApi.putLong(address + 8 * (pageIndex % 512), version);
                    UnsafeApi.putLong(address, version);
                    final boolean room = cache.size() < slots;
                    cache.put(pageIndex, address);
                    lastPut.put(pageIndex, version);
                    if (room)
                    {
                        assertThat(cache.contains(pageIndex)).as("a page put while there is room is cached").isTrue();
                    }
                    break;
                case 1:
                    cache.invalidate(pageIndex);
                    lastPut.remove(pageIndex);
                    assertThat(cache.lookup(pageIndex)).isZero();
                    break;
                default:
                    final long found = cache.lookup(pageIndex);
                    if (found != 0)
                    {
                        assertThat(lastPut).containsKey(pageIndex);
                        assertThat(UnsafeApi.getLong(found)).isEqualTo(lastPut.get(pageIndex));
                    }
            }
            assertThat(cache.size()).isLessThanOrEqualTo(slots);
        }
    }
}
