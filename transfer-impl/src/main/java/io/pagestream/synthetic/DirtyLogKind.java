package io.pagestream.synthetic;

import io.pagestream.kernel.WriteProtectDirtyPageLog;

/**
 * Which dirty log a synthetic guest's source side uses.
 */
public enum DirtyLogKind
{
    /** The kernel's where it has one ({@link #USERFAULTFD}), else {@link #SOFTWARE}. */
    AUTO,
    /**
     * Kept by the kernel: asynchronous userfaultfd write-protection harvested with PAGEMAP_SCAN
     * ({@link WriteProtectDirtyPageLog}); the vCPU threads only write memory.
     */
    USERFAULTFD,
    /** Cooperative: the vCPU threads mark a {@link SoftwareDirtyLog} after every write. */
    SOFTWARE;

    /**
     * @return the kind {@link #AUTO} stands for here.
     */
    public DirtyLogKind resolve()
    {
        if (this != AUTO)
        {
            return this;
        }
        return WriteProtectDirtyPageLog.isAvailable() ? USERFAULTFD : SOFTWARE;
    }

    /**
     * @param text auto, userfaultfd or software, any case.
     * @return the kind.
     * @throws IllegalArgumentException naming the choices.
     */
    public static DirtyLogKind parse(final String text)
    {
        for (final DirtyLogKind kind : values())
        {
            if (kind.name().equalsIgnoreCase(text.trim()))
            {
                return kind;
            }
        }
        throw new IllegalArgumentException("dirty log must be auto, userfaultfd or software: " + text);
    }
}
