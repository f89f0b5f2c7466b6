package io.pagestream.examples;

import io.pagestream.api.MigrationMode;
import io.pagestream.api.MigrationResult;
import io.pagestream.kernel.UserFaultFd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs the VMM-shaped example whose VMM owns the userfaultfd: post-copy completes through the page-install hook,
 * the VMM's fault thread really served faults, and memory ends exact.
 */
class VmmFaultPathExampleTest
{
    @Test
    @Timeout(120)
    void shouldMigrateThroughTheVmmsOwnUserfaultfdExactly()
    {
        assumeTrue(UserFaultFd.isAvailable(), "no userfaultfd for this process (needs root)");
        final VmmFaultPathExample.Result result = VmmFaultPathExample.run(64L << 20);
        System.out.println(result);
        assertEquals(MigrationResult.COMPLETED, result.source.result(), result.source.toString());
        assertEquals(MigrationResult.COMPLETED, result.target.result(), result.target.toString());
        assertEquals(MigrationMode.POSTCOPY, result.target.mode());
        assertEquals("hook", result.target.faultPath());
        assertTrue(result.faultsServedByTheVmm > 0, "the VMM's fault thread served faults");
        assertTrue(result.pagesInstalled > 0, "pages went through the hook");
        assertTrue(result.targetWrites > 0, "the target's guest ran");
        assertTrue(result.exact, "memory exact: " + result);
    }
}
