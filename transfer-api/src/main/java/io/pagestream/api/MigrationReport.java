package io.pagestream.api;

/**
 * The final account of a migration. Immutable; built by PageStream with {@link Builder}.
 */
public final class MigrationReport
{
    /** Version of the layout {@link #toJson()} writes; raised when a key changes meaning or goes away. */
    public static final int JSON_SCHEMA_VERSION = 1;

    private final String role;
    private final long migrationId;
    private final String cause;
    private final MigrationResult result;
    private final String reason;
    private final ErrorCode errorCode;
    private final MigrationMode mode;
    private final long guestBytes;
    private final int pageSize;
    private final long totalTimeMs;
    private final long downtimeMs;
    private final long downtimeTargetMs;
    private final int rounds;
    private final long pagesSent;
    private final long bytesOnWire;
    private final long zeroPages;
    private final long deltaPages;
    private final long lz4Pages;
    private final long rawPages;
    private final long backPressureEvents;
    private final long bytesSaved;
    private final long deviceStateBytes;
    private final long deviceSaveUs;
    private final long deviceRestoreUs;
    private final long staleDiscardUs;
    private final long faults;
    private final long faultP50Us;
    private final long faultP99Us;
    private final long faultMaxUs;
    private final int switchRound;
    private final long postcopyMs;
    private final long postcopyPages;
    private final long urgentPages;
    private final double maxThrottle;
    private final int recoveries;
    private final int lanes;
    private final int laneThreads;
    private final String lastDecision;
    private final long unreadZeroPages;
    private final long pagesCommittedAhead;
    private final String memoryPaths;
    private final String dirtyLog;
    private final String faultPath;
    private final int adjustments;
    private final String settings;

    private MigrationReport(final Builder b)
    {
        role = b.role;
        migrationId = b.migrationId;
        cause = b.cause;
        result = b.result;
        reason = b.reason;
        errorCode = b.errorCode;
        mode = b.mode;
        guestBytes = b.guestBytes;
        pageSize = b.pageSize;
        totalTimeMs = b.totalTimeMs;
        downtimeMs = b.downtimeMs;
        downtimeTargetMs = b.downtimeTargetMs;
        rounds = b.rounds;
        pagesSent = b.pagesSent;
        bytesOnWire = b.bytesOnWire;
        zeroPages = b.zeroPages;
        deltaPages = b.deltaPages;
        lz4Pages = b.lz4Pages;
        rawPages = b.rawPages;
        backPressureEvents = b.backPressureEvents;
        bytesSaved = b.bytesSaved;
        deviceStateBytes = b.deviceStateBytes;
        deviceSaveUs = b.deviceSaveUs;
        deviceRestoreUs = b.deviceRestoreUs;
        staleDiscardUs = b.staleDiscardUs;
        faults = b.faults;
        faultP50Us = b.faultP50Us;
        faultP99Us = b.faultP99Us;
        faultMaxUs = b.faultMaxUs;
        switchRound = b.switchRound;
        postcopyMs = b.postcopyMs;
        postcopyPages = b.postcopyPages;
        urgentPages = b.urgentPages;
        maxThrottle = b.maxThrottle;
        recoveries = b.recoveries;
        lanes = b.lanes;
        laneThreads = b.laneThreads;
        lastDecision = b.lastDecision;
        unreadZeroPages = b.unreadZeroPages;
        pagesCommittedAhead = b.pagesCommittedAhead;
        memoryPaths = b.memoryPaths;
        dirtyLog = b.dirtyLog;
        faultPath = b.faultPath;
        adjustments = b.adjustments;
        settings = b.settings;
    }

    /** @return how the migration ended. */
    public MigrationResult result()
    {
        return result;
    }

    /** @return why it ended that way, in words; "completed" on success. */
    public String reason()
    {
        return reason;
    }

    /** @return the error code for FAILED or CANCELLED, null on success. */
    public ErrorCode errorCode()
    {
        return errorCode;
    }

    /** @return how memory got across. */
    public MigrationMode mode()
    {
        return mode;
    }

    /** @return guest memory size in bytes. */
    public long guestBytes()
    {
        return guestBytes;
    }

    /** @return page size in bytes. */
    public int pageSize()
    {
        return pageSize;
    }

    /**
     * @return wall-clock milliseconds from the start of the migration (once launch has built everything: driver,
     * streams, allocations, codec warm-up) to its end.
     */
    public long totalTimeMs()
    {
        return totalTimeMs;
    }

