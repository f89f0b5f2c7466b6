package io.pagestream.sending;

import io.pagestream.api.ErrorCode;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.status.CounterType;
import io.pagestream.status.MigrationCounters;
import io.pagestream.status.MigrationLifecycle;
import io.pagestream.testing.TestCounters;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The source's parts as built at launch, before a conductor drives them: control frames go on lane 0's stream, the
 * handshake names every lane, and the number of lanes is published. (Every conductor test builds them too.)
 */
class SourcePartsTest
{
    private final MigrationCounters counters = TestCounters.of(CounterType.source());

    private SourceParts parts(final SourceFixture f)
    {
        final MigrationLifecycle lifecycle =
            new MigrationLifecycle(f.ctx.listener(), f.ctx.errorHandler(), new CompletableFuture<>());
        return new SourceParts(null, f.ctx, f.links, f.sinks, null, counters, lifecycle);
    }

    @Test
    void shouldPutControlFramesOnLaneZerosStream()
    {
        final SourceFixture f = new SourceFixture(2048, 3);
        final SourceParts parts = parts(f);
        parts.proxy.error(ErrorCode.CANCELLED, "test");
        assertThat(f.sinks[0].types()).containsExactly(FrameType.ERROR);
        assertThat(f.sinks[1].count()).isZero();
        assertThat(f.sinks[2].count()).isZero();
    }

    @Test
    void shouldNameEveryLaneInTheHelloAndPublishHowManyThereAre()
    {
        final SourceFixture f = new SourceFixture(2048, 3);
        final SourceParts parts = parts(f);
        assertThat(counters.value(CounterType.DATA_LANES)).isEqualTo(3);
        parts.handshake.start(false, f.clock.nanoTime());
        parts.handshake.doWork(f.clock.nanoTime());

        final HelloFlyweight hello = new HelloFlyweight();
        hello.wrapForRead(f.sinks[0].buffer(), f.sinks[0].offset(0));
        final int length = f.sinks[0].length(0);
        hello.validate(length);
        assertThat(hello.laneCount(length)).isEqualTo(3);
        assertThat(hello.laneSessionId(2)).isEqualTo(f.sinks[2].sessionId());
        assertThat(parts.pending.cardinality()).as("nothing pending before a switchover").isZero();
    }
}
