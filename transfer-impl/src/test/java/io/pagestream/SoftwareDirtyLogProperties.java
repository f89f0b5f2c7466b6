package io.pagestream;

import io.pagestream.pages.PageBitmap;
import io.pagestream.synthetic.SoftwareDirtyLog;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dirty log contract the source relies on: fetches report every marked page exactly once across fetches, OR into
 * the caller's bitmap and count only new bits.
 */
class SoftwareDirtyLogProperties
{
    @Property
    void everyMarkIsReportedByExactlyOneFetch(
        @ForAll @LongRange(min = 1, max = 4000) final long pageCount,
        @ForAll @Size(max = 400) final List<@LongRange(min = 0, max = 3999) Long> marks,
        @ForAll @IntRange(min = 1, max = 5) final int fetches)
    {
        final SoftwareDirtyLog log = new SoftwareDirtyLog(pageCount);
        log.startTracking();
        final Set<Long> marked = new TreeSet<>();
        final Set<Long> reported = new TreeSet<>();
        final int perFetch = marks.size() / fetches + 1;
        int i = 0;
        for (int f = 0; f < fetches; f++)
        {
            for (int n = 0; n < perFetch && i < marks.size(); n++, i++)
            {
                final long p = marks.get(i);
                if (p < pageCount)
                {
                    log.markDirty(p);
                    marked.add(p);
                }
            }
            final PageBitmap bitmap = new PageBitmap(pageCount);
            final long newly = log.fetchAndClear(bitmap.words());
            assertThat(newly).isEqualTo(bitmap.cardinality());
            for (long p = bitmap.takeNext(0); p >= 0; p = bitmap.takeNext(p + 1))
            {
                reported.add(p);
            }
        }
        assertThat(reported).isEqualTo(marked);
        final PageBitmap after = new PageBitmap(pageCount);
        assertThat(log.fetchAndClear(after.words())).isZero();
    }

    @Property
    void fetchOrsIntoExistingBitsAndCountsOnlyNewOnes(
        @ForAll @Size(max = 100) final List<@LongRange(min = 0, max = 511) Long> already,
        @ForAll @Size(max = 100) final List<@LongRange(min = 0, max = 511) Long> marks)
    {
        final SoftwareDirtyLog log = new SoftwareDirtyLog(512);
        log.startTracking();
        final PageBitmap bitmap = new PageBitmap(512);
        already.forEach(bitmap::set);
        marks.forEach(log::markDirty);
        final Set<Long> union = new TreeSet<>(already);
        union.addAll(marks);
        final Set<Long> fresh = new TreeSet<>(marks);
        fresh.removeAll(already);
        assertThat(log.fetchAndClear(bitmap.words())).isEqualTo(fresh.size());
        assertThat(bitmap.cardinality()).isEqualTo(union.size());
    }

    @Property(tries = 20)
    void nothingIsRecordedWhileNotTracking(@ForAll @Size(min = 1, max = 50) final List<@LongRange(min = 0, max = 63) Long> marks)
    {
        final SoftwareDirtyLog log = new SoftwareDirtyLog(64);
        marks.forEach(log::markDirty);
        log.startTracking();
        assertThat(log.fetchAndClear(new long[1])).isZero();
    }
}
