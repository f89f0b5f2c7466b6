package io.pagestream.api;

/**
 * Changes to a running migration, for a manager (QEMU's {@code migrate-set-parameters},
 * {@code migrate-start-postcopy} and pause-before-switchover have the same jobs). Each call is checked at once (a
 * bad value throws {@link MigrationException} with {@link ErrorCode#INVALID_CONFIGURATION} naming the setting and
 * the value, and changes nothing), then applied by the source's agent thread at its next duty cycle; the change
 * shows in {@link MigrationProgress#settings()}, in {@link MigrationListener#onSettingsChanged} and in the report
 * ({@link MigrationReport#adjustments()}). A call that cannot apply any more (post-copy asked for after the
 * switchover decision, or where post-copy was not enabled on both sides) is ignored and says so in the listener's
 * change text.
 * <p>
 * Once the migration has ended (from the moment its report is fixed, before {@code completion()} completes) every
 * call is a no-op: it still checks its value, then changes nothing, is announced nowhere and is not counted in
 * {@link MigrationReport#adjustments()}; {@link #settings()} gives the settings in force at the end, the report's.
 * A call that races the end may likewise be accepted and never take effect (it is then in neither the report nor
 * {@link #settings()}). A manager that needs to know tests {@code completion().isDone()}: no exception is thrown
 * for a migration that ended, since that can happen between any check and any call.
 * <p>
 * Threading: any thread.
 */
public interface MigrationControl
{
    /**
     * @param bytesPerSec the new send cap: 0 for none, or at least 64 KiB/s. In post-copy the push cap applies
     *                    instead unless it is 0.
     * @return this.
     */
    MigrationControl maxBandwidth(long bytesPerSec);

    /**
     * @param bytesPerSec the new cap for the post-copy push (faulted pages are charged to it too): 0 for the same as
     *                    {@link #maxBandwidth}, or at least 64 KiB/s.
     * @return this.
     */
    MigrationControl postcopyBandwidth(long bytesPerSec);

    /**
     * @param ms the new downtime target, positive. The built-in policies judge every later round against it; a
     *           policy of the embedder's own reads it from {@code RoundFigures.managedDowntimeTargetMs()}.
     * @return this.
     */
    MigrationControl downtimeTarget(long ms);

    /**
     * @param allowed whether the policy may switch to post-copy from now on. Allowing it again works only if both
     *                sides enabled post-copy at launch.
     * @return this.
     */
    MigrationControl postcopyAllowed(boolean allowed);

    /**
     * Switch to post-copy at the end of the current round (the bulk pass included), whatever the policy would
     * decide; ignored, and said so, if post-copy is not available.
     *
     * @return this.
     */
    MigrationControl startPostcopy();

    /**
     * Hold the migration at the end of the current pre-copy round, whatever the policy would decide there. While
     * held, once every page of the round has been sent the round is left open: the guest keeps running, its writes
     * gather in the dirty log, nothing more is sent, the dirty log is not read and the policy is not asked. On
     * release the round ends as usual: the dirty log is read and the policy decides (the next round, a throttle,
     * stop-and-copy or post-copy). Lets a VMM quiesce devices that are not vCPUs before the guest pauses. No effect
     * on a switchover already under way (stop-and-copy sending its last pages, or post-copy).
     *
     * @param hold true to hold; false to release.
     * @return this.
     */
    MigrationControl holdSwitchover(boolean hold);

    /**
     * @return the settings as last requested (they apply at the next duty cycle).
     */
    MigrationSettings settings();
}
