package io.pagestream.sending;

import io.pagestream.api.Compression;
import io.pagestream.api.PageEncoding;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chooser's decisions with a fake clock and a fake CPU load: each arm is given a page rate and the chooser must
 * find the faster one, or stay raw when it has no CPU to spare.
 */
class EncodingChooserTest
{
    private static final int PAGE = 4096;

    /** Drive the chooser for a while; pages go at the given rates depending on which arm it picked. */
    private static long lz4Share(final EncodingChooser chooser, final double rawPagesPerSec, final double lz4PagesPerSec)
    {
        long nowNs = 0;
        long lz4 = 0;
        final int pages = 200_000;
        for (int i = 0; i < pages; i++)
        {
            final PageEncoding choice = chooser.choose(false);
            if (choice == PageEncoding.LZ4)
            {
                lz4++;
                chooser.onEncoded(PageEncoding.LZ4, PAGE / 3, 2_000);
            }
            nowNs += (long)(1e9 / (choice == PageEncoding.LZ4 ? lz4PagesPerSec : rawPagesPerSec));
            chooser.onPageSent(nowNs);
        }
        return lz4 * 100 / pages;
    }

    @Test
    void shouldCompressUnderASlowCapAndNotUnderAFastOne()
    {
        final EncodingChooser slow = new EncodingChooser(Compression.AUTO, PAGE, 125_000_000, 0, () -> 0.2);
        slow.onEncoded(PageEncoding.LZ4, PAGE / 3, 4_000);
        assertEquals(PageEncoding.LZ4, slow.choose(false));

        final EncodingChooser fast = new EncodingChooser(Compression.AUTO, PAGE, 10_000_000_000L, 0, () -> 0.2);
        fast.onEncoded(PageEncoding.LZ4, PAGE / 3, 4_000);
        assertEquals(PageEncoding.RAW, fast.choose(false), "LZ4 at 250k pages/s cannot beat a 10 GB/s link");
    }

    @Test
    void shouldFindTheFasterArmWhenTheCpuHasRoom()
    {
        final long lz4WhenFaster = lz4Share(new EncodingChooser(Compression.AUTO, PAGE, 0, 0, () -> 0.3), 30_000, 60_000);
        assertTrue(lz4WhenFaster > 80, "LZ4 moves twice the pages: used for " + lz4WhenFaster + "%");

        final long lz4WhenSlower = lz4Share(new EncodingChooser(Compression.AUTO, PAGE, 0, 0, () -> 0.3), 60_000, 30_000);
        assertTrue(lz4WhenSlower < 10, "LZ4 moves half the pages: used for " + lz4WhenSlower + "%");
    }

    @Test
    void shouldNotSpendCpuOnLz4WhenTheHostIsSaturated()
    {
        final EncodingChooser chooser = new EncodingChooser(Compression.AUTO, PAGE, 0, 0, () -> 0.97);
        assertEquals(0, lz4Share(chooser, 30_000, 60_000));
        assertEquals(0.97, chooser.lastCpuLoad());
        assertFalse(chooser.isLz4Preferred());
    }

    @Test
    void shouldUseDeltaForCachedPagesWhileDeltasFit()
    {
        final EncodingChooser chooser = new EncodingChooser(Compression.AUTO, PAGE, 0, 0, () -> 0.3);
        assertEquals(PageEncoding.DELTA, chooser.choose(true));
        for (int i = 0; i < 10; i++)
        {
            chooser.onEncoded(PageEncoding.DELTA, -1, 1_000);
        }
        assertEquals(PageEncoding.RAW, chooser.choose(true), "deltas stopped fitting the margin");
        assertEquals(PageEncoding.RAW, new EncodingChooser(Compression.NONE, PAGE, 0, 0).choose(true));
        assertEquals(PageEncoding.DELTA, new EncodingChooser(Compression.DELTA, PAGE, 0, 0).choose(true));
        assertEquals(PageEncoding.LZ4, new EncodingChooser(Compression.LZ4, PAGE, 0, 0).choose(false));
    }
}
