package io.pagestream.kernel;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A JVM that denies native access gets the portable kernel, says why, and reports the dirty log unavailable, rather
 * than failing.
 */
class NativeAccessDeniedTest
{
    /**
     * Run in the child JVM: prints what the kernel layer chose.
     *
     * @param args ignored.
     */
    public static void main(final String[] args)
    {
        final MemoryKernel kernel = MemoryKernel.create();
        final long address = kernel.mapAnonymous(1 << 20, false);
        kernel.populateWrite(address, 1 << 20);
        kernel.unmap(address, 1 << 20);
        System.out.println(kernel.getClass().getSimpleName());
        System.out.println(kernel.stats().describe());
        System.out.println("dirty log: " + WriteProtectDirtyPageLog.unavailableReason());
    }

    @Test
    void shouldFallBackToThePortableKernelWhenNativeAccessIsDenied() throws IOException, InterruptedException
    {
        assumeTrue(Libc.AVAILABLE, "the native kernel is not used here anyway");
        final List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        for (final String argument : ManagementFactory.getRuntimeMXBean().getInputArguments())
        {
            if (!argument.startsWith("--enable-native-access") && !argument.startsWith("-javaagent"))
            {
                command.add(argument);
            }
        }
        command.add("--illegal-native-access=deny");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(NativeAccessDeniedTest.class.getName());
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(process.exitValue()).as(output).isZero();
        assertThat(output).contains("PortableMemoryKernel")
            .contains("portable (native access not permitted (run with --enable-native-access=ALL-UNNAMED)")
            .contains("populate: touch 1").contains("map: java 1")
            .contains("dirty log: native access not permitted");
    }
}
