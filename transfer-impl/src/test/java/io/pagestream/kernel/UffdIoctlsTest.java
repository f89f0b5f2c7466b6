package io.pagestream.kernel;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The userfaultfd ioctl encoding: request numbers against the values the kernel's header yields (as strace and the
 * C preprocessor print them), the decoding of an installing call's result, and arguments checked, or a bad descriptor
 * reported, by call name and range.
 */
class UffdIoctlsTest
{
    private static final long PAGE = 4096;
    private static final long ADDRESS = 0x7f00_0000_0000L;

    @Test
    void shouldEncodeTheRequestNumbersOfTheKernelHeader()
    {
        assertThat(UffdIoctls.UFFDIO_API).isEqualTo(0xc018aa3fL);
        assertThat(UffdIoctls.UFFDIO_REGISTER).isEqualTo(0xc020aa00L);
        assertThat(UffdIoctls.UFFDIO_UNREGISTER).isEqualTo(0x8010aa01L);
        assertThat(UffdIoctls.UFFDIO_WAKE).isEqualTo(0x8010aa02L);
        assertThat(UffdIoctls.UFFDIO_COPY).isEqualTo(0xc028aa03L);
        assertThat(UffdIoctls.UFFDIO_ZEROPAGE).isEqualTo(0xc020aa04L);
        assertThat(UffdIoctls.UFFDIO_WRITEPROTECT).isEqualTo(0xc018aa06L);
        assertThat(UffdIoctls.UFFDIO_CONTINUE).isEqualTo(0xc020aa07L);
        assertThat(UffdIoctls.USERFAULTFD_IOC_NEW).isEqualTo(0xaa00L);
    }

    @Test
    void shouldDecodeWhatAnInstallingCallDid()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment args = arena.allocate(40, 8);
            final String call = "ioctl(UFFDIO_COPY)";
            args.set(JAVA_LONG, 32, 0L);
            assertThat(UffdIoctls.installed(call, ADDRESS, 4 * PAGE, 0, args, 32)).isEqualTo(4 * PAGE);
            assertThat(UffdIoctls.installed(call, ADDRESS, 4 * PAGE, -Errno.EAGAIN, args, 32))
                .isEqualTo(UserFaultFd.RETRY);
            assertThat(UffdIoctls.installed(call, ADDRESS, 4 * PAGE, -Errno.EEXIST, args, 32))
                .isEqualTo(UserFaultFd.EXISTS);
            args.set(JAVA_LONG, 32, 2 * PAGE);
            assertThat(UffdIoctls.installed(call, ADDRESS, 4 * PAGE, -Errno.EAGAIN, args, 32))
                .as("a partial copy returns the bytes done").isEqualTo(2 * PAGE);
            assertThatThrownBy(() -> UffdIoctls.installed(call, ADDRESS, 4 * PAGE, -Errno.ENOENT, args, 32))
                .isInstanceOfSatisfying(KernelCallException.class, ex -> assertThat(ex.errno()).isEqualTo(Errno.ENOENT))
                .hasMessageContaining("ioctl(UFFDIO_COPY) address=0x7f0000000000 lengthBytes=16384");
        }
    }

    @Test
    void shouldCheckRangesByNameBeforeAnyCall()
    {
        assertThatThrownBy(() -> UffdIoctls.register(-1, ADDRESS + 1, PAGE, UserFaultFd.MODE_MISSING))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ioctl(UFFDIO_REGISTER)")
            .hasMessageContaining("not aligned");
        // The source needs no alignment (pages are installed straight from a frame), but must be an address.
        assertThatThrownBy(() -> UffdIoctls.copy(-1, ADDRESS, 0, PAGE, 0))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ioctl(UFFDIO_COPY): sourceAddress is 0");
        assertThatThrownBy(() -> UffdIoctls.zeroPage(-1, ADDRESS, 0, false))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ioctl(UFFDIO_ZEROPAGE)")
            .hasMessageContaining("lengthBytes must be positive");
        assertThatThrownBy(() -> UffdIoctls.writeProtect(-1, 0, PAGE, true, false))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ioctl(UFFDIO_WRITEPROTECT, WP)");
    }

    @Test
    void shouldNameTheCallAndRangeWhenTheKernelRefusesIt()
    {
        assumeTrue(Libc.AVAILABLE, "no native access here");
        assertThatThrownBy(() -> UffdIoctls.wake(-1, ADDRESS, PAGE))
            .isInstanceOfSatisfying(KernelCallException.class, ex -> assertThat(ex.errno()).isEqualTo(Errno.EBADF))
            .hasMessageContaining("ioctl(UFFDIO_WAKE) address=0x7f0000000000 lengthBytes=4096");
        assertThatThrownBy(() -> UffdIoctls.writeProtect(-1, ADDRESS, PAGE, false, true))
            .isInstanceOfSatisfying(KernelCallException.class, ex -> assertThat(ex.errno()).isEqualTo(Errno.EBADF))
            .hasMessageContaining("ioctl(UFFDIO_WRITEPROTECT, unprotect)");
        assertThat(UffdIoctls.api(-1, 0)).isEqualTo(-Errno.EBADF);
    }

    @Test
    void shouldReadWhatTheKernelOffersFromTheApiHandshake()
    {
        assumeTrue(UserFaultFd.isAvailable(), "no userfaultfd here");
        try (UserFaultFd uffd = UserFaultFd.open(0, true))
        {
            assertThat(uffd.offeredFeatures()).isEqualTo(UserFaultFd.availableFeatures());
            assertThat(uffd.apiIoctls()).as("UFFDIO_REGISTER, _UNREGISTER and _API are always allowed")
                .isNotZero();
            assertThat(UffdIoctls.api(uffd.fd(), 0)).as("the handshake is made once per descriptor").isNegative();
        }
    }
}
