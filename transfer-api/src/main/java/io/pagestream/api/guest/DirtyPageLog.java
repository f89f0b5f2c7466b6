package io.pagestream.api.guest;

/**
 * The hypervisor's record of which guest pages were written (the KVM_GET_DIRTY_LOG shape).
 * <p>
 * Bitmaps are owned by PageStream: {@code long[]} words where bit {@code i % 64} of word {@code i / 64} stands for
 * page {@code i}. Threading: PageStream calls these methods from one thread at a time.
 */
public interface DirtyPageLog
{
    /**
     * Begin recording writes. Every page written after this call returns must show up in a later fetch.
     */
    void startTracking();

    /**
     * OR into {@code bitmap} every page written since tracking started or since the previous fetch, and clear the
     * log's own record of them, atomically with respect to the guest's writes: a write that is not reported now must
     * be reported by the next fetch.
     *
     * @param bitmap at least {@code (pageCount + 63) / 64} words; bits are only ever set, never cleared.
     * @return the number of bits newly set in {@code bitmap} by this call, or -1 if the log does not count them.
     */
    long fetchAndClear(long[] bitmap);

    /**
     * Stop recording writes. Idempotent.
     */
    void stopTracking();

    /**
     * @return a short name for reports: how the log is kept (PageStream's own logs say {@code "userfaultfd"} or
     * {@code "software"}).
     */
    default String name()
    {
        return getClass().getSimpleName();
    }
}
