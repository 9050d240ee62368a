package dev.earshot.voice.gateway

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.io.DataInputStream
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.SocketTimeoutException
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.concurrent.thread
import kotlin.time.Duration.Companion.seconds

/**
 * The production connector with the real ktor client against a tiny loopback WebSocket server: many connections share
 * one client (one selector, not a thread per connection), every socket is served, the client is closed when the last
 * connection lets go, and an attempt cancelled mid-handshake closes its TCP connection.
 */
class SharedGatewayClientSpec : FunSpec({
    test("150 connectors in one JVM share one client: every socket gets its frame, threads stay flat, the client closes after the last") {
        val n = 150 // past Dispatchers.IO's 64 threads, which a client (and selector thread) per connection would exhaust
        val server = TinyWsServer(greeting = """{"op":8,"d":{"heartbeat_interval":41250}}""")
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        val threadsBefore = Thread.activeCount()
        val connectors = List(n) { KtorGatewayConnector(null, scope) }
        try {
            runBlocking {
                withTimeout(60.seconds) { // a bound for the test only: on loopback this takes well under a second
                    val sockets = connectors.map { c -> async { c.connect("ws://127.0.0.1:${server.port}/?v=8") } }.awaitAll()
                    sockets.map { s -> async { s.incoming.receive() } }.awaitAll().forEach { frame ->
                        frame.shouldBeInstanceOf<GatewayFrame.Text>().text shouldBe """{"op":8,"d":{"heartbeat_interval":41250}}"""
                    }
                    // A thread per connection would show as one thread parked in a selector per socket. (Idle IO
                    // workers that served the connects linger for a minute and hold no socket; they are not counted.)
                    val selecting = selectorThreads()
                    println("$n open gateway sockets: $selecting threads waiting in a selector, ${Thread.activeCount() - threadsBefore - server.threads} more threads in all")
                    selecting shouldBeLessThan 3
                    sockets.forEach { it.close(1000, "done") }
                }
            }
        } finally {
            scope.cancel()
            connectors.forEach { it.close() }
            server.close()
        }
        awaitNoClient()
    }

    test("cancelling a connect while the server has not answered the upgrade closes the TCP connection, every time") {
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        try {
            repeat(30) { i ->
                ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { silent ->
                    silent.soTimeout = 30_000
                    val connector = KtorGatewayConnector(null, scope)
                    val attempt = scope.async { connector.connect("ws://127.0.0.1:${silent.localPort}/?v=8") }
                    silent.accept().use { accepted ->
                        attempt.cancel()
                        connector.close()
                        accepted.soTimeout = 10_000
                        val read = try {
                            accepted.getInputStream().readAllBytes().size
                        } catch (e: SocketTimeoutException) {
                            throw AssertionError("attempt $i: the cancelled connect kept its socket open", e)
                        } catch (_: java.net.SocketException) {
                            -1 // reset: closed too
                        }
                        read shouldBeLessThan 4096
                    }
                }
            }
            awaitNoClient()
        } finally {
            scope.cancel()
        }
    }
})

/** The shared client is closed shortly after the last connector let go. */
private fun awaitNoClient() = runBlocking {
    withTimeout(10.seconds) { while (SharedGatewayClients.openClients != 0) kotlinx.coroutines.delay(20) }
}

/** Threads now blocked in a NIO selector (epoll on Linux, or any select loop). */
private fun selectorThreads(): Int = Thread.getAllStackTraces().values.count { stack ->
    stack.any { it.className.contains("SelectorImpl") && it.methodName.startsWith("doSelect") }
}

/** Accepts WebSocket upgrades on one thread, sends [greeting] as a text frame and keeps each socket open. */
private class TinyWsServer(private val greeting: String) : AutoCloseable {
    private val server = ServerSocket(0, 256, InetAddress.getLoopbackAddress())
    private val open = CopyOnWriteArrayList<Socket>()
    val port: Int get() = server.localPort
    val threads = 1
    private val acceptor = thread(isDaemon = true, name = "tiny-ws-server") {
        while (!server.isClosed) {
            val s = try { server.accept() } catch (_: Exception) { break }
            try {
                wsHandshake(DataInputStream(s.getInputStream()), s.getOutputStream())
                s.getOutputStream().textFrame(greeting)
                open += s
            } catch (_: Exception) {
                s.close()
            }
        }
    }

    override fun close() {
        server.close()
        open.forEach { it.close() }
        acceptor.join(5_000)
    }
}
