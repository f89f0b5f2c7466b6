package io.pagestream.sending;

import io.pagestream.status.Events;

/**
 * The JFR event that spans a post-copy recovery of the source: begun when the link is lost (again, if a stalled
 * resume starts over, replacing the one begun before), committed when the target is back or the migration fails.
 * <p>
 * Threading: the source conductor's thread.
 */
final class RecoveryEvent
{
    private Events.Recovery event;

    /**
     * @param migrationId the migration's id.
     * @param why         what was lost.
     */
    void begin(final long migrationId, final String why)
    {
        event = new Events.Recovery();
        event.begin();
        event.migrationId = migrationId;
        event.why = why;
    }

    /**
     * Commit the event begun last, if any.
     *
     * @param recovered true if the target came back.
     */
    void end(final boolean recovered)
    {
        if (null != event)
        {
            event.recovered = recovered;
            event.commit();
            event = null;
        }
    }
}
