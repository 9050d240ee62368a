package dev.earshot.voice.connection

import dev.earshot.voice.gateway.FakeGatewaySocket
import dev.earshot.voice.gateway.VoiceOp
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldNotContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.test.advanceTimeBy
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonPrimitive
import kotlin.time.Duration.Companion.minutes
import kotlin.time.Duration.Companion.seconds

/**
 * The connection's state machine against a misbehaving server: every way out of every handshake step ends in a retry
 * with backoff or a typed cause, within the stated bounds, in virtual time.
 */
class ConnectionStateMachineSpec : FunSpec({
    /** The next socket the client opens, or null when none comes within [within] of virtual time (a hang). */
    suspend fun ConnectionHarness.nextSocket(within: kotlin.time.Duration = 2.minutes): FakeGatewaySocket? =
        withTimeoutOrNull(within) { sockets.receive() }

    val steps = listOf("after Hello", "after Ready", "after Session Description")

    /** Drives [socket] through the handshake up to [step], then the server closes with [code]. */
    suspend fun ConnectionHarness.closeAt(socket: FakeGatewaySocket, step: String, code: Int) {
        when (step) {
            "after Hello" -> socket.serverSends("""{"op":8,"d":{"heartbeat_interval":13750}}""")
            "after Ready" -> {
                socket.helloIdentify()
                socket.serverSends("""{"op":2,"seq":1,"d":{"ssrc":7,"ip":"127.0.0.1","port":50000,"modes":["aead_aes256_gcm_rtpsize"]}}""")
            }
            else -> {
                socket.helloIdentify()
                socket.serverSends("""{"op":2,"seq":1,"d":{"ssrc":7,"ip":"127.0.0.1","port":50000,"modes":["aead_aes256_gcm_rtpsize"]}}""")
                socket.expect(VoiceOp.SELECT_PROTOCOL)
                socket.serverSends("""{"op":4,"seq":2,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":${List(32) { 1 }}}}""")
            }
        }
        // Closed before the client's answer (Identify, Select Protocol, Speaking) goes out: that send fails like ktor's.
        socket.serverCloses(code)
    }

    /**
     * Serves the socket after [closeAt] at [step]: a whole handshake, or, once Session Description had come (the
     * session has its key and counts as connected), the resume the client then sends; returns that Resume's payload.
     */
    suspend fun ConnectionHarness.serveAfter(socket: FakeGatewaySocket, step: String, ssrc: Long): JsonObject? {
        if (step == "after Session Description") {
            socket.serverSends("""{"op":8,"d":{"heartbeat_interval":13750}}""")
            val resume = socket.expect(VoiceOp.RESUME)
            socket.serverSends("""{"op":9,"d":null}""")
            return resume
        }
        socket.helloIdentify()
        socket.readyToSession(ssrc = ssrc)
        return null
    }

    context("finding 1: a close between the handshake steps never makes the connection vanish") {
        withData(nameFn = { "first connect, closed $it" }, steps) { step ->
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val pending = connectAsync()
                    closeAt(sockets.receive(), step, 1000)
                    val second = nextSocket()
                    second shouldNotBe null // before the fix: no retry, the driver coroutine was gone
                    val resume = serveAfter(second!!, step, ssrc = 1001)
                    runCurrent()
                    val connection = withTimeoutOrNull(1.minutes) { pending.await() }
                    connection.shouldBeInstanceOf<VoiceConnection>().state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>()
                    if (resume != null) {
                        // The close beat the client's Speaking: the session had its key, so it resumed on the same UDP.
                        resume["seq_ack"]!!.jsonPrimitive.int shouldBe 2
                        links.size shouldBe 1
                    }
                    connection.disconnect()
                }
            }
        }

        withData(nameFn = { "live connection reconnecting, closed $it" }, steps) { step ->
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val (first, connection) = connected()
                    first.serverCloses(4006, "session gone") // a full reconnect follows
                    closeAt(sockets.receive(), step, 1006)
                    val third = nextSocket()
                    third shouldNotBe null // before the fix: Reconnecting forever, isAlive true, nothing retried
                    serveAfter(third!!, step, ssrc = 3)
                    runCurrent()
                    // A resume keeps the SSRC of the closed socket's Ready (7); a new handshake brings 3.
                    val ssrc = if (step == "after Session Description") 7L else 3L
                    connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>().ssrc shouldBe ssrc
                    connection.disconnect()
                    connection.closed.isCompleted shouldBe true
                }
            }
        }

        test("a connect attempt that keeps failing that way ends within the stated bound with a typed cause") {
            runTest {
                val h = ConnectionHarness(this) { maxReconnectAttempts = 3 }
                with(h) {
                    val pending = connectAsync()
                    val start = testScheduler.currentTime
                    serveEach(backgroundScope) { socket -> closeAt(socket, "after Ready", 1000) }
                    val e = withTimeoutOrNull(5.minutes) { shouldThrow<VoiceReconnectFailedException> { pending.await() } }
                    e shouldNotBe null
                    e!!.attempts shouldBe 3
                    urls.size shouldBe 4
                    // The bound stated on VoiceConnection.connect: (maxReconnectAttempts + 1) x 2 x handshakeTimeout plus the
                    // backoff delays (here 0 + 1 + 2 s at most).
                    val bound = 4 * 2 * config.handshakeTimeout.inWholeMilliseconds + 3_000
                    (testScheduler.currentTime - start <= bound) shouldBe true
                }
            }
        }

        test("cancelling the caller of connect is still a cancellation: the socket is closed and nothing retries") {
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val pending = connectAsync()
                    val socket = sockets.receive()
                    socket.helloIdentify()
                    pending.cancel()
                    runCurrent()
                    socket.isClosed shouldBe true
                    advanceTimeBy(60_000)
                    urls.size shouldBe 1
                }
            }
        }

        test("a cancelled scope still completes closed") {
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val scope = kotlinx.coroutines.CoroutineScope(backgroundScope.coroutineContext + kotlinx.coroutines.Job())
                    val pending = scope.async(start = CoroutineStart.UNDISPATCHED) { VoiceConnection.connect(ConnectionHarness.INFO, config, scope) }
                    val socket = sockets.receive()
                    socket.helloIdentify()
                    socket.readyToSession()
                    val connection = pending.await()
                    scope.coroutineContext[kotlinx.coroutines.Job]!!.cancel()
                    withTimeoutOrNull(1.minutes) { connection.closed.await() } shouldBe null
                    connection.closed.isCompleted shouldBe true
                    connection.isAlive shouldBe false
                    socket.isClosed shouldBe true
                }
            }
        }
    }

    context("finding 2: an Error while handling a message is contained per connection") {
        test("a StackOverflowError handling Ready retries the socket and connect succeeds") {
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    failDiscovery = 1
                    discoveryFailure = { StackOverflowError() }
                    val pending = connectAsync()
                    val first = sockets.receive()
                    first.helloIdentify()
                    first.serverSends("""{"op":2,"d":{"ssrc":1,"ip":"127.0.0.1","port":1,"modes":["aead_aes256_gcm_rtpsize"]}}""")
                    val second = nextSocket()
                    second shouldNotBe null // before the fix: connect threw the raw StackOverflowError
                    first.isClosed shouldBe true
                    second!!.helloIdentify()
                    second.readyToSession()
                    pending.await().disconnect()
                }
            }
        }

        test("repeated StackOverflowErrors end the connection with a typed cause, never raw and never 'disconnected'") {
            runTest {
                val h = ConnectionHarness(this) { maxReconnectAttempts = 2 }
                with(h) {
                    failDiscovery = 100
                    discoveryFailure = { StackOverflowError() }
                    val pending = connectAsync()
                    serveEach(backgroundScope) { socket ->
                        socket.helloIdentify()
                        socket.serverSends("""{"op":2,"d":{"ssrc":1,"ip":"127.0.0.1","port":1,"modes":["aead_aes256_gcm_rtpsize"]}}""")
                    }
                    val e = shouldThrow<VoiceConnectionException> { pending.await() }
                    e.shouldBeInstanceOf<VoiceReconnectFailedException>().cause.shouldBeInstanceOf<VoiceConnectionInternalException>()
                        .cause.shouldBeInstanceOf<StackOverflowError>()
                    VoiceConnectionState.Closed(e).toString() shouldNotContain "disconnected"
                    VoiceConnectionState.Closed(StackOverflowError()).toString() shouldContain "StackOverflowError"
                }
            }
        }

        test("a StackOverflowError on a live connection reconnects it") {
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val (first, connection) = connected()
                    first.serverCloses(4006)
                    failDiscovery = 1
                    discoveryFailure = { StackOverflowError() }
                    val second = sockets.receive()
                    second.helloIdentify()
                    second.serverSends("""{"op":2,"d":{"ssrc":1,"ip":"127.0.0.1","port":1,"modes":["aead_aes256_gcm_rtpsize"]}}""")
                    val third = nextSocket()
                    third shouldNotBe null
                    connection.isAlive shouldBe true
                    third!!.helloIdentify()
                    third.readyToSession()
                    runCurrent()
                    connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>()
                    connection.disconnect()
                }
            }
        }
    }

    context("finding 3: members are bounded") {
        test("op 11 beyond the cap is dropped and counted") {
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val (socket, connection) = connected()
                    val max = ConnectionDriver.MAX_MEMBERS
                    var next = 1_000L
                    repeat(max / 1000 + 2) {
                        socket.serverSends("""{"op":11,"d":{"user_ids":[${List(1000) { "\"${next++}\"" }.joinToString(",")}]}}""")
                    }
                    runCurrent()
                    connection.members.size shouldBe max
                    connection.counters.membersDropped.get() shouldBe (next - 1_000L - max)
                    // A leave makes room again.
                    socket.serverSends("""{"op":13,"d":{"user_id":"1000"}}""")
                    socket.serverSends("""{"op":11,"d":{"user_ids":["5"]}}""")
                    runCurrent()
                    (5L in connection.members) shouldBe true
                    connection.isAlive shouldBe true
                    connection.disconnect()
                }
            }
        }
    }

    context("finding 4: messages out of order are protocol violations") {
        test("Resumed after an Identify does not connect; a second one ends the connection with VoiceServerProtocolException") {
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val pending = connectAsync()
                    serveEach(backgroundScope) { socket ->
                        socket.helloIdentify()
                        socket.serverSends("""{"op":9,"d":null}""")
                    }
                    val e = withTimeoutOrNull(1.minutes) { shouldThrow<VoiceServerProtocolException> { pending.await() } }
                    e shouldNotBe null // before the fix: connect returned a connection with SSRC 0 and no key
                    e!!.field shouldBe "Resumed"
                    urls.size shouldBe 2 // retried once, not more
                }
            }
        }

        test("Session Description before Ready is a protocol violation") {
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val pending = connectAsync()
                    serveEach(backgroundScope) { socket ->
                        socket.helloIdentify()
                        socket.serverSends("""{"op":4,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":${List(32) { 1 }}}}""")
                    }
                    val e = withTimeoutOrNull(1.minutes) { shouldThrow<VoiceServerProtocolException> { pending.await() } }
                    e shouldNotBe null
                    e!!.field shouldBe "SessionDescription"
                    urls.size shouldBe 2
                }
            }
        }

        test("Session Description with another mode than the one selected is a protocol violation") {
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val pending = connectAsync()
                    serveEach(backgroundScope) { socket ->
                        socket.helloIdentify()
                        socket.serverSends("""{"op":2,"d":{"ssrc":1,"ip":"127.0.0.1","port":1,"modes":["aead_aes256_gcm_rtpsize","aead_xchacha20_poly1305_rtpsize"]}}""")
                        socket.expect(VoiceOp.SELECT_PROTOCOL)
                        socket.serverSends("""{"op":4,"d":{"mode":"aead_xchacha20_poly1305_rtpsize","secret_key":${List(32) { 1 }}}}""")
                    }
                    val e = withTimeoutOrNull(1.minutes) { shouldThrow<VoiceServerProtocolException> { pending.await() } }
                    e shouldNotBe null
                    e!!.field shouldBe "SessionDescription.mode"
                    urls.size shouldBe 2
                }
            }
        }

        test("one violation followed by a good handshake connects") {
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val pending = connectAsync()
                    val first = sockets.receive()
                    first.helloIdentify()
                    first.serverSends("""{"op":9,"d":null}""")
                    val second = sockets.receive()
                    second.helloIdentify()
                    second.readyToSession()
                    pending.await().disconnect()
                }
            }
        }
    }

    context("finding 6: no reconnect storm") {
        test("a server that completes the handshake and then closes is retried with growing delays and given up") {
            runTest {
                val h = ConnectionHarness(this) {
                    reconnectDelay = 1.seconds
                    reconnectDelayMax = 30.seconds
                    maxReconnectAttempts = 6
                }
                with(h) {
                    val (first, connection) = connected()
                    val opened = ArrayList<Long>()
                    var socket = first
                    while (true) {
                        socket.serverCloses(1000) // 1000 is resumed
                        socket = nextSocket(5.minutes) ?: break
                        opened += testScheduler.currentTime
                        socket.serverSends("""{"op":8,"d":{"heartbeat_interval":13750}}""")
                        socket.expect(VoiceOp.RESUME)
                        socket.serverSends("""{"op":9,"d":null}""")
                        runCurrent()
                        if (opened.size > 50) break
                    }
                    // Before the fix: hundreds of immediate reconnects. After: retry 1 at once, then 1, 2, 4, 8, 16 s
                    // (jittered down to half), then the connection gives up.
                    opened.size shouldBe 6
                    val gaps = opened.zipWithNext { a, b -> b - a }
                    gaps.forEachIndexed { i, gap -> (gap >= 500L * (1 shl i)) shouldBe true }
                    val cause = connection.closed.await().shouldBeInstanceOf<VoiceReconnectFailedException>()
                    cause.attempts shouldBe 6
                    cause.message shouldContain "1000"
                }
            }
        }

        test("a connection that stayed healthy for healthyAfter retries its next drop at once, and the count starts over") {
            runTest {
                val h = ConnectionHarness(this) {
                    reconnectDelay = 1.seconds
                    maxReconnectAttempts = 3
                    healthyAfter = 60.seconds
                    missedHeartbeatAcks = 100 // this fake server does not answer heartbeats
                }
                with(h) {
                    val (first, connection) = connected()
                    var socket = first
                    suspend fun dropAndResume() {
                        socket.serverCloses(1006)
                        socket = nextSocket(1.minutes)!!
                        socket.serverSends("""{"op":8,"d":{"heartbeat_interval":13750}}""")
                        socket.expect(VoiceOp.RESUME)
                        socket.serverSends("""{"op":9,"d":null}""")
                        runCurrent()
                    }
                    repeat(5) {
                        advanceTimeBy(61_000) // healthy for longer than healthyAfter each time
                        val before = testScheduler.currentTime
                        dropAndResume()
                        (testScheduler.currentTime - before) shouldBe 0L // immediate
                    }
                    connection.isAlive shouldBe true // 5 drops > maxReconnectAttempts, but each after a healthy minute
                    connection.disconnect()
                }
            }
        }
    }

    context("finding 7: deterministic server errors are retried at most once and surface typed") {
        withData(
            nameFn = { it.first },
            "a 31-byte key" to """{"op":4,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":${List(31) { 1 }}}}""",
            "a 0-byte key" to """{"op":4,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":[]}}""",
            "a 33-byte key" to """{"op":4,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":${List(33) { 1 }}}}""",
            "an unknown mode" to """{"op":4,"d":{"mode":"xsalsa20_poly1305_lite","secret_key":${List(32) { 1 }}}}""",
        ) { (_, description) ->
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val pending = connectAsync()
                    val start = testScheduler.currentTime
                    serveEach(backgroundScope) { socket ->
                        socket.helloIdentify()
                        socket.serverSends("""{"op":2,"d":{"ssrc":1,"ip":"127.0.0.1","port":1,"modes":["aead_aes256_gcm_rtpsize"]}}""")
                        socket.expect(VoiceOp.SELECT_PROTOCOL)
                        socket.serverSends(description)
                    }
                    val e = shouldThrow<VoiceConnectionException> { pending.await() }
                    // Before the fix: VoiceReconnectFailedException wrapping an IllegalStateException after 9 attempts.
                    e.shouldBeInstanceOf<VoiceServerProtocolException>().field shouldContain "SessionDescription"
                    urls.size shouldBe 2
                    (testScheduler.currentTime - start <= config.handshakeTimeout.inWholeMilliseconds) shouldBe true
                }
            }
        }

        withData(nameFn = { "heartbeat interval $it" }, "1e300", "1e-9", "4000000") { interval ->
            runTest {
                val h = ConnectionHarness(this)
                with(h) {
                    val pending = connectAsync()
                    serveEach(backgroundScope) { socket -> socket.serverSends("""{"op":8,"d":{"heartbeat_interval":$interval}}""") }
                    val e = withTimeoutOrNull(1.minutes) { shouldThrow<VoiceConnectionException> { pending.await() } }
                    e.shouldBeInstanceOf<VoiceServerProtocolException>().field shouldBe "Hello.heartbeat_interval"
                    urls.size shouldBe 2
                }
            }
        }
    }
})
