/**
 * The sending side, as Aeron Archive's shape: {@link io.pagestream.sending.SourceConductor} drives one session at a
 * time (handshake, pre-copy, switchover, post-copy, recovery); pages go from guest memory through the
 * {@link io.pagestream.sending.PageSender}'s encoding onto {@link io.pagestream.sending.DataLanes} (and the urgent
 * lane), and the {@link io.pagestream.sending.TargetProxy} writes every other frame.
 */
package io.pagestream.sending;
