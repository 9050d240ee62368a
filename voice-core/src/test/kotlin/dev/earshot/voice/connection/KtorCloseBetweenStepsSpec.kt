package dev.earshot.voice.connection

import io.kotest.assertions.throwables.shouldThrow
import dev.earshot.voice.gateway.readClientFrame
import dev.earshot.voice.gateway.textFrame
import dev.earshot.voice.gateway.wsHandshake
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.io.DataInputStream
import java.net.InetAddress
import java.net.ServerSocket
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import kotlin.time.Duration.Companion.seconds

/**
 * The real ktor client against a tiny loopback WebSocket server that closes the TCP connection right after Ready,
 * before the client's Select Protocol: the connection must retry and end with a typed cause, never hang.
 */
class KtorCloseBetweenStepsSpec : FunSpec({
    test("real ktor: a server that drops the socket between Ready and Session Description is retried, connect never hangs") {
        val accepted = AtomicInteger()
        val dropped = java.util.concurrent.LinkedBlockingQueue<CompletableDeferred<Unit>>()
        val server = ServerSocket(0, 8, InetAddress.getLoopbackAddress())
        val serverThread = thread(isDaemon = true, name = "tiny-ws-server") {
            while (!server.isClosed) {
                val s = try { server.accept() } catch (_: Exception) { break }
                accepted.incrementAndGet()
                val signal = CompletableDeferred<Unit>()
                dropped.put(signal)
                try {
                    s.use {
                        val input = DataInputStream(s.getInputStream())
                        val out = s.getOutputStream()
                        wsHandshake(input, out)
                        out.textFrame("""{"op":8,"d":{"heartbeat_interval":13750}}""")
                        input.readClientFrame() // Identify
                        out.textFrame("""{"op":2,"seq":1,"d":{"ssrc":7,"ip":"127.0.0.1","port":50000,"modes":["aead_aes256_gcm_rtpsize"]}}""")
                        out.flush()
                    } // dropped without a close frame, before Select Protocol
                } catch (_: Exception) {
                } finally {
                    signal.complete(Unit)
                }
            }
        }
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        try {
            val config = VoiceConnectionConfig {
                secure = false
                maxDaveProtocolVersion = 0
                maxReconnectAttempts = 2
                reconnectDelay = kotlin.time.Duration.ZERO
                handshakeTimeout = 5.seconds
                // Ready's UDP step waits until the server has dropped the socket, so Select Protocol goes to a dead one.
                udpConnector = UdpConnector { _, _, _, _ ->
                    dropped.take().await()
                    val t = FakeTransport()
                    UdpLink(t, "203.0.113.7", 50_001) { t.close() }
                }
            }
            val info = VoiceSessionInfo(1, null, 2, "session", "token", "127.0.0.1:${server.localPort}")
            runBlocking {
                withTimeout(60.seconds) { // a bound for the test only: the attempts take milliseconds
                    shouldThrow<VoiceReconnectFailedException> { VoiceConnection.connect(info, config, scope) }.attempts shouldBe 2
                }
            }
            accepted.get() shouldBe 3
        } finally {
            scope.cancel()
            server.close()
            serverThread.join(5_000)
        }
    }
})
