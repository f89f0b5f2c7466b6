package io.pagestream.pages;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Properties of the page bitmap that drives every round: nothing set is skipped, nothing is sent twice, bits past
 * the guest never appear.
 */
class PageBitmapProperties
{
    @Property
    void takeNextYieldsExactlyTheSetPagesInOrderWhateverTheBatching(
        @ForAll @LongRange(min = 1, max = 5000) final long pageCount,
        @ForAll @Size(max = 300) final List<@LongRange(min = 0, max = 4999) Long> pages,
        @ForAll @IntRange(min = 1, max = 17) final int batch)
    {
        final PageBitmap bitmap = new PageBitmap(pageCount);
        final Set<Long> expected = new TreeSet<>();
        for (final long p : pages)
        {
            if (p < pageCount)
            {
                bitmap.set(p);
                expected.add(p);
            }
        }
        assertThat(bitmap.cardinality()).isEqualTo(expected.size());

        // Resume from a cursor after every few pages, as the source does across duty cycles.
        final List<Long> taken = new ArrayList<>();
        long cursor = 0;
        boolean done = false;
        while (!done)
        {
            for (int i = 0; i < batch; i++)
            {
                final long p = bitmap.takeNext(cursor);
                if (p < 0)
                {
                    done = true;
                    break;
                }
                taken.add(p);
                cursor = p + 1;
            }
        }
        assertThat(taken).containsExactlyElementsOf(expected);
        assertThat(bitmap.cardinality()).isZero();
    }

    @Property
    void setAllCoversEveryPageAndNoMore(@ForAll @LongRange(min = 1, max = 100_000) final long pageCount)
    {
        final PageBitmap bitmap = new PageBitmap(pageCount);
        bitmap.setAll();
        assertThat(bitmap.cardinality()).isEqualTo(pageCount);
        assertThat(bitmap.get(pageCount - 1)).isTrue();
        long last = -1;
        long count = 0;
        for (long p = bitmap.takeNext(0); p >= 0; p = bitmap.takeNext(p + 1))
        {
            last = p;
            count++;
        }
        assertThat(count).isEqualTo(pageCount);
        assertThat(last).isEqualTo(pageCount - 1);
    }

    @Property
    void setRangeCountsOnlyNewBitsAndMatchesSingleSets(
        @ForAll @LongRange(min = 1, max = 3000) final long pageCount,
        @ForAll @LongRange(min = 0, max = 2999) final long first,
        @ForAll @LongRange(min = 1, max = 3000) final long count,
        @ForAll @Size(max = 50) final List<@LongRange(min = 0, max = 2999) Long> preset)
    {
        if (first >= pageCount)
        {
            return;
        }
        final long n = Math.min(count, pageCount - first);
        final PageBitmap ranged = new PageBitmap(pageCount);
        final PageBitmap single = new PageBitmap(pageCount);
        for (final long p : preset)
        {
            if (p < pageCount)
            {
                ranged.set(p);
                single.set(p);
            }
        }
        long newlySingle = 0;
        for (long p = first; p < first + n; p++)
        {
            newlySingle += single.set(p) ? 1 : 0;
        }
        assertThat(ranged.setRange(first, n)).isEqualTo(newlySingle);
        assertThat(ranged.words()).containsExactly(single.words());
    }

    @Property
    void swapExchangesContentsWithoutLosingBits(
        @ForAll @Size(max = 100) final List<@LongRange(min = 0, max = 999) Long> a,
        @ForAll @Size(max = 100) final List<@LongRange(min = 0, max = 999) Long> b)
    {
        final PageBitmap x = new PageBitmap(1000);
        final PageBitmap y = new PageBitmap(1000);
        a.forEach(x::set);
        b.forEach(y::set);
        final long[] xWords = x.words().clone();
        final long[] yWords = y.words().clone();
        x.swap(y);
        assertThat(x.words()).containsExactly(yWords);
        assertThat(y.words()).containsExactly(xWords);
    }
}
