package dev.earshot.voice.javaapi;

import dev.earshot.voice.testkit.VoiceTestServer;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static dev.earshot.voice.javaapi.TestSupport.WAIT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@link java.util.concurrent.Flow.Publisher}s, driven by plain Java subscribers. */
class JavaPublisherTest {
    private static final String THREAD = "java-publisher";

    /** Records what it gets and on which thread; requests only what the test asks for. */
    static final class Recorder<T> implements Flow.Subscriber<T> {
        final List<T> items = new CopyOnWriteArrayList<>();
        final List<String> wrongThreads = new CopyOnWriteArrayList<>();
        final CountDownLatch subscribed = new CountDownLatch(1);
        final CountDownLatch done = new CountDownLatch(1);
        final AtomicReference<@Nullable Throwable> error = new AtomicReference<>();
        volatile CountDownLatch next = new CountDownLatch(0);
        volatile Flow.@Nullable Subscription subscription;

        @Override
        public void onSubscribe(Flow.Subscription s) {
            // Within subscribe(), on the subscribing thread; the other signals come on the executor.
            subscription = s;
            subscribed.countDown();
        }

        @Override
        public void onNext(T item) {
            check();
            items.add(item);
            next.countDown();
        }

        @Override
        public void onError(Throwable t) {
            check();
            error.set(t);
            done.countDown();
        }

        @Override
        public void onComplete() {
            check();
            done.countDown();
        }

        private void check() {
            if (!Thread.currentThread().getName().equals(THREAD)) wrongThreads.add(Thread.currentThread().getName());
        }

        void request(long n, int expect) {
            next = new CountDownLatch(expect);
            subscription.request(n);
        }
    }

    @Test
    void framesArriveOnlyAsRequestedAndAFullBufferDropsTheOldest() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor(THREAD);
        try (JavaVoiceConnection c = EarshotVoice.connect(JavaTestKit.sessionInfo(server), TestSupport.testConfig().build())
                .get(WAIT_SECONDS, TimeUnit.SECONDS)) {
            VoicePublisher<VoiceFrame> frames = c.frames(1, executor, 8);
            Recorder<VoiceFrame> r = new Recorder<>();
            frames.subscribe(r);
            assertTrue(r.subscribed.await(WAIT_SECONDS, TimeUnit.SECONDS));
            r.request(5, 5);
            JavaTestKit.toneMember(server, 1, 440, 3000, 1);
            assertTrue(r.next.await(WAIT_SECONDS, TimeUnit.SECONDS), "five frames");
            // Frames keep coming without demand: the buffer (8) fills, then the oldest go.
            assertTrue(TestSupport.eventually(() -> frames.droppedItems() >= 5), "drops counted");
            assertEquals(5, r.items.size(), "nothing beyond the demand");
            long lastBefore = r.items.get(4).tick();
            r.request(8, 8);
            assertTrue(r.next.await(WAIT_SECONDS, TimeUnit.SECONDS), "the buffered frames");
            assertEquals(13, r.items.size());
            // What was kept is the newest: a gap of dropped frames separates it from what came before.
            assertTrue(r.items.get(5).tick() > lastBefore + 1, "oldest dropped, not newest");
            for (int i = 1; i < r.items.size(); i++) assertTrue(r.items.get(i).tick() > r.items.get(i - 1).tick());
            assertTrue(r.items.stream().allMatch(f -> f.userId() == 1L));
            r.subscription.cancel();
            assertEquals(List.of(), r.wrongThreads);
        } finally {
            executor.shutdownNow();
            server.close();
        }
    }

    @Test
    void eventsCompleteOnDisconnectAndABadRequestIsAnError() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor(THREAD);
        try {
            JavaVoiceConnection c = EarshotVoice.connect(JavaTestKit.sessionInfo(server), TestSupport.testConfig().build())
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            Recorder<ChannelEvent> events = new Recorder<>();
            c.events(executor).subscribe(events);
            assertTrue(events.subscribed.await(WAIT_SECONDS, TimeUnit.SECONDS));
            events.request(Long.MAX_VALUE, 0);
            Recorder<VoicePacket> bad = new Recorder<>();
            c.opusPackets(executor).subscribe(bad);
            assertTrue(bad.subscribed.await(WAIT_SECONDS, TimeUnit.SECONDS));
            bad.subscription.request(0);
            assertTrue(bad.done.await(WAIT_SECONDS, TimeUnit.SECONDS));
            assertInstanceOf(IllegalArgumentException.class, bad.error.get());

            JavaTestKit.silentMember(server, 7);
            assertTrue(TestSupport.eventually(() -> events.items.contains(new ChannelEvent.MemberJoined(7))), "join event");
            c.disconnect().get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertTrue(events.done.await(WAIT_SECONDS, TimeUnit.SECONDS), "completed");
            assertEquals(null, events.error.get());
            assertEquals(List.of(), events.wrongThreads);
        } finally {
            executor.shutdownNow();
            server.close();
        }
    }
}
