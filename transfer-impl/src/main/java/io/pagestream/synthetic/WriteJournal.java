package io.pagestream.synthetic;

import org.agrona.UnsafeApi;

/**
 * One synthetic vCPU's record of its writes to guest memory (address, old value, new value), so that a test can
 * later prove memory equals what arrived plus exactly these writes: walked backwards, each written word must still
 * hold the value written, and gets back the value it replaced.
 * <p>
 * Threading: recorded by its vCPU thread; read and undone with the vCPUs paused or closed.
 */
final class WriteJournal
{
    private long[] entries = new long[0];
    private int length;

    /**
     * @param address  of the word written.
     * @param oldValue the word before the write.
     * @param newValue the word written.
     */
    void record(final long address, final long oldValue, final long newValue)
    {
        if (length + 3 > entries.length)
        {
            entries = java.util.Arrays.copyOf(entries, Math.max(3 * 4096, entries.length * 2));
        }
        entries[length++] = address;
        entries[length++] = oldValue;
        entries[length++] = newValue;
    }

    /** @return writes recorded since the last {@link #verifyAndUndo()}. */
    int writes()
    {
        return length / 3;
    }

    /**
     * Walk the writes backwards: count each word that no longer holds the value written, put back the value it
     * replaced, and empty the journal.
     *
     * @return words whose value was not the one written.
     */
    long verifyAndUndo()
    {
        long mismatches = 0;
        for (int i = length - 3; i >= 0; i -= 3)
        {
            final long address = entries[i];
            if (UnsafeApi.getLong(address) != entries[i + 2])
            {
                mismatches++;
            }
            UnsafeApi.putLong(address, entries[i + 1]);
        }
        length = 0;
        return mismatches;
    }
}
