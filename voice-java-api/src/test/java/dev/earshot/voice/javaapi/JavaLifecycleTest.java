package dev.earshot.voice.javaapi;

import dev.earshot.voice.ReceiveConfig;
import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.connection.VoiceChannelLeftException;
import dev.earshot.voice.testkit.VoiceTestServer;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static dev.earshot.voice.javaapi.TestSupport.WAIT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Voice state updates from Java, the futures' completion rules, and error messages that name the Java setters. */
class JavaLifecycleTest {
    @Test
    void beingRemovedFromTheChannelEndsTheConnectionAndFailsClosedWithTheTypedCause() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor("java-lifecycle");
        try {
            JavaVoiceConnection c = EarshotVoice.connect(JavaTestKit.sessionInfo(server), TestSupport.testConfig().build())
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            CountDownLatch closed = new CountDownLatch(1);
            AtomicReference<@Nullable Throwable> cause = new AtomicReference<>();
            c.addListener(new VoiceListener() {
                @Override
                public void onClosed(@Nullable Throwable why) {
                    cause.set(why);
                    closed.countDown();
                }
            }, executor);
            ActiveSink sink = c.listen(Sinks.of(frame -> { }, executor));
            // Completes normally: the update was applied (the connection has ended).
            c.removedFromChannel().get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertTrue(closed.await(WAIT_SECONDS, TimeUnit.SECONDS), "onClosed");
            assertInstanceOf(VoiceChannelLeftException.class, cause.get());
            ExecutionException e = assertThrows(ExecutionException.class, () -> c.closed().get(WAIT_SECONDS, TimeUnit.SECONDS));
            assertInstanceOf(VoiceChannelLeftException.class, e.getCause());
            // A sink ends normally with its connection; a disconnect after the end completes normally too.
            sink.finished().get(WAIT_SECONDS, TimeUnit.SECONDS);
            c.disconnect().get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertFalse(c.isAlive());
        } finally {
            executor.shutdownNow();
            server.close();
        }
    }

    @Test
    void aChannelMoveMakesTheConnectionWaitForItsNewServer() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        try (JavaVoiceConnection c = EarshotVoice.connect(JavaTestKit.sessionInfo(server), TestSupport.testConfig().build())
                .get(WAIT_SECONDS, TimeUnit.SECONDS)) {
            long channel = c.session().getChannelId();
            // The same values change nothing.
            c.updateVoiceState(channel, c.session().getSessionId()).get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(ConnectionState.CONNECTED, c.state());
            c.updateVoiceState(channel + 1, c.session().getSessionId()).get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertTrue(TestSupport.eventually(() -> c.state() == ConnectionState.WAITING_FOR_SERVER), "waits: " + c.state());
            assertEquals(channel + 1, c.session().getChannelId());
            assertTrue(c.isAlive());
            c.disconnect().get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(null, c.closed().get(WAIT_SECONDS, TimeUnit.SECONDS), "closed() completes normally after a disconnect");
        } finally {
            server.close();
        }
    }

    @Test
    void formatMismatchesFailWithMessagesNamingTheJavaSetters(@TempDir Path dir) throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor("java-lifecycle");
        try (JavaVoiceConnection mono = EarshotVoice.connect(JavaTestKit.sessionInfo(server),
                TestSupport.testConfig(ReceiveConfig.builder().decode(PcmFormat.MONO_16K)).build()).get(WAIT_SECONDS, TimeUnit.SECONDS)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> mono.listen(Sinks.perUserWav(dir)));
            assertTrue(e.getMessage().contains("ReceiveConfig.builder().decode(PcmFormat.STEREO_48K)"), e.getMessage());
            assertFalse(e.getMessage().contains("ReceiveConfig.decode ="), e.getMessage());
            // 16 kHz mono is what this connection decodes: fine.
            mono.listen(Sinks.perUserWav(dir, PcmFormat.MONO_16K, null)).close();
        } finally {
            server.close();
        }
        VoiceTestServer server2 = JavaTestKit.startServer(false);
        try (JavaVoiceConnection opus = EarshotVoice.connect(JavaTestKit.sessionInfo(server2),
                TestSupport.testConfig(ReceiveConfig.builder().decode(null)).build()).get(WAIT_SECONDS, TimeUnit.SECONDS)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> opus.combinedAudio(null, executor));
            assertTrue(e.getMessage().contains("ReceiveConfig.builder().decode(PcmFormat.STEREO_48K)"), e.getMessage());
            IllegalArgumentException f = assertThrows(IllegalArgumentException.class, () -> opus.frames(1, PcmFormat.MONO_16K, executor));
            assertTrue(f.getMessage().contains("decodes nothing (Opus only)") && f.getMessage().contains(".decode(PcmFormat.MONO_16K)"), f.getMessage());
            // Opus needs no decoding.
            opus.listen(Sinks.perUserOgg(dir.resolve("ogg"))).close();
        } finally {
            executor.shutdownNow();
            server2.close();
        }
    }
}
