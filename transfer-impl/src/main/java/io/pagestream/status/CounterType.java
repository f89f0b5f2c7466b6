package io.pagestream.status;

/**
 * Every counter PageStream keeps, with its stable Aeron counter type id and label. Type ids start at 7000 to stay
 * clear of Aeron's own.
 */
public enum CounterType
{
    /** Source: pages sent, zero pages included. */
    PAGES_SENT(7001, "pagestream: pages sent"),
    /** Source: bytes handed to the publication, frame headers included. */
    BYTES_SENT(7002, "pagestream: bytes sent"),
    /** Source: pages sent in zero-page runs. */
    ZERO_PAGES_SENT(7003, "pagestream: zero pages sent"),
    /** Source: pages sent raw. */
    RAW_PAGES_SENT(7004, "pagestream: raw pages sent"),
    /** Source: rounds finished, the bulk pass included. */
    ROUNDS(7005, "pagestream: rounds"),
    /** Source: frames refused for back-pressure. */
    BACK_PRESSURE(7006, "pagestream: back-pressure events"),
    /** Source: frames refused for an admin action (term rotation), retried. */
    ADMIN_ACTIONS(7007, "pagestream: admin actions"),
    /** Source: times the bandwidth cap held a frame back. */
    RATE_LIMITED(7008, "pagestream: rate-limited waits"),
    /** Source: pages sent as deltas. */
    DELTA_PAGES_SENT(7009, "pagestream: delta pages sent"),
    /** Source: pages sent LZ4-compressed. */
    LZ4_PAGES_SENT(7010, "pagestream: lz4 pages sent"),
    /** Source: data pages after the bulk pass whose last sent version was cached. */
    PAGE_CACHE_HITS(7011, "pagestream: page cache hits"),
    /** Source: data pages after the bulk pass whose last sent version was not cached. */
    PAGE_CACHE_MISSES(7012, "pagestream: page cache misses"),
    /** Source: bytes the encodings kept off the wire. */
    BYTES_SAVED(7013, "pagestream: bytes saved by encoding"),
    /** Source: pages sent on the urgent lane in answer to post-copy faults. */
    URGENT_PAGES_SENT(7014, "pagestream: urgent pages sent"),
    /** Source: pages sent after the post-copy switchover, background and urgent. */
    POSTCOPY_PAGES_SENT(7015, "pagestream: post-copy pages sent"),
    /** Source: page requests received from the target. */
    PAGE_REQUESTS_RECEIVED(7016, "pagestream: page requests received"),
    /** Either side: post-copy link losses recovered by reconnecting. */
    RECOVERIES(7017, "pagestream: post-copy recoveries"),
    /** Source: control frames dropped because their frame tag did not verify. */
    BAD_FRAME_TAGS(7018, "pagestream: frames with a bad tag"),
    /** Source: the conductor's state, as {@code SourceState.code()} (1 handshake ... 7 done), like Aeron's own state counters. */
    SOURCE_STATE(7019, "pagestream: source state"),
    /** Source: data lanes in use. */
    DATA_LANES(7020, "pagestream: data lanes"),
    /** Source: pages of the current round (or of the post-copy push) not yet sent. */
    PAGES_REMAINING(7021, "pagestream: pages remaining"),
    /** Source: the send cap in force, bytes a second, 0 for none. */
    BANDWIDTH_CAP(7022, "pagestream: bandwidth cap B/s"),
    /** Target: page frames applied. */
    PAGE_FRAMES_RECEIVED(7101, "pagestream: page frames received"),
    /** Target: bytes received. */
    BYTES_RECEIVED(7102, "pagestream: bytes received"),
    /** Target: pages covered by zero runs. */
    ZERO_PAGES_RECEIVED(7103, "pagestream: zero pages received"),
    /** Target: frames dropped because another Aeron session or migration id sent them. */
    FOREIGN_FRAMES_DROPPED(7104, "pagestream: foreign frames dropped"),
    /** Target: Aeron images of other publishers on a pinned lane, rejected at the driver (Image.reject). */
    FOREIGN_IMAGES_REJECTED(7110, "pagestream: foreign images rejected"),
    /** Target: frames refused as malformed or failing their checksum. */
    BAD_FRAMES(7105, "pagestream: bad frames"),
    /** Target: post-copy faults that had to wait for their page. */
    FAULTS(7106, "pagestream: post-copy faults"),
    /** Target: page requests sent. */
    PAGE_REQUESTS_SENT(7107, "pagestream: page requests sent"),
    /** Target: post-copy page frames dropped because the page was already present. */
    DUPLICATE_PAGES_SKIPPED(7108, "pagestream: duplicate post-copy pages skipped"),
    /** Target: the conductor's state, as {@code TargetState.code()}. */
    TARGET_STATE(7109, "pagestream: target state");

    private final int typeId;
    private final String label;

    /**
     * @return the counters a source keeps.
     */
    public static CounterType[] source()
    {
        return new CounterType[]{ PAGES_SENT, BYTES_SENT, ZERO_PAGES_SENT, RAW_PAGES_SENT, ROUNDS, BACK_PRESSURE,
            ADMIN_ACTIONS, RATE_LIMITED, DELTA_PAGES_SENT, LZ4_PAGES_SENT, PAGE_CACHE_HITS, PAGE_CACHE_MISSES,
            BYTES_SAVED, URGENT_PAGES_SENT, POSTCOPY_PAGES_SENT, PAGE_REQUESTS_RECEIVED, RECOVERIES, BAD_FRAME_TAGS,
            SOURCE_STATE, DATA_LANES, PAGES_REMAINING, BANDWIDTH_CAP };
    }

    /**
     * @return the counters a target keeps.
     */
    public static CounterType[] target()
    {
        return new CounterType[]{ PAGE_FRAMES_RECEIVED, BYTES_RECEIVED, ZERO_PAGES_RECEIVED, FOREIGN_FRAMES_DROPPED,
            FOREIGN_IMAGES_REJECTED, BAD_FRAMES, FAULTS, PAGE_REQUESTS_SENT, DUPLICATE_PAGES_SKIPPED, RECOVERIES, TARGET_STATE };
    }

    CounterType(final int typeId, final String label)
    {
        this.typeId = typeId;
        this.label = label;
    }

    /** @return the Aeron counter type id. */
    public int typeId()
    {
        return typeId;
    }

    /** @return the label, to which the migration id is appended. */
    public String label()
    {
        return label;
    }
}
