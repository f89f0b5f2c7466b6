/**
 * The Linux kernel's memory calls through the FFM API: populate, release, populated-page maps (PAGEMAP_SCAN), file
 * extents, memfd and mmap behind {@link io.pagestream.kernel.MemoryKernel} with counted fallbacks; userfaultfd
 * ({@link io.pagestream.kernel.UserFaultFd}) and a dirty log kept by the kernel's write-protection
 * ({@link io.pagestream.kernel.WriteProtectDirtyPageLog}).
 */
package io.pagestream.kernel;
