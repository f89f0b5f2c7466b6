package io.pagestream.receiving;

import io.pagestream.api.guest.GuestMemory;

import java.util.Arrays;

/**
 * Guest memory's regions sorted by address, to turn the address of a fault the kernel reports into a global page
 * index (a binary search over the regions), and to register each region with a userfaultfd.
 * <p>
 * Threading: immutable once built; any thread. No allocation per lookup.
 */
final class RegionsByAddress
{
    private final int pageSize;
    private final long[] regionStart;
    private final long[] regionEnd;
    private final long[] regionFirstPage;

    /**
     * @param memory the guest memory whose regions to sort.
     */
    RegionsByAddress(final GuestMemory memory)
    {
        this.pageSize = memory.pageSize();
        final int regions = memory.regionCount();
        final Integer[] order = new Integer[regions];
        for (int i = 0; i < regions; i++)
        {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compareUnsigned(memory.regionAddress(a), memory.regionAddress(b)));
        regionStart = new long[regions];
        regionEnd = new long[regions];
        regionFirstPage = new long[regions];
        final long[] firstPages = new long[regions];
        for (int i = 1; i < regions; i++)
        {
            firstPages[i] = firstPages[i - 1] + memory.regionLengthBytes(i - 1) / pageSize;
        }
        for (int i = 0; i < regions; i++)
        {
            regionStart[i] = memory.regionAddress(order[i]);
            regionEnd[i] = regionStart[i] + memory.regionLengthBytes(order[i]);
            regionFirstPage[i] = firstPages[order[i]];
        }
    }

    /** @return the number of regions. */
    int count()
    {
        return regionStart.length;
    }

    /**
     * @param i a region in address order.
     * @return its first address.
     */
    long start(final int i)
    {
        return regionStart[i];
    }

    /**
     * @param i a region in address order.
     * @return its length in bytes.
     */
    long lengthBytes(final int i)
    {
        return regionEnd[i] - regionStart[i];
    }

    /**
     * @param address an address the kernel reported.
     * @return the global index of the guest page holding it, or -1 if it is not guest memory.
     */
    long pageIndexOf(final long address)
    {
        int low = 0;
        int high = regionStart.length - 1;
        while (low <= high)
        {
            final int mid = (low + high) >>> 1;
            if (Long.compareUnsigned(address, regionStart[mid]) < 0)
            {
                high = mid - 1;
            }
            else if (Long.compareUnsigned(address, regionEnd[mid]) >= 0)
            {
                low = mid + 1;
            }
            else
            {
                return regionFirstPage[mid] + (address - regionStart[mid]) / pageSize;
            }
        }
        return -1;
    }
}
