/**
 * Switchover policies: after every round they read measured figures and decide what the migration does next.
 * The default predicts downtime from the dirty set and the measured bandwidth.
 */
package io.pagestream.api.policy;
