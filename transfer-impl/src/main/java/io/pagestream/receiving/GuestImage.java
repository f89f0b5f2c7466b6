package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.PageEncoding;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.pages.PageBitmap;
import io.pagestream.pages.PresentPages;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.RoundEndFlyweight;
import io.pagestream.protocol.ZeroRunFlyweight;
import org.agrona.DirectBuffer;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * Everything that writes target memory: pages and zero runs from the data lanes and the urgent lane, checked by the
 * {@link PageApplier} before a byte lands; which pages were received and which hold their current contents
 * ({@link PresentPages}, read by the fault path); and the round barrier across lanes.
 * <p>
 * <b>Rounds across lanes.</b> Each lane ends a round with its own ROUND_END carrying what it sent; the lane is then
 * not read until every lane has ended the round, and the round closes. After a close, only lane 0 is read until it
 * opens the next round (any frame of it) or hands over (SWITCHOVER): so a lane never applies a page of round
 * {@code r+1} while another still holds pages of round {@code r}, and no pushed page lands before the post-copy
 * switchover that makes pages present. With one lane this is the single stream's order.
 * <p>
 * <b>Post-copy.</b> A present page is never written again (the running guest may have changed it): late duplicates
 * are dropped and counted. Each pending page's arrival counts down to COMPLETE.
 * <p>
 * Threading: the target conductor's thread; {@link #isPresent} and {@link #pagesReceived()} from any thread.
 */
final class GuestImage
{
    private final GuestMemory memory;
    private final int pageSize;
    private final long pageCount;
    private final MemoryCommitter committer;
    private io.pagestream.api.guest.PageInstaller installer;
    private final PageBitmap received;
    private final PresentPages present;
    private final PageApplier applier;
    private final ZeroRunFlyweight zeroRun = new ZeroRunFlyweight();
    private final RoundEndFlyweight roundEnd = new RoundEndFlyweight();
    private final AtomicCounter pageFramesCounter;
    private final AtomicCounter zeroPagesCounter;
    private final AtomicCounter duplicatesCounter;
    private final long[] pagesByEncoding = new long[4];
    private volatile long pagesReceived;
    private long zeroPages;
    private long totalPageFrames;

    private int round;
    private int laneCount = 1;
    private long[] laneFrames = new long[1];
    private long[] lanePages = new long[1];
    private boolean[] atBarrier = new boolean[1];
    private boolean leaderFirst;
    private boolean postcopy;
    private long postcopyRemaining;

    GuestImage(
        final GuestMemory memory,
        final boolean memoryZeroed,
        final AtomicCounter pageFramesCounter,
        final AtomicCounter zeroPagesCounter,
        final AtomicCounter duplicatesCounter)
    {
        this.memory = memory;
        this.pageSize = memory.pageSize();
        this.pageCount = memory.pageCount();
        this.committer = new MemoryCommitter(memory, MemoryKernel.create(), memoryZeroed);
        this.received = new PageBitmap(pageCount);
        this.present = new PresentPages(pageCount);
        this.applier = new PageApplier(memory, received);
        applier.committer(committer);
        this.pageFramesCounter = pageFramesCounter;
        this.zeroPagesCounter = zeroPagesCounter;
        this.duplicatesCounter = duplicatesCounter;
    }

    /**
     * @param lanes data lanes the source uses, from its hello.
     */
    void laneCount(final int lanes)
    {
        laneCount = lanes;
        laneFrames = new long[lanes];
        lanePages = new long[lanes];
        atBarrier = new boolean[lanes];
    }

    int laneCount()
    {
        return laneCount;
    }

    PresentPages present()
    {
        return present;
    }

    PageBitmap received()
    {
        return received;
    }

    /** @return the round being received. */
    int round()
    {
        return round;
    }

    boolean isPostcopy()
    {
        return postcopy;
    }

    long postcopyRemaining()
    {
        return postcopyRemaining;
    }

    /** @return pages received so far. Any thread. */
    long pagesReceived()
    {
        return pagesReceived;
    }

    long totalPageFrames()
    {
        return totalPageFrames;
    }

    long zeroPages()
    {
        return zeroPages;
    }