    /**
     * @return wall-clock milliseconds from the source pausing its vCPUs to the target acknowledging that it may
     * resume; 0 if the vCPUs were never paused.
     */
    public long downtimeMs()
    {
        return downtimeMs;
    }

    /** @return the downtime target the migration ran with. */
    public long downtimeTargetMs()
    {
        return downtimeTargetMs;
    }

    /** @return rounds after the bulk pass, the stop-and-copy round included. */
    public int rounds()
    {
        return rounds;
    }

    /** @return pages sent, zero pages included (a zero-page run counts each page it covers). */
    public long pagesSent()
    {
        return pagesSent;
    }

    /** @return bytes handed to the transport, frame headers included. */
    public long bytesOnWire()
    {
        return bytesOnWire;
    }

    /** @return pages sent as part of zero-page runs. */
    public long zeroPages()
    {
        return zeroPages;
    }

    /** @return pages sent as deltas. */
    public long deltaPages()
    {
        return deltaPages;
    }

    /** @return pages sent LZ4-compressed. */
    public long lz4Pages()
    {
        return lz4Pages;
    }

    /** @return pages sent raw. */
    public long rawPages()
    {
        return rawPages;
    }

    /** @return times the transport refused a frame for back-pressure. */
    public long backPressureEvents()
    {
        return backPressureEvents;
    }

    /** @return bytes the page encodings kept off the wire compared with sending the same pages raw. */
    public long bytesSaved()
    {
        return bytesSaved;
    }

    /** @return size of the device state transferred. */
    public long deviceStateBytes()
    {
        return deviceStateBytes;
    }

    /**
     * @return source side: microseconds {@code DeviceState.save()} took, with the guest paused (part of the
     * downtime); 0 on the target and where the device state was never saved.
     */
    public long deviceSaveUs()
    {
        return deviceSaveUs;
    }

    /**
     * @return target side: microseconds {@code DeviceState.restore()} took at the switchover (before COMPLETE, so
     * part of a stop-and-copy's downtime); 0 on the source and where it was never restored.
     */
    public long deviceRestoreUs()
    {
        return deviceRestoreUs;
    }

    /**
     * @return target side: microseconds a post-copy switchover took to make the pending pages absent before the
     * guest ran here: the page installer's {@code onPostcopyStart} (the kernel fault path discards the stale pages and
     * registers guest memory with its userfaultfd; a VMM's hook does its own) and the present set; 0 without
     * post-copy and on the source.
     */
    public long staleDiscardUs()
    {
        return staleDiscardUs;
    }

    /** @return post-copy page faults served. */
    public long faults()
    {
        return faults;
    }

    /** @return median post-copy fault service time in microseconds. */
    public long faultP50Us()
    {
        return faultP50Us;
    }

    /** @return 99th percentile post-copy fault service time in microseconds. */
    public long faultP99Us()
    {
        return faultP99Us;
    }

    /** @return worst post-copy fault service time in microseconds. */
    public long faultMaxUs()
    {
        return faultMaxUs;
    }

    /** @return round after which the source switched over (stop-and-copy or post-copy); -1 if it never did. */
    public int switchRound()
    {
        return switchRound;
    }

    /** @return milliseconds from the post-copy switchover to the last page arriving; 0 without post-copy. */
    public long postcopyMs()
    {
        return postcopyMs;
    }

    /** @return pages moved after the post-copy switchover, background and urgent. */
    public long postcopyPages()
    {
        return postcopyPages;
    }

    /** @return pages sent on the urgent lane in answer to faults. */
    public long urgentPages()
    {
        return urgentPages;
    }

    /** @return largest fraction of vCPU time auto-converge held back, 0 if it never throttled. */
    public double maxThrottle()
    {
        return maxThrottle;
    }

    /** @return times a post-copy link loss was recovered by reconnecting. */
    public int recoveries()
    {
        return recoveries;
    }

    /**
     * @return data lanes the pages travelled on (1 unless the source asked for more).
     */
    public int lanes()
    {
        return lanes;
    }

    /**
     * @return data lanes that sent pre-copy rounds on threads of their own (0 unless the source asked for lane
     *         threads; 0 on the target).
     */
    public int laneThreads()
    {
        return laneThreads;
    }

    /**
     * @return the policy's last decision with the figures behind it (source side), e.g. why it switched to
     * post-copy or gave up; empty if no round ended.
     */
    public String lastDecision()
    {
        return lastDecision;
    }

