package io.pagestream.examples;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the integration tests share to run the packaged demo in processes of its own: the JVM running the tests, the
 * jar, and free loopback ports.
 */
final class DemoJar
{
    /** The packaged demo. */
    static final String JAR = new File("target/pagestream-demo.jar").getAbsolutePath();

    private DemoJar()
    {
    }

    /** @return the {@code java} launcher of the JVM running the tests. */
    static String java()
    {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * @param args the demo's options.
     * @return {@code java -jar pagestream-demo.jar args...}.
     */
    static List<String> command(final String... args)
    {
        final List<String> command = new ArrayList<>(List.of(java(), "-jar", JAR));
        command.addAll(List.of(args));
        return command;
    }

    /** @return a UDP port free on loopback now, from outside the ephemeral range (see LoopbackPorts). */
    static int freePort()
    {
        return io.pagestream.LoopbackPorts.next();
    }
}
