package dev.earshot.voice.javaapi;

import dev.earshot.voice.javaapi.internal.Publishers;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.LongStream;

import static dev.earshot.voice.javaapi.TestSupport.WAIT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The drop-oldest buffer in front of the publishers, without a network: a source that produces faster than the
 * subscriber requests keeps its newest items and counts every one it drops.
 */
class PublisherBufferTest {
    /** Records items; requests only when told. */
    static final class Slow implements Flow.Subscriber<Long> {
        final List<Long> items = new CopyOnWriteArrayList<>();
        final CountDownLatch done = new CountDownLatch(1);
        final AtomicReference<@Nullable Throwable> error = new AtomicReference<>();
        volatile CountDownLatch next = new CountDownLatch(0);
        volatile Flow.@Nullable Subscription subscription;

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
        }

        @Override
        public void onNext(Long item) {
            items.add(item);
            next.countDown();
        }

        @Override
        public void onError(Throwable t) {
            error.set(t);
            done.countDown();
        }

        @Override
        public void onComplete() {
            done.countDown();
        }

        void request(long n, int expect) {
            next = new CountDownLatch(expect);
            subscription.request(n);
        }
    }

    private static List<Long> upTo(long n) {
        return LongStream.range(0, n).boxed().toList();
    }

    @Test
    void aFullBufferDropsTheOldestCountsThemAndKeepsTheNewest() throws Exception {
        ExecutorService executor = TestSupport.namedExecutor("publisher-buffer");
        try {
            LongAdder dropped = new LongAdder();
            Flow.Publisher<Long> p = Publishers.bufferedPublisher(upTo(100), null, executor, 8, dropped);
            Slow s = new Slow();
            p.subscribe(s);
            // The buffer fills from the subscribe on, demand or not: 100 items into a buffer of 8.
            assertTrue(TestSupport.eventually(() -> dropped.sum() == 92), "dropped: " + dropped.sum());
            assertEquals(List.of(), s.items, "nothing delivered without demand");
            s.request(1, 1);
            assertTrue(s.next.await(WAIT_SECONDS, TimeUnit.SECONDS));
            s.request(Long.MAX_VALUE, 7);
            assertTrue(s.done.await(WAIT_SECONDS, TimeUnit.SECONDS), "completed");
            assertNull(s.error.get());
            // What was kept is the newest 8, in order.
            assertEquals(LongStream.range(92, 100).boxed().toList(), s.items);
            assertEquals(92, dropped.sum());
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void aSubscriberThatKeepsUpLosesNothingAndAFailureArrivesAfterTheItems() throws Exception {
        ExecutorService executor = TestSupport.namedExecutor("publisher-buffer");
        try {
            LongAdder dropped = new LongAdder();
            Flow.Publisher<Long> p = Publishers.bufferedPublisher(upTo(3), new IOException("source failed"), executor, 8, dropped);
            Slow s = new Slow();
            p.subscribe(s);
            s.request(Long.MAX_VALUE, 3);
            assertTrue(s.done.await(WAIT_SECONDS, TimeUnit.SECONDS));
            assertEquals(List.of(0L, 1L, 2L), s.items);
            assertInstanceOf(IOException.class, s.error.get());
            assertEquals(0, dropped.sum());
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void itemsLeftInTheBufferAtCancelAreNotCountedAsDrops() throws Exception {
        ExecutorService executor = TestSupport.namedExecutor("publisher-buffer");
        try {
            LongAdder dropped = new LongAdder();
            Flow.Publisher<Long> p = Publishers.bufferedPublisher(upTo(20), null, executor, 8, dropped);
            Slow s = new Slow();
            p.subscribe(s);
            s.request(1, 1);
            assertTrue(s.next.await(WAIT_SECONDS, TimeUnit.SECONDS));
            assertTrue(TestSupport.eventually(() -> dropped.sum() == 12), "dropped: " + dropped.sum());
            s.subscription.cancel();
            // The cancel runs on the executor; once it has, the 7 still buffered were released, not dropped.
            executor.submit(() -> { }).get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(12, dropped.sum());
            assertEquals(1, s.items.size());
        } finally {
            executor.shutdownNow();
        }
    }
}
