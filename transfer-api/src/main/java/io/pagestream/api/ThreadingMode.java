package io.pagestream.api;

/**
 * Who runs PageStream's agents.
 */
public enum ThreadingMode
{
    /** PageStream starts one thread per side running its agent. */
    DEDICATED,
    /**
     * No thread is started: the application calls {@code invoker().invoke()} from a thread of its own, repeatedly,
     * until the completion future is done.
     */
    INVOKER
}
