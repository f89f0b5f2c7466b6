package io.pagestream.sending;

import io.pagestream.pages.PageBitmap;
import io.pagestream.api.PageCachePolicy;
import org.agrona.BufferUtil;
import org.agrona.UnsafeApi;
import org.agrona.collections.Long2LongHashMap;

import java.nio.ByteBuffer;

/**
 * A bounded cache of the versions of pages last sent, in native memory, for delta encoding. The invariant the
 * sender keeps: a cached version is byte for byte what the target holds for that page, so every send of a page
 * either updates its entry or invalidates it.
 * <p>
 * Rounds send pages in index order, so the stream the cache sees is a cyclic scan, usually larger than the cache:
 * the pattern on which plain LRU (and plain CLOCK) evict every page just before it would be hit.
 * {@link PageCachePolicy#CLOCK} therefore adds two things to second-chance eviction: admission (a page enters only on
 * its second offer, remembered in one bit per page, so pages written once never displace anything) and a bounded
 * sweep (if the hand finds no unreferenced slot within {@link #MAX_SWEEP} slots the new page is not cached, rather
 * than evicting pages that are being hit). {@link PageCachePolicy#LRU} is plain least-recently-sent, the baseline.
 * Threading: single writer. No allocation after construction.
 */
public final class PageCache
{
    private static final long NONE = -1;
    /** Slots the CLOCK hand examines for a victim before giving up on caching a page. */
    static final int MAX_SWEEP = 16;

    private final PageCachePolicy policy;
    private final int pageSize;
    private final int slotCount;
    private long baseAddress;
    /** Holds the slots' native memory, allocated on first insert; freed with this cache. */
    private ByteBuffer storage;
    private final long[] slotPage;
    private final byte[] referenced;
    private final int[] prev;
    private final int[] next;
    private final Long2LongHashMap slotByPage;
    private final PageBitmap offeredBefore;
    private int hand;
    private int used;
    private int lruHead = -1;
    private int lruTail = -1;
    private long hits;
    private long misses;

    /**
     * @param capacityBytes bytes of page versions to keep; rounded down to whole pages.
     * @param pageSize      page size in bytes.
     * @param pageCount     pages in guest memory, for CLOCK's admission bits.
     * @param policy        eviction policy.
     */
    public PageCache(final long capacityBytes, final int pageSize, final long pageCount, final PageCachePolicy policy)
    {
        this.policy = policy;
        this.pageSize = pageSize;
        this.slotCount = (int)Math.min(Integer.MAX_VALUE - 8, capacityBytes / pageSize);
        this.slotPage = new long[slotCount];
        java.util.Arrays.fill(slotPage, NONE);
        this.referenced = new byte[slotCount];
        this.prev = policy == PageCachePolicy.LRU ? new int[slotCount] : null;
        this.next = policy == PageCachePolicy.LRU ? new int[slotCount] : null;
        this.slotByPage = new Long2LongHashMap(Math.max(16, slotCount * 2), 0.65f, NONE);
        this.offeredBefore = policy == PageCachePolicy.CLOCK ? new PageBitmap(pageCount) : null;
    }

    /** @return bytes of native memory holding page versions, 0 until the first page is cached. */
    public long capacityBytes()
    {
        return null == storage ? 0 : storage.capacity();
    }

    private void ensureStorage()
    {
        // Allocated on first use: a cache the sender never turns on costs no memory and no zeroing at launch.
        if (null == storage)
        {
            storage = BufferUtil.allocateDirectAligned(
                (int)Math.min(Integer.MAX_VALUE - 64, (long)slotCount * pageSize), 64);
            baseAddress = BufferUtil.address(storage);
        }
    }

    /** @return slots available. */
    public int slotCount()
    {
        return slotCount;
    }

    /** @return slots in use. */
    public int size()
    {
        return used;
    }

    /** @return lookups that found the page. */
    public long hits()
    {
        return hits;
    }

    /** @return lookups that did not. */
    public long misses()
    {
        return misses;
    }

    /**
     * Look up the version last sent, counting a hit or miss and marking the entry as used.
     *
     * @param pageIndex to find.
     * @return address of the cached version, or 0 if not cached.
     */
    public long lookup(final long pageIndex)
    {
        final long slot = slotByPage.get(pageIndex);
        if (slot == NONE)
        {
            misses++;
            return 0;
        }
        hits++;
        touch((int)slot);
        return baseAddress + slot * pageSize;
    }

    /**
     * @param pageIndex to test, without counting or marking.
     * @return true if cached.
     */
    public boolean contains(final long pageIndex)
    {
        return slotByPage.get(pageIndex) != NONE;
    }