    /**
     * @return source side: pages sent as zero without being read, because the kernel showed the guest never
     * populated them (reading would have committed them); 0 on the target.
     */
    public long unreadZeroPages()
    {
        return unreadZeroPages;
    }

    /**
     * @return target side: pages whose memory was committed in batches (one MADV_POPULATE_WRITE per run) ahead of
     * their data, instead of a page fault each; 0 on the source.
     */
    public long pagesCommittedAhead()
    {
        return pagesCommittedAhead;
    }

    /**
     * @return which kernel paths this side's memory work took, with call counts (native calls or their portable
     * fallbacks), e.g. {@code "linux-ffm x86_64: populated-map: PAGEMAP_SCAN 64"}; empty if none was used.
     */
    public String memoryPaths()
    {
        return memoryPaths;
    }

    /**
     * @return source side: how the dirty log was kept ({@link io.pagestream.api.guest.DirtyPageLog#name()}, e.g.
     * {@code "userfaultfd"} or {@code "software"}); empty on the target.
     */
    public String dirtyLog()
    {
        return dirtyLog;
    }

    /**
     * @return target side: how post-copy faults reached PageStream: {@code "userfaultfd"} (the kernel's fault path),
     * {@code "software"} (the VMM called awaitPage/requestPage) or {@code "hook"} (the VMM's own userfaultfd, pages
     * handed to its page-install hook); empty on the source.
     */
    public String faultPath()
    {
        return faultPath;
    }

    /**
     * @return source side: changes a manager made through {@link MigrationControl} while the migration ran.
     */
    public int adjustments()
    {
        return adjustments;
    }

    /**
     * @return source side: the settings in force at the end ({@link MigrationSettings#toString()}), empty on the
     * target.
     */
    public String settings()
    {
        return settings;
    }

    /** @return {@code "source"} or {@code "target"}: the side that wrote this report. */
    public String role()
    {
        return role;
    }

    /** @return the migration's id, the same on both sides once they met (0 on a target no source reached). */
    public long migrationId()
    {
        return migrationId;
    }

    /**
     * @return the cause of a failure as text (its exception's class and message, and those of its causes), empty
     * when there was none or the failure was not an exception (a decision, a timeout).
     */
    public String cause()
    {
        return cause;
    }

    /**
     * @return the report as one JSON object with every figure, the {@code errorCode}, the {@code migrationId} (hex),
     * the {@code cause} and a {@code schemaVersion} ({@value #JSON_SCHEMA_VERSION}).
     */
    public String toJson()
    {
        final StringBuilder b = new StringBuilder(1024).append("{\n");
        field(b, "schemaVersion", JSON_SCHEMA_VERSION);
        text(b, "role", role);
        text(b, "migrationId", Long.toHexString(migrationId));
        text(b, "result", result.name());
        text(b, "reason", reason);
        text(b, "errorCode", null == errorCode ? "" : errorCode.name());
        text(b, "cause", cause);
        text(b, "mode", mode.name());
        field(b, "guestBytes", guestBytes);
        field(b, "pageSize", pageSize);
        field(b, "lanes", lanes);
        field(b, "laneThreads", laneThreads);
        field(b, "totalTimeMs", totalTimeMs);
        field(b, "downtimeMs", downtimeMs);
        field(b, "downtimeTargetMs", downtimeTargetMs);
        field(b, "rounds", rounds);
        field(b, "switchRound", switchRound);
        b.append("  \"maxThrottle\": ").append(maxThrottle).append(",\n");
        text(b, "decision", lastDecision);
        field(b, "pagesSent", pagesSent);
        field(b, "bytesOnWire", bytesOnWire);
        field(b, "zeroPages", zeroPages);
        field(b, "deltaPages", deltaPages);
        field(b, "lz4Pages", lz4Pages);
        field(b, "rawPages", rawPages);
        field(b, "bytesSaved", bytesSaved);
        field(b, "backPressureEvents", backPressureEvents);
        field(b, "deviceStateBytes", deviceStateBytes);
        field(b, "deviceSaveUs", deviceSaveUs);
        field(b, "deviceRestoreUs", deviceRestoreUs);
        field(b, "staleDiscardUs", staleDiscardUs);
        field(b, "unreadZeroPages", unreadZeroPages);
        field(b, "pagesCommittedAhead", pagesCommittedAhead);
        field(b, "postcopyMs", postcopyMs);
        field(b, "postcopyPages", postcopyPages);
        field(b, "urgentPages", urgentPages);
        field(b, "faults", faults);
        field(b, "faultP50Us", faultP50Us);
        field(b, "faultP99Us", faultP99Us);
        field(b, "faultMaxUs", faultMaxUs);
        field(b, "recoveries", recoveries);
        text(b, "memoryPaths", memoryPaths);
        text(b, "dirtyLog", dirtyLog);
        text(b, "faultPath", faultPath);
        field(b, "adjustments", adjustments);
        b.append("  \"settings\": ");
        quote(b, settings);
        return b.append("\n}\n").toString();
    }

