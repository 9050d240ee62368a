package dev.earshot.voice.gateway

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeGreaterThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.io.DataInputStream
import java.io.IOException
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import kotlin.time.Duration.Companion.seconds

/**
 * The production socket's side of the WebSocket closing handshake (RFC 6455, section 7.1.1: the server closes the TCP
 * connection first): after our close frame the client keeps its end open until the server has answered, so the frame
 * cannot be lost to a connection cut under it; a server that never answers is cut off after a bounded grace.
 */
class GatewayCloseHandshakeSpec : FunSpec({
    test("after our close frame the client keeps reading until the server answers with its own, then ends") {
        withServedSocket { socket, accepted, input ->
            runBlocking { socket.close(1000, "bye") }
            val (opcode, payload) = input.readClientFrameWithOpcode()
            opcode shouldBe CLOSE_OPCODE
            closeCode(payload) shouldBe 1000
            // The client half-closes its side after the frame (end of stream here); it must still be reading. Cutting
            // the connection at this point is what lost close frames: the server's answer then met a closed socket,
            // and the reset could reach the server before it had read our frame.
            Thread.sleep(UNANSWERED_MILLIS)
            val out = accepted.getOutputStream()
            out.textFrame("""{"op":6,"d":{"t":1}}""")
            out.closeFrame(1000)
            val frames = runBlocking { withTimeout(10.seconds) { socket.incoming.toList() } }
            frames.map { (it as GatewayFrame.Text).text } shouldBe listOf("""{"op":6,"d":{"t":1}}""")
            runBlocking { withTimeout(10.seconds) { socket.awaitEnd() } }
            runBlocking { socket.closeInfo() } shouldBe GatewayClose(1000, "bye")
        }
    }

    test("a server that never answers our close frame is cut off after the grace, not before") {
        withServedSocket { socket, accepted, _ ->
            val start = System.nanoTime()
            runBlocking { socket.close(1000, "bye") }
            // Writing to a connection the client has closed draws a reset, and the next write fails.
            val out = accepted.getOutputStream()
            val cut = try {
                while (System.nanoTime() - start < 30_000_000_000L) {
                    out.textFrame("""{"op":6,"d":{"t":1}}""")
                    Thread.sleep(WRITE_EVERY_MILLIS)
                }
                false
            } catch (_: IOException) {
                true
            }
            val elapsedMillis = (System.nanoTime() - start) / 1_000_000
            println("unanswered close: connection cut after $elapsedMillis ms")
            cut shouldBe true
            // Both of the grace's timers start after close() was called, so a stall can only lengthen this.
            elapsedMillis shouldBeGreaterThanOrEqual 2_000L
        }
    }
}) {
    private companion object {
        const val CLOSE_OPCODE = 8

        /** How long the server leaves our close frame unanswered; well under the 2 s grace. */
        const val UNANSWERED_MILLIS = 300L

        const val WRITE_EVERY_MILLIS = 20L
    }
}

private fun closeCode(payload: ByteArray): Int = ((payload[0].toInt() and 0xFF) shl 8) or (payload[1].toInt() and 0xFF)

/** Runs [body] with a production socket connected to a one-connection loopback server that has done the upgrade. */
private fun withServedSocket(body: (GatewaySocket, Socket, DataInputStream) -> Unit) {
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val connector = KtorGatewayConnector(null, scope)
    try {
        ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { server ->
            server.soTimeout = 10_000
            val attempt = scope.async { connector.connect("ws://127.0.0.1:${server.localPort}/?v=8") }
            server.accept().use { accepted ->
                accepted.soTimeout = 10_000
                val input = DataInputStream(accepted.getInputStream())
                wsHandshake(input, accepted.getOutputStream())
                val socket = runBlocking { withTimeout(10.seconds) { attempt.await() } }
                body(socket, accepted, input)
            }
        }
    } finally {
        scope.cancel()
        connector.close()
    }
}
