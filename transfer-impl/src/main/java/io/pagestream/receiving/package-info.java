/**
 * The receiving side: {@link io.pagestream.receiving.TargetConductor} reads each data lane through a
 * {@link io.pagestream.receiving.DataLaneAdapter}; the {@link io.pagestream.receiving.GuestImage} checks and applies
 * pages into guest memory (through the {@link io.pagestream.receiving.PageApplier}); the hello acceptor, switchover
 * receiver and recovery responder own the rest; the {@link io.pagestream.receiving.SourceProxy} writes every frame
 * back; {@link io.pagestream.receiving.FaultService} is the post-copy fault path for vCPU threads.
 */
package io.pagestream.receiving;