    /**
     * Record the version just sent: update the entry in place if cached, else offer it to the policy.
     *
     * @param pageIndex the page.
     * @param source    address of exactly the bytes sent.
     */
    public void put(final long pageIndex, final long source)
    {
        if (!update(pageIndex, source))
        {
            offer(pageIndex, source);
        }
    }

    /**
     * Overwrite a cached page's version.
     *
     * @param pageIndex the page.
     * @param source    address of exactly the bytes sent.
     * @return false if the page is not cached (nothing done).
     */
    public boolean update(final long pageIndex, final long source)
    {
        final long slot = slotByPage.get(pageIndex);
        if (slot == NONE)
        {
            return false;
        }
        UnsafeApi.copyMemory(source, baseAddress + slot * pageSize, pageSize);
        return true;
    }

    /**
     * Cache a page only if a slot is free, evicting nothing (used during the bulk pass).
     *
     * @param pageIndex the page, not cached.
     * @param source    address of exactly the bytes sent.
     */
    public void insertIfFree(final long pageIndex, final long source)
    {
        if (used < slotCount)
        {
            final int slot = firstFree();
            insert(slot, pageIndex, source);
        }
    }

    /**
     * Offer a page that is not cached; the policy decides whether it enters and what it evicts.
     *
     * @param pageIndex the page, not cached.
     * @param source    address of exactly the bytes sent.
     * @return true if cached.
     */
    public boolean offer(final long pageIndex, final long source)
    {
        if (slotCount == 0)
        {
            return false;
        }
        if (null != offeredBefore && offeredBefore.set(pageIndex) && used == slotCount)
        {
            return false; // first offer while full: remember it, admit it next time
        }
        final int slot = victim();
        if (slot < 0)
        {
            return false;
        }
        final long evicted = slotPage[slot];
        if (evicted != NONE)
        {
            slotByPage.remove(evicted);
            used--;
        }
        insert(slot, pageIndex, source);
        return true;
    }

    private void insert(final int slot, final long pageIndex, final long source)
    {
        ensureStorage();
        slotPage[slot] = pageIndex;
        slotByPage.put(pageIndex, slot);
        referenced[slot] = 0;
        used++;
        if (policy == PageCachePolicy.LRU)
        {
            pushFront(slot);
        }
        UnsafeApi.copyMemory(source, baseAddress + (long)slot * pageSize, pageSize);
    }

    /**
     * Forget a page, when it was sent in a way that leaves no usable version (a zero run).
     *
     * @param pageIndex the page.
     */
    public void invalidate(final long pageIndex)
    {
        final long slot = slotByPage.remove(pageIndex);
        if (slot != NONE)
        {
            slotPage[(int)slot] = NONE;
            referenced[(int)slot] = 0;
            used--;
            if (policy == PageCachePolicy.LRU)
            {
                unlink((int)slot);
            }
        }
    }

    private void touch(final int slot)
    {
        if (policy == PageCachePolicy.CLOCK)
        {
            referenced[slot] = 1;
        }
        else
        {
            unlink(slot);
            pushFront(slot);
        }
    }

    private int victim()
    {
        if (policy == PageCachePolicy.LRU)
        {
            if (used < slotCount)
            {
                return firstFree();
            }
            final int slot = lruTail;
            unlink(slot);
            return slot;
        }
        for (int i = 0; i < MAX_SWEEP; i++)
        {
            final int slot = hand;
            hand = hand + 1 == slotCount ? 0 : hand + 1;
            if (slotPage[slot] == NONE || referenced[slot] == 0)
            {
                return slot;
            }
            referenced[slot] = 0;
        }
        return -1;
    }

    private int firstFree()
    {
        // Free slots are found by sweeping; with LRU they exist only until the cache first fills or after invalidation.
        for (int i = 0; i < slotCount; i++)
        {
            final int slot = hand;
            hand = hand + 1 == slotCount ? 0 : hand + 1;
            if (slotPage[slot] == NONE)
            {
                return slot;
            }
        }
        throw new IllegalStateException("no free slot with used=" + used);
    }

    private void pushFront(final int slot)
    {
        prev[slot] = -1;
        next[slot] = lruHead;
        if (lruHead != -1)
        {
            prev[lruHead] = slot;
        }
        lruHead = slot;
        if (lruTail == -1)
        {
            lruTail = slot;
        }
    }

    private void unlink(final int slot)
    {
        final int p = prev[slot];
        final int n = next[slot];
        if (p != -1)
        {
            next[p] = n;
        }
        else if (lruHead == slot)
        {
            lruHead = n;
        }
        if (n != -1)
        {
            prev[n] = p;
        }
        else if (lruTail == slot)
        {
            lruTail = p;
        }
        prev[slot] = -1;
        next[slot] = -1;
    }
}
