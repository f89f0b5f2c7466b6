package io.pagestream.api.guest;

/**
 * The post-copy page-install hook, for a hypervisor that owns the userfaultfd of its guest memory: once the guest
 * runs on the target, PageStream never writes guest memory itself, it hands every page that arrives to this hook,
 * which installs it atomically and wakes the vCPUs waiting on it. The VMM's fault handler asks for a missing page
 * with {@code MigrationTarget.requestPage(pageIndex)}.
 * <p>
 * The usual userfaultfd modes: on private anonymous memory, register MISSING and install with {@code UFFDIO_COPY}
 * (pages) and {@code UFFDIO_ZEROPAGE} (zero pages); on shared memory and hugetlbfs, register MINOR, write the page
 * through a second mapping of the same file and install with {@code UFFDIO_CONTINUE}. Either way a vCPU never sees a
 * half-written page.
 * <p>
 * Before the switchover (pre-copy) PageStream writes guest memory directly, as it does without a hook: the guest is
 * not running here then. Threading: {@link #onPostcopyStart} and the installs come from PageStream's agent thread.
 */
public interface PageInstaller
{
    /**
     * The post-copy switchover, before the guest may resume here. {@code stale} marks the pages whose contents here
     * are old (the source wrote them after sending them): discard them (MADV_DONTNEED on anonymous memory) so that a
     * vCPU touching one faults, then arm the fault path (register the userfaultfd). A page not marked holds its
     * current contents, or was never touched here and is zero: a fault on it may be resolved with a zero page.
     *
     * @param staleWords bitmap of stale pages: bit {@code i % 64} of word {@code i / 64} stands for page {@code i}.
     * @param stalePages how many bits are set.
     */
    void onPostcopyStart(long[] staleWords, long stalePages);

    /**
     * Install one whole page atomically from {@code sourceAddress} (a page of the page size, checked) and wake the
     * threads waiting on it.
     *
     * @param pageIndex     the page.
     * @param sourceAddress where its contents are, valid for this call only.
     * @return true if installed; false if the page was there already (nothing written).
     */
    boolean installPage(long pageIndex, long sourceAddress);

    /**
     * Install zero pages over {@code [firstPageIndex, firstPageIndex + count)} atomically and wake their waiters.
     *
     * @param firstPageIndex first page.
     * @param count          pages.
     * @return pages installed (those already there are left alone).
     */
    long installZeroPages(long firstPageIndex, long count);

    /**
     * Post-copy is over: every page is here ({@code guestLost} false), or it failed and the guest is lost (then
     * threads waiting on missing pages must stay blocked until the VMM stops the guest: never run them on zeros).
     *
     * @param guestLost true if post-copy failed.
     */
    void onPostcopyEnd(boolean guestLost);

    /**
     * @return a short name for reports.
     */
    default String name()
    {
        return "hook";
    }
}
