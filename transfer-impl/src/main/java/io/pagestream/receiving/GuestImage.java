package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.api.PageEncoding;
import io.pagestream.api.guest.GuestMemory;
import io.pagestream.kernel.MemoryKernel;
import io.pagestream.pages.PageBitmap;
import io.pagestream.pages.PresentPages;
import io.pagestream.protocol.PageFlyweight;
import io.pagestream.protocol.ZeroRunFlyweight;
import org.agrona.DirectBuffer;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * Everything that writes target memory: pages and zero runs from the data lanes and the urgent lane, checked by the
 * {@link PageApplier} before a byte lands; which pages were received and which hold their current contents
 * ({@link PresentPages}, read by the fault path); and, through its {@link RoundBarrier}, the order of rounds across
 * lanes.
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
    private final RoundBarrier barrier = new RoundBarrier();
    private final AtomicCounter pageFramesCounter;
    private final AtomicCounter zeroPagesCounter;
    private final AtomicCounter duplicatesCounter;
    private final long[] pagesByEncoding = new long[4];
    private volatile long pagesReceived;
    private long zeroPages;
    private long totalPageFrames;
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
        barrier.laneCount(lanes);
    }

    int laneCount()
    {
        return barrier.laneCount();
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
        return barrier.round();
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
        return barrier.mayPoll(lane, postcopy);
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
        barrier.onFrame(lane);
        final long completedPage = applier.apply(buffer, offset, length, barrier.round(), postcopy ? present : null);
        if (completedPage == PageApplier.SKIPPED)
        {
            duplicatesCounter.incrementOrdered();
            return;
        }
        pageFramesCounter.incrementOrdered();
        totalPageFrames++;
        barrier.count(lane, 1, completedPage >= 0 ? 1 : 0);
        if (completedPage >= 0)
        {
            pagesByEncoding[buffer.getByte(offset + PageFlyweight.ENCODING_OFFSET) & 3]++;
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
        if (zeroRun.round() != barrier.round())
        {
            throw new MigrationException(ErrorCode.PROTOCOL_VIOLATION, "round=" + zeroRun.round() +
                " in ZERO_RUN frame, current round is " + barrier.round());
        }
        barrier.onFrame(lane);
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
        barrier.count(lane, 0, count);
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
        return barrier.onRoundEnd(lane, buffer, offset, length);
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
        barrier.release();
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
