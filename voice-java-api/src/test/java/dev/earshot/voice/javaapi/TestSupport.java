package dev.earshot.voice.javaapi;

import dev.earshot.voice.testkit.MemberScript;
import dev.earshot.voice.testkit.TestServerConfig;
import dev.earshot.voice.testkit.VoiceGrant;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/** Shared bits of the Java tests. */
final class TestSupport {
    /** Real sockets on a loaded machine: waits are generous, and end as soon as the awaited thing happens. */
    static final long WAIT_SECONDS = 30;

    /** The guild, voice channel and bot of every test, as the testkit's string ids. */
    static final String GUILD = "111";
    static final String CHANNEL = "222";
    static final String BOT = "999";

    /** The local test server: plain ws://, transport-only (no DAVE), seeded so runs repeat. */
    static final TestServerConfig TRANSPORT_ONLY = TestServerConfig.builder().daveProtocolVersion(0).seed(11L).build();

    /** A server that requires DAVE: Identify without it is closed with 4017. */
    static final TestServerConfig DAVE_REQUIRED = TestServerConfig.builder().daveProtocolVersion(1).requireDave(true).seed(11L).build();

    private TestSupport() {
    }

    /** The bot's session details for the facade, from what the test server granted (VOICE_STATE/SERVER_UPDATE). */
    static SessionInfo sessionInfo(VoiceGrant grant) {
        return new SessionInfo(Long.parseLong(grant.getGuildId()), Long.parseLong(grant.getChannelId()),
                Long.parseLong(grant.getUserId()), grant.getSessionId(), grant.getToken(), grant.getEndpoint());
    }

    /** A script of {@code spurts} tones of {@code hz} lasting {@code length}, each followed by 400 ms of silence. */
    static MemberScript tones(double hz, Duration length, int spurts) {
        MemberScript.Builder script = MemberScript.builder();
        for (int i = 0; i < spurts; i++) script.tone(hz, length).pause(Duration.ofMillis(400));
        return script.build();
    }

    /** Settings for the local test server: plain ws://, transport-only, quick retries. */
    static VoiceConfig.Builder testConfig() {
        return VoiceConfig.builder().secure(false).maxDaveProtocolVersion(0).reconnectDelay(Duration.ofMillis(100))
                .tickQueueCapacity(3000);
    }

    /** A single-thread executor whose thread is called {@code name}. */
    static ExecutorService namedExecutor(String name) {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** Waits until {@code condition} holds, checking every 10 ms, for at most {@link #WAIT_SECONDS}; false on timeout. */
    static boolean eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(WAIT_SECONDS).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(10);
        }
        return true;
    }
}