    /**
     * @param encoding a page encoding.
     * @return pages completed in it.
     */
    long pages(final PageEncoding encoding)
    {
        return pagesByEncoding[encoding.code()];
    }

    /**
     * @param lane a data lane.
     * @return true if the lane may be read now (see the round barrier).
     */
    boolean mayPoll(final int lane)
    {
        return postcopy || (!atBarrier[lane] && (lane == 0 || !leaderFirst));
    }

    /**
     * Apply a PAGE frame whose header was validated.
     *
     * @param lane   the data lane it came on, or -1 for the urgent lane.
     * @param buffer holding the frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onPage(final int lane, final DirectBuffer buffer, final int offset, final int length)
    {
        if (lane == 0)
        {
            leaderFirst = false; // lane 0 opened the round; the others may follow
        }
        final long completedPage = applier.apply(buffer, offset, length, round, postcopy ? present : null);
        if (completedPage == PageApplier.SKIPPED)
        {
            duplicatesCounter.incrementOrdered();
            return;
        }
        pageFramesCounter.incrementOrdered();
        totalPageFrames++;
        if (lane >= 0)
        {
            laneFrames[lane]++;
        }
        if (completedPage >= 0)
        {
            pagesByEncoding[buffer.getByte(offset + PageFlyweight.ENCODING_OFFSET) & 3]++;
            if (lane >= 0)
            {
                lanePages[lane]++;
            }
            if (received.set(completedPage))
            {
                pagesReceived++;
            }
            if (present.set(completedPage) && postcopy)
            {
                postcopyRemaining--;
            }
        }
    }

    /**
     * A DATA_MAP chunk: which pages carry data, so their memory is committed in batches ahead of them.
     *
     * @param buffer holding the frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onDataMap(final DirectBuffer buffer, final int offset, final int length)
    {
        committer.onDataMap(buffer, offset, length);
    }

    /** @return how target memory is committed. */
    MemoryCommitter committer()
    {
        return committer;
    }

