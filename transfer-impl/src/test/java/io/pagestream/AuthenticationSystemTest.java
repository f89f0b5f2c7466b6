package io.pagestream;

import io.pagestream.api.ErrorCode;
import io.pagestream.api.MigrationReport;
import io.pagestream.api.MigrationResult;
import io.pagestream.api.MigrationTarget;
import io.pagestream.protocol.AuthFlyweight;
import io.pagestream.protocol.Capabilities;
import io.pagestream.protocol.FrameType;
import io.pagestream.protocol.HelloAckFlyweight;
import io.pagestream.protocol.HelloFlyweight;
import io.pagestream.security.HandshakeAuthenticator;
import io.pagestream.synthetic.MemoryDigest;
import io.pagestream.synthetic.SyntheticGuest;
import io.pagestream.synthetic.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The handshake with a pre-shared key, over real UDP: both sides must prove they hold it before a page moves; a
 * wrong key, or a key on one side only, is refused on both sides with a message saying so, and the guest keeps
 * running on the source; a replayed answer from an earlier session does not pass.
 */
class AuthenticationSystemTest
{
    private static final byte[] KEY = "correct horse battery staple 01".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OTHER_KEY = "an entirely different secret 02".getBytes(StandardCharsets.US_ASCII);

    private static SyntheticGuest.Config busy()
    {
        return new SyntheticGuest.Config().sizeBytes(32L << 20).workload(Workload.HOTSET)
            .dirtyRatePagesPerSec(5_000).fillFraction(0.6);
    }

