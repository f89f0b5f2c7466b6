package io.pagestream.api;

import org.agrona.ErrorHandler;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * Settings both sides share, in the style of {@code Aeron.Context}: fluent same-name setters and getters, defaults
 * from system properties ({@code *_PROP_NAME} / {@code *_DEFAULT}), and {@link #conclude()} that fills in defaults and
 * validates exactly once.
 *
 * @param <T> the concrete context type, returned by the fluent setters.
 */
public abstract class MigrationContext<T extends MigrationContext<T>>
{
    /** Directory of an external media driver; unset means an embedded driver in a fresh directory. */
    public static final String AERON_DIRECTORY_PROP_NAME = "pagestream.aeron.dir";
    /** Stream id of the data stream, source to target. */
    public static final String DATA_STREAM_ID_PROP_NAME = "pagestream.data.stream.id";
    /** Default data stream id. */
    public static final int DATA_STREAM_ID_DEFAULT = 1001;
    /** Stream id of the control stream, target to source. */
    public static final String CONTROL_STREAM_ID_PROP_NAME = "pagestream.control.stream.id";
    /** Default control stream id. */
    public static final int CONTROL_STREAM_ID_DEFAULT = 1002;
    /** Stream id of the urgent lane, source to target: pages the target faulted on in post-copy. */
    public static final String URGENT_STREAM_ID_PROP_NAME = "pagestream.urgent.stream.id";
    /** Default urgent stream id. */
    public static final int URGENT_STREAM_ID_DEFAULT = 1003;
    /** Milliseconds a side in post-copy keeps trying to reconnect after losing its peer before giving up. */
    public static final String RECOVERY_TIMEOUT_PROP_NAME = "pagestream.recovery.timeout.ms";
    /** Default post-copy recovery timeout: 2 minutes. */
    public static final long RECOVERY_TIMEOUT_MS_DEFAULT = 120_000;
    /** Milliseconds without a frame from the peer before it counts as lost. */
    public static final String PEER_TIMEOUT_PROP_NAME = "pagestream.peer.timeout.ms";
    /** Default peer timeout. */
    public static final long PEER_TIMEOUT_MS_DEFAULT = 5_000;
    /** UDP socket send and receive buffer length in bytes. */
    public static final String SOCKET_BUFFER_LENGTH_PROP_NAME = "pagestream.socket.buffer.length";
    /** Default socket buffer length: 2 MiB. */
    public static final int SOCKET_BUFFER_LENGTH_DEFAULT = 2 * 1024 * 1024;
    /** Whether an embedded media driver runs on the migration agent's thread rather than its own. */
    public static final String DRIVER_ON_AGENT_THREAD_PROP_NAME = "pagestream.driver.on.agent.thread";
    /** File holding the pre-shared secret key (at least 16 bytes) both sides authenticate the handshake with. */
    public static final String SECRET_KEY_FILE_PROP_NAME = "pagestream.secret.key.file";
    /** Set to true to run without a secret key: an explicit choice for a trusted network, never the default. */
    public static final String ALLOW_UNAUTHENTICATED_PROP_NAME = "pagestream.allow.unauthenticated";
    /** Set to true to authenticate every frame after the handshake (a MAC per frame); needs a secret key. */
    public static final String FRAME_AUTHENTICATION_PROP_NAME = "pagestream.frame.authentication";
    /** Set to true to encrypt every frame after the handshake (AES-256-GCM); implies frame authentication. */
    public static final String FRAME_ENCRYPTION_PROP_NAME = "pagestream.frame.encryption";
    /** Shortest secret key accepted, in bytes. */
    public static final int SECRET_KEY_MIN_LENGTH = 16;
    /** Whether the first launch in a JVM warms the engine up with a small loopback migration. */
    public static final String WARM_UP_PROP_NAME = "pagestream.warm.up";
    /** Threading mode, DEDICATED or INVOKER. */
    public static final String THREADING_MODE_PROP_NAME = "pagestream.threading.mode";
    /** Directory for the embedded media driver, kept after close with the counters' last values. */
    public static final String DRIVER_DIRECTORY_PROP_NAME = "pagestream.driver.dir";
    /** File the report is written to as JSON when the migration ends: the setting's system property. */
    public static final String REPORT_FILE_PROP_NAME = "pagestream.report.file";
    /** Default threading mode. */
    public static final ThreadingMode THREADING_MODE_DEFAULT = ThreadingMode.DEDICATED;

    /** Bad system-property values met while filling defaults; conclude() reports them. Declared first. */
    private final java.util.List<String> propertyErrors = new java.util.ArrayList<>();
    private boolean concluded;
    private String aeronDirectoryName = System.getProperty(AERON_DIRECTORY_PROP_NAME);
    private String driverDirectoryName = System.getProperty(DRIVER_DIRECTORY_PROP_NAME);
    private int dataStreamId = intProperty(DATA_STREAM_ID_PROP_NAME, DATA_STREAM_ID_DEFAULT);
    private int controlStreamId = intProperty(CONTROL_STREAM_ID_PROP_NAME, CONTROL_STREAM_ID_DEFAULT);
    private int urgentStreamId = intProperty(URGENT_STREAM_ID_PROP_NAME, URGENT_STREAM_ID_DEFAULT);
    private long peerTimeoutMs = msProperty(PEER_TIMEOUT_PROP_NAME, PEER_TIMEOUT_MS_DEFAULT);
    private long recoveryTimeoutMs = msProperty(RECOVERY_TIMEOUT_PROP_NAME, RECOVERY_TIMEOUT_MS_DEFAULT);
    private int socketBufferLength = intSizeProperty(SOCKET_BUFFER_LENGTH_PROP_NAME, SOCKET_BUFFER_LENGTH_DEFAULT);
    private ThreadingMode threadingMode = enumProperty(THREADING_MODE_PROP_NAME, ThreadingMode.class,
        THREADING_MODE_DEFAULT);
    private IdleStrategy idleStrategy;
    private byte[] secretKey;
    private java.util.UUID vmId;
    private boolean allowUnauthenticated = booleanProperty(ALLOW_UNAUTHENTICATED_PROP_NAME, false);
    private boolean frameAuthentication = booleanProperty(FRAME_AUTHENTICATION_PROP_NAME, false);
    private boolean frameEncryption = booleanProperty(FRAME_ENCRYPTION_PROP_NAME, false);
    private boolean driverOnAgentThread = booleanProperty(DRIVER_ON_AGENT_THREAD_PROP_NAME, true);
    private IdleStrategy driverIdleStrategy;
    private boolean warmUp = booleanProperty(WARM_UP_PROP_NAME, true);
    private ErrorHandler errorHandler;
    private MigrationListener listener;
    private org.agrona.concurrent.NanoClock nanoClock;
    private java.nio.file.Path reportFile = null == System.getProperty(REPORT_FILE_PROP_NAME) ? null :
        java.nio.file.Path.of(System.getProperty(REPORT_FILE_PROP_NAME));

    /**
     * Every shared setting at its system-property default; subclasses are the source's and the target's contexts.
     */
    protected MigrationContext()
    {
    }

    @SuppressWarnings("unchecked")
    private T self()
    {
        return (T)this;
    }

    /**
     * @param name a system property holding a plain integer.
     * @param def  its default.
     * @return the value, or the default if unset or bad (then noted for {@link #conclude()}).
     */
    protected final int intProperty(final String name, final int def)
    {
        final String value = System.getProperty(name);
        if (null == value)
        {
            return def;
        }
        try
        {
            return Integer.parseInt(value.trim());
        }
        catch (final NumberFormatException ex)
        {
            return bad(name, value, "an integer", def);
        }
    }

    /**
     * @param name a system property holding a size in bytes, in Agrona's syntax (a number with an optional k, m or
     *             g suffix: 64k, 16m).
     * @param def  its default.
     * @return the value in bytes, or the default if unset or bad (then noted for {@link #conclude()}).
     */
    protected final long sizeProperty(final String name, final long def)
    {
        final String value = System.getProperty(name);
        if (null == value)
        {
            return def;
        }
        try
        {
            return org.agrona.SystemUtil.parseSize(name, value.trim());
        }
        catch (final RuntimeException ex)
        {
            return bad(name, value, "a size such as 65536, 64k or 16m", def);
        }
    }

    /**
     * @param name a system property holding a size of at most 2 GiB - 1, in Agrona's syntax.
     * @param def  its default.
     * @return the value in bytes, or the default if unset or bad (then noted for {@link #conclude()}).
     */
    protected final int intSizeProperty(final String name, final int def)
    {
        final long value = sizeProperty(name, def);
        if (value > Integer.MAX_VALUE)
        {
            return bad(name, System.getProperty(name), "a size below 2g", def);
        }
        return (int)value;
    }

    /**
     * @param name a system property holding a duration: a plain number in milliseconds (the property's unit), or
     *             one with a unit in Agrona's syntax (250ms, 5s, 1500us, 100000ns).
     * @param def  its default in milliseconds.
     * @return the value in milliseconds, or the default if unset or bad (then noted for {@link #conclude()}).
     */
    protected final long msProperty(final String name, final long def)
    {
        return duration(name, def, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /**
     * @param name a system property holding a duration: a plain number in microseconds (the property's unit), or
     *             one with a unit in Agrona's syntax.
     * @param def  its default in microseconds.
     * @return the value in microseconds, or the default if unset or bad (then noted for {@link #conclude()}).
     */
    protected final long usProperty(final String name, final long def)
    {
        return duration(name, def, java.util.concurrent.TimeUnit.MICROSECONDS);
    }

    /**
     * @param name a system property holding true or false (any case).
     * @param def  its default.
     * @return the value, or the default if unset or bad (then noted for {@link #conclude()}).
     */
    protected final boolean booleanProperty(final String name, final boolean def)
    {
        final String value = System.getProperty(name);
        if (null == value)
        {
            return def;
        }
        if ("true".equalsIgnoreCase(value.trim()) || "false".equalsIgnoreCase(value.trim()))
        {
            return Boolean.parseBoolean(value.trim());
        }
        return bad(name, value, "true or false", def);
    }

    /**
     * @param name a system property holding a constant's name (any case).
     * @param type the enum.
     * @param def  its default.
     * @param <E>  the enum.
     * @return the value, or the default if unset or bad (then noted for {@link #conclude()}).
     */
    protected final <E extends Enum<E>> E enumProperty(final String name, final Class<E> type, final E def)
    {
        final String value = System.getProperty(name);
        if (null == value)
        {
            return def;
        }
        for (final E constant : type.getEnumConstants())
        {
            if (constant.name().equalsIgnoreCase(value.trim()))
            {
                return constant;
            }
        }
        final StringBuilder names = new StringBuilder();
        for (final E constant : type.getEnumConstants())
        {
            names.append(names.length() == 0 ? "" : ", ").append(constant.name().toLowerCase(java.util.Locale.ROOT));
        }
        return bad(name, value, "one of " + names, def);
    }

    private long duration(final String name, final long def, final java.util.concurrent.TimeUnit unit)
    {
        final String value = System.getProperty(name);
        if (null == value)
        {
            return def;
        }
        final String trimmed = value.trim();
        try
        {
            if (!trimmed.isEmpty() && trimmed.chars().allMatch(Character::isDigit))
            {
                return Long.parseLong(trimmed);
            }
            return unit.convert(org.agrona.SystemUtil.parseDuration(name, trimmed),
                java.util.concurrent.TimeUnit.NANOSECONDS);
        }
        catch (final RuntimeException ex)
        {
            return bad(name, value, "a duration such as 500 (" + unit.name().toLowerCase(java.util.Locale.ROOT) +
                "), 250ms or 5s", def);
        }
    }

    private <V> V bad(final String name, final String value, final String expected, final V def)
    {
        propertyErrors.add("system property " + name + "='" + value + "': expected " + expected);
        return def;
    }

    /**
     * Fill in defaults and validate. Called by the factory that launches a source or target.
     *
     * @return this.
     * @throws MigrationException with {@link ErrorCode#INVALID_CONFIGURATION} naming the bad setting.
     * @throws IllegalStateException if called twice.
     */
    public T conclude()
    {
        if (concluded)
        {
            throw new IllegalStateException("context already concluded");
        }
        concluded = true;
        if (!propertyErrors.isEmpty())
        {
            throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, String.join("; ", propertyErrors));
        }
        require(dataStreamId != controlStreamId, "controlStreamId", controlStreamId, "must differ from dataStreamId");
        require(urgentStreamId != dataStreamId && urgentStreamId != controlStreamId, "urgentStreamId", urgentStreamId,
            "must differ from dataStreamId and controlStreamId");
        require(peerTimeoutMs > 0, "peerTimeoutMs", peerTimeoutMs, "must be positive");
        require(recoveryTimeoutMs >= 0, "recoveryTimeoutMs", recoveryTimeoutMs,
            "must be 0 (give up at once) or positive");
        require(socketBufferLength >= 65536 && socketBufferLength <= (64 << 20),
            "socketBufferLength", socketBufferLength, "must be from 64 KiB to 64 MiB");
        require(null != threadingMode, "threadingMode", null, "must be set");
        require(null == driverDirectoryName || null == aeronDirectoryName, "driverDirectoryName", driverDirectoryName,
            "names the embedded driver's directory: not with aeronDirectoryName (an external driver)");
        final String keyFile = System.getProperty(SECRET_KEY_FILE_PROP_NAME);
        if (null == secretKey && null != keyFile)
        {
            try
            {
                secretKey = java.nio.file.Files.readAllBytes(java.nio.file.Path.of(keyFile));
            }
            catch (final java.io.IOException | RuntimeException ex)
            {
                require(false, SECRET_KEY_FILE_PROP_NAME, keyFile, "cannot be read: " + ex);
            }
        }
        require(null != secretKey || allowUnauthenticated, "secretKey", null, "must be set (or a file named by " +
            SECRET_KEY_FILE_PROP_NAME + "); to run without authentication on a trusted network, choose it " +
            "explicitly with allowUnauthenticated(true)");
        if (frameEncryption)
        {
            frameAuthentication = true;
        }
        require(!frameAuthentication || null != secretKey, "frameAuthentication", true, "needs a secretKey");
        require(null == secretKey || secretKey.length >= SECRET_KEY_MIN_LENGTH, "secretKey",
            null == secretKey ? null : secretKey.length + " bytes", "must be at least " + SECRET_KEY_MIN_LENGTH +
            " bytes");
        if (null == idleStrategy)
        {
            // Spin briefly, then yield, then park up to 200 µs: responsive without burning one of few cores.
            idleStrategy = new BackoffIdleStrategy(64, 16, 1_000, 200_000);
        }
        if (null == driverIdleStrategy)
        {
            driverIdleStrategy = new BackoffIdleStrategy(64, 16, 1_000, 100_000);
        }
        require(driverIdleStrategy != idleStrategy, "driverIdleStrategy", driverIdleStrategy,
            "must be a different instance from idleStrategy: idle strategies keep per-thread state");
        if (null == errorHandler)
        {
            errorHandler = Throwable::printStackTrace;
        }
        if (null == nanoClock)
        {
            nanoClock = org.agrona.concurrent.SystemNanoClock.INSTANCE;
        }
        if (null == listener)
        {
            listener = new MigrationListener()
            {
            };
        }
        return self();
    }

    /**
     * @return true once {@link #conclude()} has run.
     */
    public boolean isConcluded()
    {
        return concluded;
    }

    /**
     * Throw {@link ErrorCode#INVALID_CONFIGURATION} naming the setting and its value unless {@code condition} holds.
     *
     * @param condition that must hold.
     * @param name      of the setting.
     * @param value     it has.
     * @param rule      it breaks, in words.
     */
    protected static void require(final boolean condition, final String name, final Object value, final String rule)
    {
        if (!condition)
        {
            throw new MigrationException(ErrorCode.INVALID_CONFIGURATION, name + "=" + value + ": " + rule);
        }
    }

    /**
     * Validate a {@code host:port} endpoint.
     *
     * @param name     of the setting.
     * @param endpoint its value.
     */
    protected static void requireEndpoint(final String name, final String endpoint)
    {
        requireEndpoint(name, endpoint, false);
    }

    /**
     * Validate a {@code host:port} endpoint.
     *
     * @param name     of the setting.
     * @param endpoint its value.
     * @param bindable true for an endpoint this side binds, where port 0 asks the kernel for a free port.
     */
    protected static void requireEndpoint(final String name, final String endpoint, final boolean bindable)
    {
        require(null != endpoint, name, null, "must be set as host:port");
        final int colon = endpoint.lastIndexOf(':');
        require(colon > 0 && colon < endpoint.length() - 1, name, endpoint, "must be host:port");
        int port = -1;
        try
        {
            port = Integer.parseInt(endpoint.substring(colon + 1));
        }
        catch (final NumberFormatException ignore)
        {
            // reported below
        }
        if (bindable)
        {
            require(port >= 0 && port <= 65535, name, endpoint, "port must be from 0 (any free port) to 65535");
        }
        else
        {
            require(port > 0 && port <= 65535, name, endpoint, "port must be from 1 to 65535");
        }
    }

    /**
     * @param dirName directory of an external media driver, or null for an embedded driver in a fresh directory.
     * @return this.
     */
    public T aeronDirectoryName(final String dirName)
    {
        aeronDirectoryName = dirName;
        return self();
    }

    /**
     * @param dirName the embedded media driver's directory, named by the embedder: the migration's counters (state,
     *                pages sent and remaining, the cap in force, ...) can be read there from another process while
     *                it runs ({@code pagestream-stat}, AeronStat), and the directory is kept after close with their
     *                last values until the embedder deletes it. Whatever the directory holds is deleted at
     *                launch, unless a live media driver uses it (another process's, or another migration's in this
     *                one: the source and the target need a directory each): then the launch fails with
     *                {@link ErrorCode#INVALID_CONFIGURATION} naming it, and that driver is left alone. A directory
     *                kept by a migration that has closed is taken again at once. Null (the default): a fresh
     *                directory, deleted at close. Not with {@link #aeronDirectoryName(String)} (an external driver
     *                has its own).
     * @return this.
     */
    public T driverDirectoryName(final String dirName)
    {
        driverDirectoryName = dirName;
        return self();
    }

    /** @return the embedded driver's named directory, or null for a fresh one deleted at close. */
    public String driverDirectoryName()
    {
        return driverDirectoryName;
    }

    /**
     * @return directory of an external media driver, or null for an embedded one.
     */
    public String aeronDirectoryName()
    {
        return aeronDirectoryName;
    }

    /**
     * @param streamId of the data stream, source to target.
     * @return this.
     */
    public T dataStreamId(final int streamId)
    {
        dataStreamId = streamId;
        return self();
    }

    /**
     * @return stream id of the data stream.
     */
    public int dataStreamId()
    {
        return dataStreamId;
    }

    /**
     * @param streamId of the control stream, target to source.
     * @return this.
     */
    public T controlStreamId(final int streamId)
    {
        controlStreamId = streamId;
        return self();
    }

    /**
     * @return stream id of the control stream.
     */
    public int controlStreamId()
    {
        return controlStreamId;
    }

    /**
     * @param onAgentThread true (the default) to run an embedded media driver's duty cycle, and the Aeron client's,
     *                      on the migration agent's thread: one thread per side instead of two, which measured here
     *                      both faster (about 1.2 GB/s of post-copy push against 1.0) and with post-copy faults
     *                      served in 1.4-1.7x a raw round trip instead of 1.2-1.8x with more outliers. While true,
     *                      the Aeron client's conductor runs on the agent's thread with an external driver too, so
     *                      {@code ThreadingMode.INVOKER} starts no thread. False gives the embedded driver a thread
     *                      of its own and the client's conductor another (with an external driver, the conductor's
     *                      alone), in either threading mode.
     * @return this.
     */
    public T driverOnAgentThread(final boolean onAgentThread)
    {
        driverOnAgentThread = onAgentThread;
        return self();
    }

    /**
     * @return whether an embedded driver runs on the agent's thread.
     */
    public boolean driverOnAgentThread()
    {
        return driverOnAgentThread;
    }

    /**
     * @param warm true (the default) to have the first launch in this JVM run a small migration between two engines
     *             of its own over UDP loopback (64 MiB, about half a second) before the launch returns, so the JIT has
     *             compiled the page path before a real guest depends on it: on a fresh JVM with two cores, compiling
     *             it during the migration took half the CPU for its first two seconds. Later launches skip it. Its
     *             time is launch time, never migration time.
     * @return this.
     */
    public T warmUp(final boolean warm)
    {
        warmUp = warm;
        return self();
    }

    /**
     * @return whether the first launch in this JVM warms the engine up.
     */
    public boolean warmUp()
    {
        return warmUp;
    }

    /**
     * @param key pre-shared secret, at least {@value #SECRET_KEY_MIN_LENGTH} bytes (copied), or null for none. With a
     *            key, source and target prove to each other that they hold it (an HMAC-SHA256 challenge and response
     *            over fresh nonces from both sides) before the target accepts a single page; a side with a key
     *            refuses a peer without one.
     * @return this.
     */
    public T secretKey(final byte[] key)
    {
        secretKey = null == key ? null : key.clone();
        return self();
    }

    /**
     * @param id the virtual machine's UUID. On the source it is sent in the HELLO; on the target, if set, a HELLO
     *           naming another VM (or none) is refused with {@link ErrorCode#WRONG_VM} on both sides.
     * @return this.
     */
    public T vmId(final java.util.UUID id)
    {
        vmId = id;
        return self();
    }

    /**
     * @return the virtual machine's UUID, or null if unset.
     */
    public java.util.UUID vmId()
    {
        return vmId;
    }

    /**
     * @param allowed true to run without a secret key. Only for a trusted network: anyone who can reach the peer's
     *                ports can then start or join a migration. Without a key and without this, {@link #conclude()}
     *                refuses.
     * @return this.
     */
    public T allowUnauthenticated(final boolean allowed)
    {
        allowUnauthenticated = allowed;
        return self();
    }

    /**
     * @param authenticate true to put a MAC on every frame after the handshake, in both directions: a truncated
     *                     HMAC-SHA256 under a key derived for this session from the secret and both nonces, over a
     *                     per-stream sequence, so a frame forged, altered, replayed or dropped by someone on the path
     *                     fails the migration (page requests carry no sequence: replaying one only resends a page).
     *                     Needs a secret key; both sides must choose the same. Costs throughput (see the README).
     * @return this.
     */
    public T frameAuthentication(final boolean authenticate)
    {
        frameAuthentication = authenticate;
        return self();
    }

    /**
     * @param encrypt true to seal every frame after the handshake with AES-256-GCM under the session's key (nonce:
     *                stream and sequence; the 16-byte frame header stays readable as associated data), so guest
     *                memory crosses the network unreadable. Implies {@link #frameAuthentication(boolean)}; page
     *                requests stay authenticated only (a page index is all they carry). Both sides must choose the
     *                same. Costs throughput and a small allocation per frame inside the JDK's GCM (see the README).
     * @return this.
     */
    public T frameEncryption(final boolean encrypt)
    {
        frameEncryption = encrypt;
        return self();
    }

    /**
     * @return whether every frame after the handshake is encrypted.
     */
    public boolean frameEncryption()
    {
        return frameEncryption;
    }

    /**
     * @return whether every frame after the handshake carries a MAC.
     */
    public boolean frameAuthentication()
    {
        return frameAuthentication;
    }

    /**
     * @return whether running without a secret key was chosen.
     */
    public boolean allowUnauthenticated()
    {
        return allowUnauthenticated;
    }

    /**
     * @return the pre-shared secret, or null; do not modify.
     */
    public byte[] secretKey()
    {
        return secretKey;
    }

    /**
     * @param streamId of the urgent lane carrying faulted pages in post-copy; the same on both sides.
     * @return this.
     */
    public T urgentStreamId(final int streamId)
    {
        urgentStreamId = streamId;
        return self();
    }

    /**
     * @return stream id of the urgent lane.
     */
    public int urgentStreamId()
    {
        return urgentStreamId;
    }

    /**
     * @param timeoutMs how long a side in post-copy keeps reconnecting after losing its peer before it gives up; 0
     *                  gives up at once. Before post-copy a lost peer fails the migration after {@code peerTimeoutMs}.
     * @return this.
     */
    public T recoveryTimeoutMs(final long timeoutMs)
    {
        recoveryTimeoutMs = timeoutMs;
        return self();
    }

    /**
     * @return the post-copy recovery timeout in milliseconds.
     */
    public long recoveryTimeoutMs()
    {
        return recoveryTimeoutMs;
    }

    /**
     * @param timeoutMs without any frame from the peer before the migration fails with PEER_LOST.
     * @return this.
     */
    public T peerTimeoutMs(final long timeoutMs)
    {
        peerTimeoutMs = timeoutMs;
        return self();
    }

    /**
     * @return peer timeout in milliseconds.
     */
    public long peerTimeoutMs()
    {
        return peerTimeoutMs;
    }

    /**
     * @param lengthBytes of the UDP socket send and receive buffers (the OS may cap it at net.core.rmem_max).
     * @return this.
     */
    public T socketBufferLength(final int lengthBytes)
    {
        socketBufferLength = lengthBytes;
        return self();
    }

    /**
     * @return UDP socket buffer length in bytes.
     */
    public int socketBufferLength()
    {
        return socketBufferLength;
    }

    /**
     * @param mode who runs the agent.
     * @return this.
     */
    public T threadingMode(final ThreadingMode mode)
    {
        threadingMode = mode;
        return self();
    }

    /**
     * @return who runs the agent.
     */
    public ThreadingMode threadingMode()
    {
        return threadingMode;
    }

    /**
     * @param strategy used by the dedicated agent thread and the embedded driver when idle.
     * @return this.
     */
    public T idleStrategy(final IdleStrategy strategy)
    {
        idleStrategy = strategy;
        return self();
    }

    /**
     * @return the idle strategy.
     */
    public IdleStrategy idleStrategy()
    {
        return idleStrategy;
    }

    /**
     * @param strategy for the embedded media driver's thread when idle; ignored with an external driver.
     * @return this.
     */
    public T driverIdleStrategy(final IdleStrategy strategy)
    {
        driverIdleStrategy = strategy;
        return self();
    }

    /**
     * @return the embedded driver's idle strategy.
     */
    public IdleStrategy driverIdleStrategy()
    {
        return driverIdleStrategy;
    }

    /**
     * @param handler for errors on PageStream's and Aeron's threads; never exits the JVM.
     * @return this.
     */
    public T errorHandler(final ErrorHandler handler)
    {
        errorHandler = handler;
        return self();
    }

    /**
     * @return the error handler.
     */
    public ErrorHandler errorHandler()
    {
        return errorHandler;
    }

    /**
     * @param migrationListener notified of milestones on the agent thread.
     * @return this.
     */
    public T listener(final MigrationListener migrationListener)
    {
        listener = migrationListener;
        return self();
    }

    /**
     * @return the listener.
     */
    public MigrationListener listener()
    {
        return listener;
    }

    /**
     * @param clock every time PageStream reads for this migration (timeouts, rates, downtime, fault latency), in
     *              nanoseconds; tests inject a clock they move by hand.
     * @return this.
     */
    public T nanoClock(final org.agrona.concurrent.NanoClock clock)
    {
        nanoClock = clock;
        return self();
    }

    /**
     * @param file where to write the report as JSON ({@link MigrationReport#toJson()}) when the migration ends,
     *             before the listener and the completion future hear of it; null (the default) for nowhere. A
     *             failure to write is passed to the error handler and changes nothing else.
     * @return this.
     */
    @SuppressWarnings("unchecked")
    public T reportFile(final java.nio.file.Path file)
    {
        reportFile = file;
        return (T)this;
    }

    /** @return where the report is written as JSON, or null. */
    public java.nio.file.Path reportFile()
    {
        return reportFile;
    }

    /**
     * @return the clock; {@link org.agrona.concurrent.SystemNanoClock} unless set.
     */
    public org.agrona.concurrent.NanoClock nanoClock()
    {
        return nanoClock;
    }
}
