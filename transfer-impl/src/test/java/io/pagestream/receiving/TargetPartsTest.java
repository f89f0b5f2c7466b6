package io.pagestream.receiving;

import io.pagestream.security.FrameMac;
import io.pagestream.status.MigrationLifecycle;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The target's parts as built at launch, and where the session's frame key goes once the handshake knows it: the
 * control stream and the vCPU threads' page requests are signed under it, every data lane verifies under it.
 */
class TargetPartsTest
{
    private static final byte[] FRAME_KEY = "a frame key of thirty-two bytes!".getBytes();

    private static TargetParts parts(final TargetFixture f)
    {
        final MigrationLifecycle lifecycle =
            new MigrationLifecycle(f.ctx.listener(), f.ctx.errorHandler(), new CompletableFuture<>());
        return new TargetParts(null, lifecycle, f.ctx, f.links, null, null, f.counters, f.clock.nanoTime());
    }

    @Test
    void shouldSignControlFramesAndPageRequestsUnderTheControlKey()
    {
        final TargetFixture f = new TargetFixture(64);
        final TargetParts parts = parts(f);
        parts.proxy.connect(TargetFixture.MIGRATION_ID, "127.0.0.1:40401", 11);
        assertThat(parts.proxy.pollConnected()).isTrue();
        parts.faults.requestChannel(parts.proxy.requests(), TargetFixture.MIGRATION_ID);
        parts.faults.requestPage(1);
        assertThat(parts.proxy.control().signer()).isNull();

        parts.onControlKey(FRAME_KEY);
        parts.faults.requestPage(2);
        assertThat(parts.proxy.control().signer()).isNotNull();
        assertThat(f.links.requestOffers()).hasSize(2);
        assertThat(f.links.requestOffers().get(1) - f.links.requestOffers().get(0))
            .as("a signed request carries its tag").isEqualTo((long)FrameMac.TAG_LENGTH);
    }

    @Test
    void shouldVerifyDataFramesUnderTheDataKey()
    {
        final TargetFixture f = new TargetFixture(64);
        final TargetParts parts = parts(f);
        assertThat(parts.lanes.lane(0).guard().isVerifying()).isFalse();
        parts.onDataKey(FRAME_KEY);
        assertThat(parts.lanes.lane(0).guard().isVerifying()).isTrue();
        assertThat(parts.proxy.control()).as("the data key is not the control stream's business").isNull();
    }
}
