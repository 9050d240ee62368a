package dev.earshot.voice.javaapi;

import dev.earshot.voice.testkit.ScriptedMember;
import dev.earshot.voice.testkit.VoiceTestServer;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.earshot.voice.javaapi.TestSupport.WAIT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Connect, listen and close from Java against the testkit's voice server on loopback. */
class JavaConnectionTest {
    private static final String THREAD = "java-callbacks";

    @Test
    void listenerCallbacksArriveOnTheChosenExecutorInOrderAndStopAtClose() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor(THREAD);
        try {
            JavaVoiceConnection c = EarshotVoice.connect(JavaTestKit.sessionInfo(server), TestSupport.testConfig().build())
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(ConnectionState.CONNECTED, c.state());
            assertEquals("aead_aes256_gcm_rtpsize", c.encryptionMode());
            assertEquals(0, c.daveProtocolVersion());

            List<String> wrongThreads = new CopyOnWriteArrayList<>();
            List<Long> eventOrder = new CopyOnWriteArrayList<>();
            CountDownLatch userAudio = new CountDownLatch(25);
            CountDownLatch opus = new CountDownLatch(25);
            CountDownLatch combinedAudio = new CountDownLatch(10);
            CountDownLatch speakingStart = new CountDownLatch(1);
            CountDownLatch speakingStop = new CountDownLatch(1);
            CountDownLatch joined = new CountDownLatch(1);
            CountDownLatch left = new CountDownLatch(1);
            CountDownLatch closed = new CountDownLatch(1);
            AtomicReference<@Nullable Throwable> closedCause = new AtomicReference<>(new AssertionError("not called"));
            AtomicInteger callsAfterClose = new AtomicInteger();
            AtomicInteger combinedSilence = new AtomicInteger();

            Subscription subscription = c.addListener(new VoiceListener() {
                private void onThread() {
                    if (!Thread.currentThread().getName().equals(THREAD)) wrongThreads.add(Thread.currentThread().getName());
                    if (closed.getCount() == 0) callsAfterClose.incrementAndGet();
                }

                @Override
                public void onUserAudio(VoiceFrame frame) {
                    onThread();
                    if (frame.userId() == 1L && frame.pcm() != null && frame.pcm().length == 1920) userAudio.countDown();
                }

                @Override
                public void onOpusPacket(VoicePacket packet) {
                    onThread();
                    if (packet.userId() == 1L && !packet.isSilence()) opus.countDown();
                }

                @Override
                public boolean canReceiveCombined() {
                    return true;
                }

                @Override
                public void onCombinedAudio(VoiceFrame mixed) {
                    onThread();
                    if (mixed.kind() == VoiceFrame.Kind.DECODED && hasSignal(mixed.pcm())) combinedAudio.countDown();
                    if (mixed.kind() == VoiceFrame.Kind.SILENCE) combinedSilence.incrementAndGet();
                }

                @Override
                public void onSpeakingStart(ChannelEvent.SpeakingStarted event) {
                    onThread();
                    if (event.userId() == 1L) {
                        eventOrder.add(1L);
                        speakingStart.countDown();
                    }
                }

                @Override
                public void onSpeakingStop(ChannelEvent.SpeakingStopped event) {
                    onThread();
                    if (event.userId() == 1L) {
                        eventOrder.add(-1L);
                        speakingStop.countDown();
                    }
                }

                @Override
                public void onMemberJoin(long userId) {
                    onThread();
                    if (userId == 5L) joined.countDown();
                }

                @Override
                public void onMemberLeave(long userId) {
                    onThread();
                    if (userId == 5L) left.countDown();
                }

                @Override
                public void onClosed(@Nullable Throwable cause) {
                    onThread();
                    closedCause.set(cause);
                    closed.countDown();
                }
            }, executor);

            // A listener that throws on every frame must not disturb the first one.
            AtomicInteger thrown = new AtomicInteger();
            c.addListener(new VoiceListener() {
                @Override
                public void onUserAudio(VoiceFrame frame) {
                    thrown.incrementAndGet();
                    throw new IllegalStateException("listener failure (expected in this test)");
                }
            }, executor);

            ScriptedMember speaker = JavaTestKit.toneMember(server, 1, 440, 800, 2);
            assertTrue(userAudio.await(WAIT_SECONDS, TimeUnit.SECONDS), "user audio");
            assertTrue(opus.await(WAIT_SECONDS, TimeUnit.SECONDS), "opus packets");
            assertTrue(combinedAudio.await(WAIT_SECONDS, TimeUnit.SECONDS), "combined audio");
            assertTrue(speakingStart.await(WAIT_SECONDS, TimeUnit.SECONDS), "speaking start");
            assertTrue(speakingStop.await(WAIT_SECONDS, TimeUnit.SECONDS), "speaking stop");
            assertEquals(1L, eventOrder.get(0), "a start comes before its stop");
            assertTrue(thrown.get() >= 25, "the throwing listener kept being called: " + thrown.get());
            assertTrue(combinedSilence.get() > 0, "the combined track has silent ticks too");

            ScriptedMember silent = JavaTestKit.silentMember(server, 5);
            assertTrue(joined.await(WAIT_SECONDS, TimeUnit.SECONDS), "member join");
            assertTrue(c.members().contains(5L));
            silent.leave();
            assertTrue(left.await(WAIT_SECONDS, TimeUnit.SECONDS), "member leave");
            speaker.leave();

            assertTrue(subscription.isActive());
            c.close();
            assertTrue(closed.await(WAIT_SECONDS, TimeUnit.SECONDS), "onClosed");
            assertNull(closedCause.get(), "a disconnect closes without a cause");
            assertFalse(subscription.isActive());
            assertEquals(ConnectionState.CLOSED, c.state());
            assertNull(c.closed().get(WAIT_SECONDS, TimeUnit.SECONDS), "closed() completes normally after a disconnect");
            // Everything queued on the executor before now has run: nothing came after onClosed.
            executor.submit(() -> { }).get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(0, callsAfterClose.get());
            assertEquals(List.of(), wrongThreads);
        } finally {
            executor.shutdownNow();
            server.close();
        }
    }

    @Test
    void aPerUserSubscriptionGetsOnlyThatUserAndNothingOnceClosed() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor(THREAD);
        try (JavaVoiceConnection c = EarshotVoice.connect(JavaTestKit.sessionInfo(server), TestSupport.testConfig().build())
                .get(WAIT_SECONDS, TimeUnit.SECONDS)) {
            List<VoiceFrame> frames = new CopyOnWriteArrayList<>();
            List<String> wrongThreads = new CopyOnWriteArrayList<>();
            CountDownLatch some = new CountDownLatch(20);
            Subscription user2 = c.subscribeUser(2, frame -> {
                if (!Thread.currentThread().getName().equals(THREAD)) wrongThreads.add(Thread.currentThread().getName());
                frames.add(frame);
                some.countDown();
            }, executor);
            // Counts user 2's frames independently, to know that more audio came after the subscription closed.
            CountDownLatch later = new CountDownLatch(1);
            AtomicInteger after = new AtomicInteger();

            JavaTestKit.toneMember(server, 1, 300, 3000, 1);
            JavaTestKit.toneMember(server, 2, 500, 3000, 1);
            assertTrue(some.await(WAIT_SECONDS, TimeUnit.SECONDS), "user 2's frames");
            user2.close();
            assertFalse(user2.isActive());
            executor.submit(() -> { }).get(WAIT_SECONDS, TimeUnit.SECONDS);
            int atClose = frames.size();
            c.subscribeUser(2, frame -> {
                if (after.incrementAndGet() == 20) later.countDown();
            }, executor);
            assertTrue(later.await(WAIT_SECONDS, TimeUnit.SECONDS), "more of user 2's audio");
            assertEquals(atClose, frames.size(), "no frame after close");
            assertTrue(frames.stream().allMatch(f -> f.userId() == 2L));
            for (int i = 1; i < frames.size(); i++) assertTrue(frames.get(i).tick() > frames.get(i - 1).tick(), "tick order");
            assertEquals(List.of(), wrongThreads);
        } finally {
            executor.shutdownNow();
            server.close();
        }
    }

    static boolean hasSignal(short @Nullable [] pcm) {
        if (pcm == null) return false;
        for (short s : pcm) if (Math.abs(s) > 500) return true;
        return false;
    }
}
