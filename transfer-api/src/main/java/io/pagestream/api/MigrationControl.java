package io.pagestream.api;

/**
 * Changes to a running migration, for a manager (QEMU's {@code migrate-set-parameters},
 * {@code migrate-start-postcopy} and pause-before-switchover have the same jobs). Each call is checked at once (a
 * bad value throws {@link MigrationException} with {@link ErrorCode#INVALID_CONFIGURATION} naming the setting and
 * the value, and changes nothing), then applied by the source's agent thread at its next duty cycle; the change
 * shows in {@link MigrationProgress#settings()}, in {@link MigrationListener#onSettingsChanged} and in the report
 * ({@link MigrationReport#adjustments()}). Calls made after the migration has ended, or that cannot apply any more
 * (post-copy asked for after the switchover), are ignored and say so in the listener's change text. Threading: any
 * thread.
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
     * @param hold true to hold the switchover: when the policy would switch (stop-and-copy or post-copy), the source
     *             keeps sending rounds with the guest running, and the policy is not asked again until the hold is
     *             released; false to release it, and the next round's end decides. Lets a VMM quiesce devices
     *             that are not vCPUs before the guest pauses.
     * @return this.
     */
    MigrationControl holdSwitchover(boolean hold);

    /**
     * @return the settings as last requested (they apply at the next duty cycle).
     */
    MigrationSettings settings();
}