    private static void field(final StringBuilder b, final String key, final long value)
    {
        b.append("  \"").append(key).append("\": ").append(value).append(",\n");
    }

    private static void text(final StringBuilder b, final String key, final String value)
    {
        b.append("  \"").append(key).append("\": ");
        quote(b, value);
        b.append(",\n");
    }

    /**
     * @param b where to append.
     * @param s text to append as a JSON string, escaped.
     */
    static void quote(final StringBuilder b, final String s)
    {
        b.append('"');
        for (int i = 0; i < s.length(); i++)
        {
            final char c = s.charAt(i);
            switch (c)
            {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20)
                    {
                        b.append(String.format("\\u%04x", (int)c));
                    }
                    else
                    {
                        b.append(c);
                    }
            }
        }
        b.append('"');
    }

    /** {@inheritDoc} */
    public String toString()
    {
        return "MigrationReport{" +
            "result=" + result +
            ", reason='" + reason + '\'' +
            (null != errorCode ? ", errorCode=" + errorCode : "") +
            (cause.isEmpty() ? "" : ", cause='" + cause + '\'') +
            ", mode=" + mode +
            ", guestBytes=" + guestBytes +
            ", pageSize=" + pageSize +
            ", totalTimeMs=" + totalTimeMs +
            ", downtimeMs=" + downtimeMs +
            ", downtimeTargetMs=" + downtimeTargetMs +
            ", rounds=" + rounds +
            ", pagesSent=" + pagesSent +
            ", bytesOnWire=" + bytesOnWire +
            ", zero=" + zeroPages +
            ", delta=" + deltaPages +
            ", lz4=" + lz4Pages +
            ", raw=" + rawPages +
            ", backPressure=" + backPressureEvents +
            ", bytesSaved=" + bytesSaved +
            ", deviceStateBytes=" + deviceStateBytes +
            (deviceSaveUs > 0 ? ", deviceSaveUs=" + deviceSaveUs : "") +
            (deviceRestoreUs > 0 ? ", deviceRestoreUs=" + deviceRestoreUs : "") +
            (staleDiscardUs > 0 ? ", staleDiscardUs=" + staleDiscardUs : "") +
            ", switchRound=" + switchRound +
            (mode != MigrationMode.PRECOPY ? ", postcopyMs=" + postcopyMs + ", postcopyPages=" + postcopyPages +
                ", urgentPages=" + urgentPages + ", faults=" + faults + ", faultP50Us=" + faultP50Us +
                ", faultP99Us=" + faultP99Us + ", faultMaxUs=" + faultMaxUs + ", recoveries=" + recoveries : "") +
            (maxThrottle > 0 ? ", maxThrottle=" + maxThrottle : "") +
            (lanes > 1 ? ", lanes=" + lanes : "") +
            (laneThreads > 0 ? ", laneThreads=" + laneThreads : "") +
            (unreadZeroPages > 0 ? ", unreadZeroPages=" + unreadZeroPages : "") +
            (pagesCommittedAhead > 0 ? ", pagesCommittedAhead=" + pagesCommittedAhead : "") +
            (memoryPaths.isEmpty() ? "" : ", memoryPaths='" + memoryPaths + '\'') +
            (dirtyLog.isEmpty() ? "" : ", dirtyLog=" + dirtyLog) +
            (faultPath.isEmpty() ? "" : ", faultPath=" + faultPath) +
            (adjustments == 0 ? "" : ", adjustments=" + adjustments + ", settings='" + settings + "'") +
            '}';
    }

    /**
     * Mutable builder; not thread-safe.
     */
    public static final class Builder
    {
        private MigrationResult result = MigrationResult.FAILED;
        private String role = "";
        private long migrationId;
        private String cause = "";
        private String reason = "";
        private ErrorCode errorCode;
        private MigrationMode mode = MigrationMode.PRECOPY;
        private long guestBytes;
        private int pageSize;
        private long totalTimeMs;
        private long downtimeMs;
        private long downtimeTargetMs;
        private int rounds;
        private long pagesSent;
        private long bytesOnWire;
        private long zeroPages;
        private long deltaPages;
        private long lz4Pages;
        private long rawPages;
        private long backPressureEvents;
        private long bytesSaved;
        private long deviceStateBytes;
        private long deviceSaveUs;
        private long deviceRestoreUs;
        private long staleDiscardUs;
        private long faults;
        private long faultP50Us;
        private long faultP99Us;
        private long faultMaxUs;
        private int switchRound = -1;
        private long postcopyMs;
        private long postcopyPages;
        private long urgentPages;
        private double maxThrottle;
        private int recoveries;
        private int lanes = 1;
        private int laneThreads;
        private String lastDecision = "";
        private long unreadZeroPages;
        private long pagesCommittedAhead;
        private String memoryPaths = "";
        private String dirtyLog = "";
        private String faultPath = "";
        private int adjustments;
        private String settings = "";

        /**
         * Starts as a FAILED pre-copy report with every figure zero and no switch round (-1); the engine sets what it
         * measured.
         */
        public Builder()
        {
        }

        /**
         * @param v result.
         * @return this.
         */
        public Builder result(final MigrationResult v)
        {
            result = v;
            return this;
        }

        /**
         * @param v reason.
         * @return this.
         */
        public Builder reason(final String v)
        {
            reason = v;
            return this;
        }

        /**
         * @param v error code, null on success.
         * @return this.
         */
        public Builder errorCode(final ErrorCode v)
        {
            errorCode = v;
            return this;
        }

        /**
         * @param v mode.
         * @return this.
         */
        public Builder mode(final MigrationMode v)
        {
            mode = v;
            return this;
        }

        /**
         * @param v guest bytes.
         * @return this.
         */
        public Builder guestBytes(final long v)
        {
            guestBytes = v;
            return this;
        }

        /**
         * @param v page size.
         * @return this.
         */
        public Builder pageSize(final int v)
        {
            pageSize = v;
            return this;
        }

        /**
         * @param v total time in ms.
         * @return this.
         */
        public Builder totalTimeMs(final long v)
        {
            totalTimeMs = v;
            return this;
        }

        /**
         * @param v downtime in ms.
         * @return this.
         */
        public Builder downtimeMs(final long v)
        {
            downtimeMs = v;
            return this;
        }

        /**
         * @param v downtime target in ms.
         * @return this.
         */
        public Builder downtimeTargetMs(final long v)
        {
            downtimeTargetMs = v;
            return this;
        }

        /**
         * @param v iterative rounds.
         * @return this.
         */
        public Builder rounds(final int v)
        {
            rounds = v;
            return this;
        }

        /**
         * @param v pages sent.
         * @return this.
         */
        public Builder pagesSent(final long v)
        {
            pagesSent = v;
            return this;
        }

        /**
         * @param v bytes on the wire.
         * @return this.
         */
        public Builder bytesOnWire(final long v)
        {
            bytesOnWire = v;
            return this;
        }

        /**
         * @param zero  pages in zero runs.
         * @param delta delta pages.
         * @param lz4   LZ4 pages.
         * @param raw   raw pages.
         * @return this.
         */
        public Builder pagesByEncoding(final long zero, final long delta, final long lz4, final long raw)
        {
            zeroPages = zero;
            deltaPages = delta;
            lz4Pages = lz4;
            rawPages = raw;
            return this;
        }

        /**
         * @param v back-pressure events.
         * @return this.
         */
        public Builder backPressureEvents(final long v)
        {
            backPressureEvents = v;
            return this;
        }

        /**
         * @param v bytes the encodings saved.
         * @return this.
         */
        public Builder bytesSaved(final long v)
        {
            bytesSaved = v;
            return this;
        }

        /**
         * @param v device state size.
         * @return this.
         */
        public Builder deviceStateBytes(final long v)
        {
            deviceStateBytes = v;
            return this;
        }

        /**
         * @param v microseconds the device-state save took (source).
         * @return this.
         */
        public Builder deviceSaveUs(final long v)
        {
            deviceSaveUs = v;
            return this;
        }

        /**
         * @param v microseconds the device-state restore took (target).
         * @return this.
         */
        public Builder deviceRestoreUs(final long v)
        {
            deviceRestoreUs = v;
            return this;
        }

        /**
         * @param v microseconds a post-copy switchover took to make the pending pages absent (target).
         * @return this.
         */
        public Builder staleDiscardUs(final long v)
        {
            staleDiscardUs = v;
            return this;
        }

        /**
         * @param count faults served.
         * @param p50Us median in microseconds.
         * @param p99Us 99th percentile in microseconds.
         * @param maxUs maximum in microseconds.
         * @return this.
         */
        public Builder faults(final long count, final long p50Us, final long p99Us, final long maxUs)
        {
            faults = count;
            faultP50Us = p50Us;
            faultP99Us = p99Us;
            faultMaxUs = maxUs;
            return this;
        }

        /**
         * @param v round after which the source switched over (stop-and-copy or post-copy); -1 if it never did.
         * @return this.
         */
        public Builder switchRound(final int v)
        {
            switchRound = v;
            return this;
        }

        /**
         * @param v milliseconds from the post-copy switchover to the last page arriving; 0 without post-copy.
         * @return this.
         */
        public Builder postcopyMs(final long v)
        {
            postcopyMs = v;
            return this;
        }

        /**
         * @param v pages moved after the post-copy switchover, background and urgent.
         * @return this.
         */
        public Builder postcopyPages(final long v)
        {
            postcopyPages = v;
            return this;
        }

        /**
         * @param v pages sent on the urgent lane in answer to faults.
         * @return this.
         */
        public Builder urgentPages(final long v)
        {
            urgentPages = v;
            return this;
        }

        /**
         * @param v largest fraction of vCPU time auto-converge held back, 0 if it never throttled.
         * @return this.
         */
        public Builder maxThrottle(final double v)
        {
            maxThrottle = v;
            return this;
        }

        /**
         * @param v data lanes the pages travelled on.
         * @return this.
         */
        public Builder lanes(final int v)
        {
            lanes = v;
            return this;
        }

        /**
         * @param v data lanes that sent on threads of their own.
         * @return this.
         */
        public Builder laneThreads(final int v)
        {
            laneThreads = v;
            return this;
        }

        /**
         * @param v times a post-copy link loss was recovered by reconnecting.
         * @return this.
         */
        public Builder recoveries(final int v)
        {
            recoveries = v;
            return this;
        }

        /**
         * @param v the policy's last decision and its figures.
         * @return this.
         */
        public Builder lastDecision(final String v)
        {
            lastDecision = null == v ? "" : v;
            return this;
        }

        /**
         * @param v pages sent as zero without being read (source).
         * @return this.
         */
        public Builder unreadZeroPages(final long v)
        {
            unreadZeroPages = v;
            return this;
        }

        /**
         * @param v pages committed in batches ahead of their data (target).
         * @return this.
         */
        public Builder pagesCommittedAhead(final long v)
        {
            pagesCommittedAhead = v;
            return this;
        }

        /**
         * @param v kernel paths taken, with call counts.
         * @return this.
         */
        public Builder memoryPaths(final String v)
        {
            memoryPaths = null == v ? "" : v;
            return this;
        }

        /**
         * @param v how the dirty log was kept (source).
         * @return this.
         */
        public Builder dirtyLog(final String v)
        {
            dirtyLog = null == v ? "" : v;
            return this;
        }

        /**
         * @param v changes a manager made while the migration ran.
         * @return this.
         */
        public Builder adjustments(final int v)
        {
            adjustments = v;
            return this;
        }

        /**
         * @param v the settings in force at the end.
         * @return this.
         */
        public Builder settings(final String v)
        {
            settings = null == v ? "" : v;
            return this;
        }

        /**
         * @param v how post-copy faults reached PageStream.
         * @return this.
         */
        public Builder faultPath(final String v)
        {
            faultPath = null == v ? "" : v;
            return this;
        }

        /**
         * @param v "source" or "target".
         * @return this.
         */
        public Builder role(final String v)
        {
            role = null == v ? "" : v;
            return this;
        }

        /**
         * @param v the migration's id.
         * @return this.
         */
        public Builder migrationId(final long v)
        {
            migrationId = v;
            return this;
        }

        /**
         * @param t the failure's exception, or null: kept as text (class and message down the cause chain).
         * @return this.
         */
        public Builder cause(final Throwable t)
        {
            final StringBuilder text = new StringBuilder();
            for (Throwable c = t; null != c && text.length() < 2000; c = c.getCause() == c ? null : c.getCause())
            {
                text.append(text.length() == 0 ? "" : " <- ").append(c.getClass().getName());
                if (null != c.getMessage())
                {
                    text.append(": ").append(c.getMessage());
                }
            }
            cause = text.toString();
            return this;
        }

        /** @return the report. */
        public MigrationReport build()
        {
            return new MigrationReport(this);
        }
    }
}
