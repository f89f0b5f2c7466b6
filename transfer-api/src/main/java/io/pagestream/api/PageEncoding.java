package io.pagestream.api;

/**
 * How a page travels on the wire. The {@link #code()} is the wire value.
 */
public enum PageEncoding
{
    /** The page is all zero and travels as part of a zero-page run. */
    ZERO(0),
    /** The page travels verbatim. */
    RAW(1),
    /** XOR against the version last sent, as runs of unchanged and changed bytes. */
    DELTA(2),
    /** LZ4 block compression of the page. */
    LZ4(3);

    private final int code;

    PageEncoding(final int code)
    {
        this.code = code;
    }

    /**
     * @return the wire value of this encoding.
     */
    public int code()
    {
        return code;
    }

    /**
     * @param code a wire value.
     * @return the encoding, or null if the code is not known.
     */
    public static PageEncoding get(final int code)
    {
        switch (code)
        {
            case 0: return ZERO;
            case 1: return RAW;
            case 2: return DELTA;
            case 3: return LZ4;
            default: return null;
        }
    }
}