    @Test
    @Timeout(60)
    void shouldMigrateWhenBothSidesHoldTheKey() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busy()))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> t.secretKey(KEY), s -> s.secretKey(KEY), 30);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(MemoryDigest.digest(harness.sourceGuest.memory()),
                MemoryDigest.digest(harness.targetGuest.memory()));
        }
    }

    @Test
    @Timeout(60)
    void shouldRefuseATargetWithADifferentKeyOnBothSidesAndKeepTheGuestRunning() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busy()))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(
                t -> t.secretKey(OTHER_KEY), s -> s.secretKey(KEY), 30);
            assertEquals(MigrationResult.FAILED, reports[0].result(), reports[0].toString());
            assertEquals(ErrorCode.AUTHENTICATION_FAILED, reports[0].errorCode());
            assertTrue(reports[0].reason().contains("failed authentication"), reports[0].reason());
            assertEquals(MigrationResult.FAILED, reports[1].result(), reports[1].toString());
            assertEquals(ErrorCode.AUTHENTICATION_FAILED, reports[1].errorCode(), reports[1].reason());
            harness.assertGuestRunsOnSource();
            assertEquals(0, PageStream.counter(harness.target, io.pagestream.status.CounterType.PAGE_FRAMES_RECEIVED));
        }
    }

    @Test
    @Timeout(60)
    void shouldRefuseWhenOnlyOneSideHoldsAKey() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busy()))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(
                t -> t.secretKey(null).allowUnauthenticated(true), s -> s.secretKey(KEY), 30);
            assertEquals(ErrorCode.MISSING_CAPABILITY, reports[0].errorCode(), reports[0].toString());
            assertTrue(reports[0].reason().contains("holds no secret key"), reports[0].reason());
            harness.assertGuestRunsOnSource();
        }
        try (MigrationHarness harness = new MigrationHarness(busy()))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(
                t -> t.secretKey(KEY), s -> s.secretKey(null).allowUnauthenticated(true), 30);
            assertEquals(ErrorCode.MISSING_CAPABILITY, reports[1].errorCode(), reports[1].toString());
            assertTrue(reports[0].reason().contains("accepts authenticated sources only"), reports[0].reason());
            harness.assertGuestRunsOnSource();
        }
    }

    @Test
    @Timeout(60)
    void shouldMigrateWithATagOnEveryFrame() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busy()))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(
                t -> t.frameAuthentication(true), s -> s.frameAuthentication(true), 30);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(MemoryDigest.digest(harness.sourceGuest.memory()),
                MemoryDigest.digest(harness.targetGuest.memory()));
            assertEquals(0, PageStream.counter(harness.source, io.pagestream.status.CounterType.BAD_FRAME_TAGS));
        }
    }

    @Test
    @Timeout(60)
    void shouldMigrateWithEveryFrameEncrypted() throws Exception
    {
        // Guest memory must not cross the wire readable: capture the data frames and look for a page's bytes.
        final byte[] marker = "PAGESTREAM-SECRET-MARKER-0123456789".getBytes(StandardCharsets.US_ASCII);
        final java.util.concurrent.atomic.AtomicInteger sightings = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicLong inspected = new java.util.concurrent.atomic.AtomicLong();
        final io.aeron.driver.ext.LossGenerator sniffer = (address, buffer, length) ->
        {
            inspected.incrementAndGet();
            for (int i = 0; i + marker.length <= length; i++)
            {
                int j = 0;
                while (j < marker.length && buffer.getByte(i + j) == marker[j])
                {
                    j++;
                }
                if (j == marker.length)
                {
                    sightings.incrementAndGet();
                    break;
                }
            }
            return false;
        };
        try (LossyDriver driver = new LossyDriver(sniffer, LossyDriver.NO_LOSS, LossyDriver.NO_LOSS);
            MigrationHarness harness = new MigrationHarness(new SyntheticGuest.Config().sizeBytes(8L << 20)
                .workload(Workload.IDLE).fillFraction(0.0)))
        {
            for (long p = 0; p < harness.sourceGuest.memory().pageCount(); p += 7)
            {
                final long address = harness.sourceGuest.memory().pageAddress(p) + 100;
                for (int i = 0; i < marker.length; i++)
                {
                    org.agrona.UnsafeApi.putByte(address + i, marker[i]);
                }
            }
            final MigrationReport[] reports = harness.migrate(t -> t.frameEncryption(true),
                s -> s.frameEncryption(true).aeronDirectoryName(driver.directory)
                .compression(io.pagestream.api.Compression.NONE), 30);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
            assertEquals(MigrationResult.COMPLETED, reports[1].result(), reports[1].toString());
            assertEquals(MemoryDigest.digest(harness.sourceGuest.memory()),
                MemoryDigest.digest(harness.targetGuest.memory()));
            assertTrue(inspected.get() > 100, "frames were inspected: " + inspected.get());
            assertEquals(0, sightings.get(), "guest bytes seen in the clear on the wire");
        }
    }

    @Test
    @Timeout(60)
    void shouldRefuseWhenTheSidesDisagreeOnFrameAuthentication() throws Exception
    {
        try (MigrationHarness harness = new MigrationHarness(busy()))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> { }, s -> s.frameAuthentication(true), 30);
            assertEquals(ErrorCode.MISSING_CAPABILITY, reports[1].errorCode(), reports[1].toString());
            assertTrue(reports[1].reason().contains("frame authentication/encryption differ"), reports[1].reason());
            harness.assertGuestRunsOnSource();
        }
    }

    @Test
    @Timeout(60)
    void shouldFailOnAFrameAlteredOnThePathAndKeepTheGuestOnTheSource() throws Exception
    {
        // Someone on the path flips one bit of one data frame; UDP and Aeron carry it on as if nothing happened.
        final java.util.concurrent.atomic.AtomicInteger frames = new java.util.concurrent.atomic.AtomicInteger();
        final io.aeron.driver.ext.LossGenerator tamper = (address, buffer, length) ->
        {
            if (length > 1000 && frames.incrementAndGet() == 200)
            {
                // Inside the page payload: past Aeron's 32-byte data header and our 48-byte page header.
                buffer.putByte(32 + 48 + 100, (byte)(buffer.getByte(32 + 48 + 100) ^ 1));
            }
            return false;
        };
        try (LossyDriver driver = new LossyDriver(tamper, LossyDriver.NO_LOSS, LossyDriver.NO_LOSS);
            MigrationHarness harness = new MigrationHarness(busy()))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> t.frameAuthentication(true),
                s -> s.frameAuthentication(true).aeronDirectoryName(driver.directory), 30);
            assertEquals(MigrationResult.FAILED, reports[1].result(), reports[1].toString());
            assertEquals(ErrorCode.AUTHENTICATION_FAILED, reports[1].errorCode(), reports[1].reason());
            assertTrue(reports[1].reason().contains("fails its tag"), reports[1].reason());
            assertEquals(MigrationResult.FAILED, reports[0].result(), reports[0].toString());
            harness.assertGuestRunsOnSource();
        }
    }

    @Test
    @Timeout(60)
    void shouldRefuseASourceOfferingAnotherVirtualMachine() throws Exception
    {
        final java.util.UUID expected = java.util.UUID.randomUUID();
        final java.util.UUID offered = java.util.UUID.randomUUID();
        try (MigrationHarness harness = new MigrationHarness(busy()))
        {
            harness.sourceGuest.vcpus().start();
            final MigrationReport[] reports = harness.migrate(t -> t.vmId(expected), s -> s.vmId(offered), 30);
            assertEquals(ErrorCode.WRONG_VM, reports[1].errorCode(), reports[1].toString());
            assertTrue(reports[1].reason().contains(offered.toString()) &&
                reports[1].reason().contains(expected.toString()), reports[1].reason());
            assertEquals(ErrorCode.WRONG_VM, reports[0].errorCode(), reports[0].toString());
            harness.assertGuestRunsOnSource();
        }
        try (MigrationHarness harness = new MigrationHarness(busy()))
        {
            final MigrationReport[] reports = harness.migrate(t -> t.vmId(expected), s -> s.vmId(expected), 30);
            assertEquals(MigrationResult.COMPLETED, reports[0].result(), reports[0].toString());
        }
    }

    @Test
    @Timeout(60)
    void shouldNameAnUnsupportedProtocolVersionWhenNoUsableHelloCame() throws Exception
    {
        final String targetEndpoint = "127.0.0.1:" + LoopbackPorts.next();
        final String controlEndpoint = "127.0.0.1:" + LoopbackPorts.next();
        try (SyntheticGuest guest = SyntheticGuest.createTarget(new SyntheticGuest.Config().sizeBytes(4096L * 4096)
            .workload(Workload.IDLE));
            MigrationTarget target = PageStream.launchTarget(new MigrationTarget.Context()
                .guestMemory(guest.memory()).deviceState(guest.deviceState()).listenEndpoint(targetEndpoint)
                .urgentEndpoint("127.0.0.1:" + LoopbackPorts.next()).secretKey(KEY)
                .handshakeTimeoutMs(1_500));
            HostileFrameSystemTest.FakeSource future =
                new HostileFrameSystemTest.FakeSource(targetEndpoint, controlEndpoint))
        {
            // A source of a later protocol version: its hello cannot be parsed here, so it is refused, counted and
            // named when the wait ends, rather than obeyed.
            future.awaitConnected();
            final HelloFlyweight hello = new HelloFlyweight();
            hello.wrap(future.buffer, 0);
            final int length = HelloFlyweight.frameLength(1, controlEndpoint.length());
            hello.writeHeader(FrameType.HELLO, length, 0x5EED5EED5EEDL);
            hello.pageSize(4096).regionCount(1).pageCount(4096).controlStreamId(1002).regionLength(0, 4096L * 4096)
                .controlEndpoint(controlEndpoint);
            future.buffer.putByte(io.pagestream.protocol.FrameFlyweight.VERSION_OFFSET, (byte)9);
            future.send(length);
            final MigrationReport report = target.completion().get(20, TimeUnit.SECONDS);
            assertEquals(ErrorCode.TIMEOUT, report.errorCode(), report.toString());
            assertTrue(report.reason().contains("protocol version=9"), report.reason());
        }
    }

    @Test
    void shouldRefuseToRunWithoutAKeyUnlessThatIsChosenExplicitly()
    {
        final io.pagestream.api.MigrationException refused = org.junit.jupiter.api.Assertions.assertThrows(
            io.pagestream.api.MigrationException.class, () -> new MigrationTarget.Context()
            .guestMemory(io.pagestream.api.guest.GuestMemory.allocate(1 << 20, 4096))
            .deviceState(io.pagestream.synthetic.SyntheticDeviceState.target()).conclude());
        assertEquals(ErrorCode.INVALID_CONFIGURATION, refused.errorCode());
        assertTrue(refused.getMessage().contains("secretKey") &&
            refused.getMessage().contains("allowUnauthenticated(true)"), refused.getMessage());

        final io.pagestream.api.MigrationException tooShort = org.junit.jupiter.api.Assertions.assertThrows(
            io.pagestream.api.MigrationException.class, () -> new MigrationTarget.Context()
            .guestMemory(io.pagestream.api.guest.GuestMemory.allocate(1 << 20, 4096))
            .deviceState(io.pagestream.synthetic.SyntheticDeviceState.target()).secretKey(new byte[8]).conclude());
        assertTrue(tooShort.getMessage().contains("at least 16 bytes"), tooShort.getMessage());
    }

    @Test
    @Timeout(60)
    void shouldRefuseAReplayedAnswerAndAnyPageBeforeAuthentication() throws Exception
    {
        final String targetEndpoint = "127.0.0.1:" + LoopbackPorts.next();
        final String controlEndpoint = "127.0.0.1:" + LoopbackPorts.next();
        try (SyntheticGuest guest = SyntheticGuest.createTarget(new SyntheticGuest.Config().sizeBytes(4096L * 4096)
            .workload(Workload.IDLE));
            MigrationTarget target = PageStream.launchTarget(new MigrationTarget.Context()
                .guestMemory(guest.memory()).deviceState(guest.deviceState()).listenEndpoint(targetEndpoint)
                .urgentEndpoint("127.0.0.1:" + LoopbackPorts.next()).secretKey(KEY));
            HostileFrameSystemTest.FakeSource attacker =
                new HostileFrameSystemTest.FakeSource(targetEndpoint, controlEndpoint))
        {
            // The attacker replays an earlier session's HELLO and AUTH: the target's nonce is fresh this time.
            final byte[] oldSourceNonce = new byte[HelloFlyweight.NONCE_LENGTH];
            final byte[] oldTargetNonce = new byte[HelloFlyweight.NONCE_LENGTH];
            oldTargetNonce[0] = 1;
            final byte[] replayedTag = new HandshakeAuthenticator(KEY).sourceTag(
                0x5EED5EED5EEDL, oldSourceNonce, oldTargetNonce);

            attacker.awaitConnected();
            final HelloFlyweight hello = new HelloFlyweight();
            hello.wrap(attacker.buffer, 0);
            final int length = HelloFlyweight.frameLength(1, controlEndpoint.length());
            hello.writeHeader(FrameType.HELLO, length, 0x5EED5EED5EEDL);
            hello.pageSize(4096).regionCount(1).pageCount(4096).capabilities(Capabilities.AUTHENTICATED)
                .timestampNs(1).controlStreamId(1002).regionLength(0, 4096L * 4096).controlEndpoint(controlEndpoint);
            hello.nonce(oldSourceNonce);
            attacker.send(length);
            final byte[] freshTargetNonce = new byte[HelloFlyweight.NONCE_LENGTH];
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            final boolean[] acked = new boolean[1];
            while (!acked[0])
            {
                assertTrue(System.nanoTime() < deadline, "no HELLO_ACK");
                attacker.control.poll((buf, off, len, hdr) ->
                {
                    if (buf.getByte(off + 1) == FrameType.HELLO_ACK)
                    {
                        final HelloAckFlyweight ack = new HelloAckFlyweight();
                        ack.wrapForRead(buf, off);
                        ack.getNonce(freshTargetNonce);
                        acked[0] = true;
                    }
                }, 10);
                Thread.sleep(1);
            }
            assertFalse(java.util.Arrays.equals(freshTargetNonce, oldTargetNonce), "the target chose a fresh nonce");

            final AuthFlyweight auth = new AuthFlyweight();
            auth.wrap(attacker.buffer, 0);
            auth.writeHeader(FrameType.AUTH, AuthFlyweight.LENGTH, 0x5EED5EED5EEDL);
            auth.tag(replayedTag);
            attacker.send(AuthFlyweight.LENGTH);

            final MigrationReport report = target.completion().get(20, TimeUnit.SECONDS);
            assertEquals(ErrorCode.AUTHENTICATION_FAILED, report.errorCode(), report.toString());
            assertEquals(ErrorCode.AUTHENTICATION_FAILED.value(), attacker.awaitErrorCode(5_000));
            assertEquals(0, PageStream.counter(target, io.pagestream.status.CounterType.PAGE_FRAMES_RECEIVED));
        }
    }
}
