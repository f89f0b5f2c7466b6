package io.pagestream.receiving;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationException;
import io.pagestream.kernel.GuestPageScan;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The kernel fault path's check on guest memory: private memory passes, file-backed memory is refused, and memory
 * whose mappings cannot be read is refused too (fails closed).
 */
class UffdFaultPathTest
{
    @Test
    void shouldAcceptGuestMemoryWithNoFileMappingUnderIt()
    {
        assertThatCode(() -> UffdFaultPath.checkPrivateMemory(0)).doesNotThrowAnyException();
    }

    @Test
    void shouldRefuseFileBackedGuestMemoryNamingIt()
    {
        assertThatThrownBy(() -> UffdFaultPath.checkPrivateMemory(2))
            .isInstanceOf(MigrationException.class)
            .hasMessageContaining("2 file-backed mapping(s)")
            .hasMessageContaining("UFFDIO_CONTINUE")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.MISSING_CAPABILITY);
    }

    @Test
    void shouldRefuseGuestMemoryWhoseMappingsCannotBeRead()
    {
        assertThatThrownBy(() -> UffdFaultPath.checkPrivateMemory(GuestPageScan.MAPPINGS_UNKNOWN))
            .isInstanceOf(MigrationException.class)
            .hasMessageContaining("/proc/self/maps cannot be read")
            .hasMessageContaining("file-backed")
            .extracting(ex -> ((MigrationException)ex).errorCode()).isEqualTo(ErrorCode.MISSING_CAPABILITY);
    }
}
