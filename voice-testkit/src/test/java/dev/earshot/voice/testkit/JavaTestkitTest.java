package dev.earshot.voice.testkit;

import dev.earshot.voice.crypto.EncryptionMode;
import dev.earshot.voice.testkit.chaos.ChaosAction;
import dev.earshot.voice.testkit.chaos.ChaosAttempt;
import dev.earshot.voice.testkit.chaos.ChaosScript;
import dev.earshot.voice.testkit.chaos.ChaosServerConfig;
import dev.earshot.voice.testkit.chaos.ChaosStep;
import dev.earshot.voice.testkit.chaos.ChaosVoiceServer;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The testkit driven from Java source, as a Java bot author's tests would: builders instead of Kotlin's named
 * arguments, {@code java.time.Duration}, blocking waits with the JDK's {@link TimeoutException}, try-with-resources.
 * (A Java test connecting Earshot itself lives in voice-java-api, which depends on this module.)
 */
class JavaTestkitTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void aScriptedMemberPlaysItsToneAndPauseThenLeaves() throws Exception {
        TestServerConfig config = TestServerConfig.builder().daveProtocolVersion(0).seed(7L).build();
        try (VoiceTestServer server = VoiceTestServer.start(config)) {
            VoiceGrant grant = server.grant("1", "2", "3");
            assertEquals(server.getEndpoint(), grant.getEndpoint());
            TestChannel channel = server.channel("1", "2");
            MemberScript script = MemberScript.builder()
                    .tone(440, Duration.ofMillis(200))
                    .pause(Duration.ofMillis(100))
                    .tone(660, Duration.ofMillis(100), 0.5)
                    .leave()
                    .build();
            ScriptedMember member = channel.newMember("4").script(script).dave(false).startDelay(Duration.ZERO).add();
            assertSame(member, channel.member("4"));

            member.awaitFinished(WAIT);

            List<SentFrame> sent = member.getSent();
            // Two talk spurts: 10 + 5 speech frames, each spurt ending in five silence frames; markers open spurts.
            assertEquals(15, sent.stream().filter(f -> !f.isSilence()).count(), sent::toString);
            assertEquals(10, sent.stream().filter(SentFrame::isSilence).count(), sent::toString);
            assertTrue(sent.get(0).getMarker() && sent.get(15).getMarker(), sent::toString);
            // The pause moves the RTP clock on without packets: the last silence frame's 960 samples plus 100 ms.
            long gap = (sent.get(15).getTimestamp() - sent.get(14).getTimestamp()) & 0xFFFF_FFFFL;
            assertEquals(960 + 4_800, gap);
            assertFalse(member.isPresent());
            assertTrue(member.isFinished());
            assertEquals(List.of(), channel.getMembers());
        }
    }

    @Test
    void waitsEndWithTheJdkTimeoutExceptionAndALeaveEndsAScript() throws Exception {
        try (VoiceTestServer server = VoiceTestServer.start(TestServerConfig.builder().daveProtocolVersion(0).build())) {
            // No client ever connects.
            TimeoutException noSession = assertThrows(TimeoutException.class,
                    () -> server.awaitSession("1", "3", Duration.ofMillis(50)));
            assertTrue(noSession.getMessage().contains("user 3"), noSession.getMessage());
            assertNull(server.session("1", "3"));

            ScriptedMember long_ = server.channel("1", "2")
                    .addMember("5", MemberScript.builder().tone(300, Duration.ofSeconds(30)).build());
            assertThrows(TimeoutException.class, () -> long_.awaitFinished(Duration.ofMillis(50)));
            assertTrue(long_.isPresent());
            long_.leave();
            long_.awaitFinished(WAIT);
            assertFalse(long_.isPresent());
        }
    }

    @Test
    void aChaosScriptBuiltInJavaClosesTheFirstConnectionBeforeHello() throws Exception {
        ChaosScript closeAtOnce = ChaosScript.builder()
                .at(ChaosStep.BEFORE_HELLO, new ChaosAction.Stall(Duration.ofMillis(10)), new ChaosAction.Close(4006))
                .build();
        ChaosServerConfig config = ChaosServerConfig.builder().heartbeatInterval(Duration.ofSeconds(5)).seed(2).build();
        assertEquals(Duration.ofSeconds(5), config.getHeartbeatInterval());
        try (ChaosVoiceServer server = ChaosVoiceServer.start(List.of(closeAtOnce), ChaosScript.NORMAL, config)) {
            assertThrows(TimeoutException.class, () -> server.awaitAttempts(1, Duration.ofMillis(50)));
            CompletableFuture<Integer> closeCode = new CompletableFuture<>();
            WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create(server.getUrl()), new WebSocket.Listener() {
                        @Override
                        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                            closeCode.complete(statusCode);
                            return null;
                        }

                        @Override
                        public void onError(WebSocket webSocket, Throwable error) {
                            closeCode.completeExceptionally(error);
                        }
                    })
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertEquals(4006, closeCode.get(WAIT.toSeconds(), TimeUnit.SECONDS));
            ws.abort();
            ChaosAttempt first = server.awaitAttempts(1, WAIT).get(0);
            assertEquals(0, first.getIndex());
            assertSame(closeAtOnce, first.getScript());
            assertTrue(first.getSteps().contains(ChaosStep.BEFORE_HELLO) && !first.getSteps().contains(ChaosStep.AFTER_HELLO),
                    first::toString);
        }
    }

    @Test
    void aClosedServerRefusesNewGrants() {
        VoiceTestServer server = VoiceTestServer.start();
        server.close();
        assertThrows(IllegalStateException.class, () -> server.grant("1", "2", "3"));
    }

    @Test
    void configurationsAreBuiltReadAndCopiedInJavaTypes() {
        TestServerConfig defaults = new TestServerConfig();
        assertEquals(Duration.ofMillis(13_750), defaults.getHeartbeatInterval());
        assertEquals(Duration.ofSeconds(60), defaults.getResumeWindow());
        assertEquals(1, defaults.getDaveProtocolVersion());
        assertNull(defaults.getSeed());
        assertEquals(defaults, TestServerConfig.builder().build());

        TestServerConfig c = TestServerConfig.builder()
                .tls(true)
                .heartbeatInterval(Duration.ofMillis(500))
                .modes(EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE)
                .extraModes("xsalsa20_poly1305")
                .requireDave(true)
                .resumeWindow(Duration.ofSeconds(5))
                .replayBufferSize(8)
                .keySwitchDelay(Duration.ZERO)
                .previousKeyGrace(Duration.ofMillis(10))
                .endpointCloseDelay(Duration.ofMillis(20))
                .echoKeepalives(false)
                .seed(3L)
                .build();
        assertTrue(c.getTls() && c.getRequireDave() && !c.getEchoKeepalives());
        assertEquals(Duration.ofMillis(500), c.getHeartbeatInterval());
        assertEquals(Duration.ofSeconds(5), c.getResumeWindow());
        assertEquals(Duration.ZERO, c.getKeySwitchDelay());
        assertEquals(Duration.ofMillis(10), c.getPreviousKeyGrace());
        assertEquals(Duration.ofMillis(20), c.getEndpointCloseDelay());
        assertEquals(List.of(EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE), c.getModes());
        assertEquals(List.of("xsalsa20_poly1305"), c.getExtraModes());
        assertEquals(8, c.getReplayBufferSize());
        assertEquals(3L, c.getSeed());
        assertEquals(c, c.toBuilder().build());
        assertNotEquals(c, c.toBuilder().seed(4L).build());

        assertThrows(IllegalArgumentException.class, () -> TestServerConfig.builder().heartbeatInterval(Duration.ZERO).build());
        assertThrows(IllegalArgumentException.class, () -> TestServerConfig.builder().daveProtocolVersion(2).build());

        FaultConfig faults = FaultConfig.builder().lossPercent(5).bursts(1, 3).reorder(2, 4).duplicatePercent(1)
                .jitterMillis(30).corruptPercent(0.5).seed(9).build();
        assertEquals(new FaultConfig(5, 1, 3, 2, 4, 1, 30, 0.5, 9), faults);
        assertTrue(FaultConfig.NONE.isNone());
        assertFalse(faults.isNone());
        assertEquals(faults, faults.toBuilder().build());
        assertThrows(IllegalArgumentException.class, () -> FaultConfig.builder().lossPercent(101).build());

        ScriptStep.Tone tone = (ScriptStep.Tone) MemberScript.builder().tone(440, Duration.ofMillis(40)).build().getSteps().get(0);
        assertEquals(Duration.ofMillis(40), tone.getDuration());
        assertEquals(0.25, tone.getAmplitude());
        assertEquals(new ScriptStep.Tone(440, Duration.ofMillis(40), 0.25), tone);
        assertEquals(List.of(new ScriptStep.Pause(Duration.ofMillis(5)), new ScriptStep.AwaitDave(Duration.ofSeconds(10)), ScriptStep.Leave.INSTANCE),
                MemberScript.builder().pause(Duration.ofMillis(5)).awaitDave().leave().build().getSteps());
        assertTrue(MemberScript.SILENT.getSteps().isEmpty());
    }

    @Test
    void aStallProbeFromJavaIsClosedByTryWithResourcesAndRefusesNonsense() {
        long stalls;
        try (StallProbe probe = StallProbe.start(); StallProbe coarse = StallProbe.start(2, 50)) {
            assertTrue(probeThreads() >= 2);
            assertTrue(probe.stalledTicks() >= probe.stalls());
            stalls = coarse.stalls();
        }
        // Closed: the threads are gone and the counts stay readable.
        assertEquals(0, probeThreads());
        assertTrue(stalls >= 0);
        assertThrows(IllegalArgumentException.class, () -> StallProbe.start(0, 10));
        assertThrows(IllegalArgumentException.class, () -> StallProbe.start(1, -1));
    }

    private static long probeThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("earshot-stall-probe") && t.isAlive()).count();
    }
}
