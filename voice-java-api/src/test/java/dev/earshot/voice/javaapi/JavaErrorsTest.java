package dev.earshot.voice.javaapi;

import dev.earshot.voice.connection.DaveRequiredException;
import dev.earshot.voice.connection.VoiceGatewayClosedException;
import dev.earshot.voice.connection.VoiceReconnectFailedException;
import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.testkit.VoiceTestServer;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
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

/** The failure paths from Java: typed causes in futures and listeners, and cancelling a connect. */
class JavaErrorsTest {
    @Test
    void aRefusedSocketFailsTheFutureWithTheReconnectFailure() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        VoiceSessionInfo info = new VoiceSessionInfo(1, 2L, 3, "session", "token", "127.0.0.1:" + port);
        CompletableFuture<JavaVoiceConnection> f = EarshotVoice.connect(info, TestSupport.testConfig().maxReconnectAttempts(2).build());
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(WAIT_SECONDS, TimeUnit.SECONDS));
        VoiceReconnectFailedException cause = assertInstanceOf(VoiceReconnectFailedException.class, e.getCause());
        assertEquals(2, cause.getAttempts());
    }

    @Test
    void aChannelRequiringDaveFailsAConnectionWithoutItWith4017() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(true);
        try {
            CompletableFuture<JavaVoiceConnection> f = EarshotVoice.connect(JavaTestKit.sessionInfo(server), TestSupport.testConfig().build());
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(WAIT_SECONDS, TimeUnit.SECONDS));
            DaveRequiredException cause = assertInstanceOf(DaveRequiredException.class, e.getCause());
            assertTrue(cause.getMessage().contains("requires DAVE"), cause.getMessage());
        } finally {
            server.close();
        }
    }

    @Test
    void cancellingTheConnectFutureAbandonsTheAttemptAndClosesItsSocket() throws Exception {
        // A server that accepts the TCP connection and never answers: the handshake would wait 30 s.
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            VoiceSessionInfo info = new VoiceSessionInfo(1, 2L, 3, "session", "token", "127.0.0.1:" + silent.getLocalPort());
            CompletableFuture<JavaVoiceConnection> f = EarshotVoice.connect(info,
                    TestSupport.testConfig().handshakeTimeout(Duration.ofSeconds(30)).build());
            silent.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            try (Socket accepted = silent.accept()) {
                assertTrue(f.cancel(true));
                assertThrows(CancellationException.class, f::join);
                // The attempt's socket is closed: the stream ends (after the upgrade request it sent).
                accepted.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                InputStream in = accepted.getInputStream();
                byte[] buf = new byte[4096];
                try {
                    while (in.read(buf) >= 0) {
                        // the HTTP upgrade request
                    }
                } catch (SocketTimeoutException e) {
                    throw new AssertionError("the cancelled attempt kept its socket open", e);
                } catch (java.net.SocketException reset) {
                    // A reset is a close too.
                }
            }
        }
    }

    @Test
    void theServerEndingTheCallReachesListenersAndClosedWithTheTypedCause() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor("java-callbacks");
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
            JavaTestKit.closeBot(server, 4014);
            assertTrue(closed.await(WAIT_SECONDS, TimeUnit.SECONDS), "onClosed");
            VoiceGatewayClosedException e = assertInstanceOf(VoiceGatewayClosedException.class, cause.get());
            assertEquals(4014, e.getCode());
            // closed() fails with the same typed cause.
            ExecutionException failed = assertThrows(ExecutionException.class, () -> c.closed().get(WAIT_SECONDS, TimeUnit.SECONDS));
            assertInstanceOf(VoiceGatewayClosedException.class, failed.getCause());
            assertEquals(ConnectionState.CLOSED, c.state());
        } finally {
            executor.shutdownNow();
            server.close();
        }
    }
    @Test
    void aServerUpdateWithinTheMoveGraceAfter4014KeepsTheConnection() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        try {
            VoiceSessionInfo info = JavaTestKit.sessionInfo(server);
            JavaVoiceConnection c = EarshotVoice.connect(info, TestSupport.testConfig().moveGrace(Duration.ofSeconds(30)).build())
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            JavaTestKit.closeBot(server, 4014);
            assertTrue(TestSupport.eventually(() -> c.state() == ConnectionState.WAITING_FOR_SERVER), "waits for the move");
            VoiceSessionInfo moved = JavaTestKit.regrant(server, info.getSessionId());
            c.updateServer(moved.getToken(), moved.getEndpoint()).get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertTrue(TestSupport.eventually(() -> c.state() == ConnectionState.CONNECTED), "connected again");
            assertFalse(c.closed().isDone());
            c.disconnect().get(WAIT_SECONDS, TimeUnit.SECONDS);
        } finally {
            server.close();
        }
    }
}
