package io.pagestream.examples;

import io.pagestream.api.MigrationControl;
import io.pagestream.api.MigrationException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The demo's management plane on standard input ({@code --control-stdin}): one command a line, applied to the running
 * migration through {@link MigrationControl}; each answer is one line starting {@code control:}.
 * <pre>
 * cap RATE               send cap (1gbit, 200MB, unlimited)
 * postcopy-cap RATE      post-copy push cap (0 or unlimited: same as the send cap)
 * downtime MS            downtime target
 * postcopy start         switch to post-copy at the end of this round
 * postcopy allow|forbid  let the policy choose post-copy, or not
 * hold | release         hold the switchover (the guest keeps running) or let it happen
 * </pre>
 */
final class ManagementCommands
{
    /** What {@code help} prints. */
    static final String USAGE = "cap RATE | postcopy-cap RATE | downtime MS | postcopy start|allow|forbid | " +
        "hold | release";

    private ManagementCommands()
    {
    }

    /**
     * Read commands until the input ends, on a daemon thread.
     *
     * @param in      where commands come from.
     * @param control the running migration's control.
     * @param ended   true once the migration has ended, after which the library ignores every call.
     * @param out     where answers go.
     * @return the thread.
     */
    static Thread readFrom(
        final InputStream in,
        final MigrationControl control,
        final java.util.function.BooleanSupplier ended,
        final PrintStream out)
    {
        final Thread thread = new Thread(() ->
        {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)))
            {
                String line;
                while (null != (line = reader.readLine()))
                {
                    if (!line.isBlank())
                    {
                        final String answer = apply(control, line);
                        out.println("control: " + (ended.getAsBoolean() && answer.startsWith("requested") ?
                            "ignored, the migration has ended; its settings at the end: " + control.settings() :
                            answer));
                    }
                }
            }
            catch (final IOException ex)
            {
                out.println("control: standard input failed: " + ex.getMessage());
            }
        }, "demo-control");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    /**
     * @param control the running migration's control.
     * @param line    one command.
     * @return what was done, or why not.
     */
    static String apply(final MigrationControl control, final String line)
    {
        final String[] words = line.trim().toLowerCase(Locale.ROOT).split("\\s+");
        try
        {
            switch (words[0])
            {
                case "cap":
                    control.maxBandwidth(Units.parseRate(argument(words)));
                    return "requested " + control.settings();
                case "postcopy-cap":
                    control.postcopyBandwidth(Units.parseRate(argument(words)));
                    return "requested " + control.settings();
                case "downtime":
                    control.downtimeTarget(Long.parseLong(argument(words)));
                    return "requested " + control.settings();
                case "postcopy":
                    switch (argument(words))
                    {
                        case "start":
                            control.startPostcopy();
                            break;
                        case "allow":
                            control.postcopyAllowed(true);
                            break;
                        case "forbid":
                            control.postcopyAllowed(false);
                            break;
                        default:
                            return "postcopy takes start, allow or forbid, not '" + words[1] + "'";
                    }
                    return "requested " + control.settings();
                case "hold":
                    control.holdSwitchover(true);
                    return "requested " + control.settings();
                case "release":
                    control.holdSwitchover(false);
                    return "requested " + control.settings();
                case "help":
                    return USAGE;
                default:
                    return "unknown command '" + line.trim() + "'; commands: " + USAGE;
            }
        }
        catch (final MigrationException | IllegalArgumentException ex)
        {
            return "refused: " + ex.getMessage();
        }
    }

    private static String argument(final String[] words)
    {
        if (words.length != 2)
        {
            throw new IllegalArgumentException("'" + words[0] + "' takes one argument; commands: " + USAGE);
        }
        return words[1];
    }
}
