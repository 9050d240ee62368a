package dev.earshot.voice.javaapi;

import dev.earshot.voice.testkit.VoiceTestServer;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static dev.earshot.voice.javaapi.TestSupport.WAIT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A Java listener of the connection's state, through a resume and a disconnect, against the local voice server. */
class JavaStateListenerTest {
    @Test
    void aListenerSeesTheCurrentStateThenAResumeThenTheEnd() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor("java-state");
        try {
            JavaVoiceConnection c = EarshotVoice.connect(JavaTestKit.sessionInfo(server), TestSupport.testConfig().build())
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            BlockingQueue<ConnectionStateChange> changes = new LinkedBlockingQueue<>();
            CountDownLatch ended = new CountDownLatch(1);
            AtomicReference<@Nullable Throwable> endCause = new AtomicReference<>(new IllegalStateException("not called"));
            Subscription s = c.addStateListener(new ConnectionStateListener() {
                @Override
                public void onStateChange(ConnectionStateChange change) {
                    changes.add(change);
                }

                @Override
                public void onClosed(@Nullable Throwable cause) {
                    endCause.set(cause);
                    ended.countDown();
                }
            }, executor);

            ConnectionStateChange first = next(changes);
            assertEquals(ConnectionState.CONNECTED, first.state(), "the state at subscription comes first");

            // 4015 (voice server crashed) is resumable: same session, so a resume.
            JavaTestKit.closeBot(server, 4015);
            ConnectionStateChange reconnecting = next(changes);
            assertEquals(ConnectionState.RECONNECTING, reconnecting.state());
            assertTrue(reconnecting.resuming(), "a resume");
            assertEquals(4015, reconnecting.closeCode());
            assertEquals(1, reconnecting.attempt());
            assertEquals(ConnectionState.CONNECTED, next(changes).state(), "connected again after the resume");

            c.disconnect().get(WAIT_SECONDS, TimeUnit.SECONDS);
            ConnectionStateChange closed = next(changes);
            assertEquals(ConnectionState.CLOSED, closed.state());
            assertNull(closed.cause(), "a disconnect has no cause");
            assertTrue(ended.await(WAIT_SECONDS, TimeUnit.SECONDS), "onClosed after CLOSED");
            assertNull(endCause.get());
            assertFalse(s.isActive());
            assertNull(changes.poll(), "nothing after CLOSED");
        } finally {
            executor.shutdownNow();
            server.close();
        }
    }

    @Test
    void aClosedSubscriptionGetsNoMoreCalls() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor("java-state-closed");
        try {
            JavaVoiceConnection c = EarshotVoice.connect(JavaTestKit.sessionInfo(server), TestSupport.testConfig().build())
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            BlockingQueue<ConnectionStateChange> dropped = new LinkedBlockingQueue<>();
            BlockingQueue<ConnectionStateChange> kept = new LinkedBlockingQueue<>();
            Subscription s = c.addStateListener(dropped::add, executor);
            c.addStateListener(kept::add, executor);
            assertEquals(ConnectionState.CONNECTED, next(dropped).state());
            assertEquals(ConnectionState.CONNECTED, next(kept).state());
            s.close();
            assertFalse(s.isActive());
            JavaTestKit.closeBot(server, 4015);
            assertEquals(ConnectionState.RECONNECTING, next(kept).state());
            assertEquals(ConnectionState.CONNECTED, next(kept).state());
            // The other listener saw the same changes in time; the closed one none of them.
            assertNull(dropped.poll(), "a closed subscription is not called");
            c.disconnect().get(WAIT_SECONDS, TimeUnit.SECONDS);
        } finally {
            executor.shutdownNow();
            server.close();
        }
    }

    private static ConnectionStateChange next(BlockingQueue<ConnectionStateChange> q) throws InterruptedException {
        ConnectionStateChange c = q.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(c, "no state change within " + WAIT_SECONDS + " s");
        return c;
    }
}