    /**
     * Apply a ZERO_RUN frame whose header was validated.
     *
     * @param lane   the data lane it came on, or -1 for the urgent lane.
     * @param buffer holding the frame.
     * @param offset of the frame.
     * @param length of the frame.
     */
    void onZeroRun(final int lane, final DirectBuffer buffer, final int offset, final int length)
    {
        zeroRun.wrapForRead(buffer, offset);
        zeroRun.validate(length, pageCount);
        if (zeroRun.round() != round)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "round=" + zeroRun.round() +
                " in ZERO_RUN frame, current round is " + round);
        }
        if (lane == 0)
        {
            leaderFirst = false;
        }
        final long first = zeroRun.firstPageIndex();
        final long count = zeroRun.pageCount();
        if (postcopy)
        {
            for (long pageIndex = first, end = first + count; pageIndex < end; pageIndex++)
            {
                // Only missing pages: a present one may have been written by the running guest since.
                if (!present.get(pageIndex))
                {
                    if (null == installer)
                    {
                        UnsafeApi.setMemory(memory.pageAddress(pageIndex), pageSize, (byte)0);
                    }
                    else
                    {
                        installer.installZeroPages(pageIndex, 1);
                    }
                    received.set(pageIndex);
                    present.set(pageIndex);
                    zeroPages++;
                    zeroPagesCounter.incrementOrdered();
                    postcopyRemaining--;
                }
                else
                {
                    duplicatesCounter.incrementOrdered();
                }
            }
            return;
        }
        for (long pageIndex = first, end = first + count; pageIndex < end; pageIndex++)
        {
            // Memory the kernel shows reads as zero is left alone (and uncommitted); a page that held data before,
            // in this migration or before it, is cleared.
            if (received.get(pageIndex) || committer.mayHoldOldBytes(pageIndex))
            {
                UnsafeApi.setMemory(memory.pageAddress(pageIndex), pageSize, (byte)0);
            }
        }
        pagesReceived += received.setRange(first, count);
        for (long pageIndex = first, end = first + count; pageIndex < end; pageIndex++)
        {
            present.set(pageIndex);
        }
        zeroPages += count;
        if (lane >= 0)
        {
            lanePages[lane] += count;
        }
        zeroPagesCounter.getAndAddOrdered(count);
    }

    /**
     * A lane's ROUND_END: check its counts, hold the lane at the barrier, close the round when every lane is there.
     *
     * @param lane   the data lane.
     * @param buffer holding the frame.
     * @param offset of the frame.
     * @param length of the frame.
     * @return true if this closed the round.
     */
    boolean onRoundEnd(final int lane, final DirectBuffer buffer, final int offset, final int length)
    {
        roundEnd.wrapForRead(buffer, offset);
        roundEnd.validate(length);
        if (roundEnd.round() != round)
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION,
                "round=" + roundEnd.round() + " in ROUND_END frame, current round is " + round);
        }
        if (roundEnd.pageFrames() != laneFrames[lane] || roundEnd.pages() != lanePages[lane])
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "round " + round + " ended with pageFrames=" +
                roundEnd.pageFrames() + " pages=" + roundEnd.pages() + " but " + laneFrames[lane] + " frames and " +
                lanePages[lane] + " pages arrived" + (laneCount > 1 ? " on lane " + lane : ""));
        }
        if (lane == 0)
        {
            leaderFirst = false;
        }
        atBarrier[lane] = true;
        for (int i = 0; i < laneCount; i++)
        {
            if (!atBarrier[i])
            {
                return false;
            }
        }
        round++;
        java.util.Arrays.fill(laneFrames, 0);
        java.util.Arrays.fill(lanePages, 0);
        java.util.Arrays.fill(atBarrier, false);
        leaderFirst = laneCount > 1;
        return true;
    }

    /** @return pages never received (a stop-and-copy switchover must find none). */
    long pagesMissing()
    {
        return pageCount - received.cardinality();
    }

    /**
     * @param pending pages whose newer version is still to come.
     * @return pages neither received nor pending (a post-copy switchover must find none).
     */
    long pagesNeitherReceivedNorPending(final PageBitmap pending)
    {
        final long[] receivedWords = received.words();
        final long[] pendingWords = pending.words();
        long neither = 0;
        for (int w = 0; w < receivedWords.length; w++)
        {
            neither += Long.bitCount(~receivedWords[w] & ~pendingWords[w]);
        }
        return neither - ((long)receivedWords.length * 64 - pageCount); // bits past the last page
    }

    /**
     * Post-copy switchover: present = received and not pending; pushed pages may land from now on.
     *
     * @param pending pages whose newer version is still to come.
     */
    void startPostcopy(final PageBitmap pending)
    {
        final long[] receivedWords = received.words();
        final long[] pendingWords = pending.words();
        for (int w = 0; w < receivedWords.length; w++)
        {
            present.setWord(w, receivedWords[w] & ~pendingWords[w]);
        }
        postcopy = true;
        leaderFirst = false;
        postcopyRemaining = pending.cardinality();
        if (null != installer)
        {
            // Old versions of the pending pages go, so a guest thread touching one faults until its page is here.
            installer.onPostcopyStart(pendingWords, postcopyRemaining);
            applier.installer(installer);
        }
    }

    /**
     * @param pageInstaller installs pages atomically once the guest runs here (the kernel fault path, or the VMM's
     *                      hook), or null to write memory directly.
     */
    void installer(final io.pagestream.api.guest.PageInstaller pageInstaller)
    {
        installer = pageInstaller;
    }

    /** @return the page installer, or null. */
    io.pagestream.api.guest.PageInstaller installer()
    {
        return installer;
    }

    /**
     * Post-copy is over: all pages here, or the guest lost.
     *
     * @param guestLost true if post-copy failed.
     */
    void endPostcopy(final boolean guestLost)
    {
        if (null != installer && postcopy)
        {
            installer.onPostcopyEnd(guestLost);
        }
    }

    /**
     * @param into receives the pages not present now (for the MISSING_MAP of a resume).
     */
    void missing(final PageBitmap into)
    {
        final long[] words = into.words();
        for (int w = 0; w < words.length; w++)
        {
            long missing = ~present.word(w);
            final long bitsPast = ((long)(w + 1) << 6) - pageCount;
            if (bitsPast > 0)
            {
                missing &= -1L >>> bitsPast;
            }
            words[w] = missing;
        }
    }
}
