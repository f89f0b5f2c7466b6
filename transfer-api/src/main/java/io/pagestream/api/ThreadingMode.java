package io.pagestream.api;

/**
 * Who runs PageStream's agents.
 */
public enum ThreadingMode
{
    /** PageStream starts one thread per side running its agent. */
    DEDICATED,
    /**
     * The application calls {@code invoker().invoke()} from a thread of its own, repeatedly, until the completion
     * future is done. No thread is started while {@code driverOnAgentThread} is true (the default): the embedded
     * media driver's and the Aeron client's duty cycles run inside the invoker too. With it false, the driver and
     * the client's conductor keep threads of their own.
     */
    INVOKER
}
