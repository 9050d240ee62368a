package dev.earshot.voice.gateway

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.types.shouldBeInstanceOf
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.async
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.advanceTimeBy
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long

class GatewaySessionSpec : FunSpec({
    test("heartbeats every Hello interval with the last seq as seq_ack; ACKs measure nothing fatal") {
        runTest {
            val socket = FakeGatewaySocket()
            val seq = SeqTracker()
            var nonce = 100L
            val session = GatewaySession(socket, seq, GatewayCounters(), nonce = { nonce++ })
            val seen = mutableListOf<Inbound>()
            val run = async { session.run { seen += it } }
            socket.serverSends("""{"op":8,"d":{"heartbeat_interval":1000}}""")
            runCurrent()
            seen.single().shouldBeHello()
            socket.sent.tryReceive().isSuccess shouldBe false // the first heartbeat waits one interval
            advanceTimeBy(1001)
            socket.expect(VoiceOp.HEARTBEAT).let {
                it["t"]!!.jsonPrimitive.long shouldBe 100
                it["seq_ack"]!!.jsonPrimitive.int shouldBe -1
            }
            socket.serverSends("""{"op":6,"d":{"t":100}}""")
            socket.serverSends("""{"op":5,"seq":41,"d":{"user_id":"7","ssrc":9,"speaking":1}}""")
            socket.serverSendsBinary(byteArrayOf(0, 42, 27, 1)) // binary frames carry seq too
            advanceTimeBy(1000)
            socket.expect(VoiceOp.HEARTBEAT)["seq_ack"]!!.jsonPrimitive.int shouldBe 42
            seq.last shouldBe 42
            (session.ping != null) shouldBe true // the ACK's nonce matched the heartbeat's
            // A server "heartbeat now" request is answered at once.
            socket.serverSends("""{"op":3,"d":null}""")
            runCurrent()
            socket.expect(VoiceOp.HEARTBEAT)
            socket.serverCloses(4015, "crashed")
            run.await() shouldBe GatewayClose(4015, "crashed")
            seen.map { it::class.simpleName } shouldBe listOf("Hello", "Speaking", "Binary")
        }
    }

    test("three unacknowledged heartbeats close the socket as a zombie, which the policy resumes") {
        runTest {
            val socket = FakeGatewaySocket()
            val session = GatewaySession(socket, SeqTracker(), GatewayCounters(), missedAckLimit = 3)
            val run = async { session.run { } }
            socket.serverSends("""{"op":8,"d":{"heartbeat_interval":5000}}""")
            advanceTimeBy(15_001)
            repeat(3) { socket.expect(VoiceOp.HEARTBEAT) }
            socket.isClosed shouldBe false
            advanceTimeBy(5_000)
            val close = run.await()
            close.code shouldBe CloseCodes.LOCAL_HEARTBEAT_TIMEOUT
            CloseCodes.actionFor(close.code) shouldBe CloseAction.RESUME
        }
    }

    test("an ACK resets the count, so a slow but alive server is never dropped") {
        runTest {
            val socket = FakeGatewaySocket()
            val session = GatewaySession(socket, SeqTracker(), GatewayCounters(), missedAckLimit = 2)
            val run = async { session.run { } }
            socket.serverSends("""{"op":8,"d":{"heartbeat_interval":1000}}""")
            repeat(20) {
                advanceTimeBy(1000)
                runCurrent()
                socket.expect(VoiceOp.HEARTBEAT)
                if (it % 2 == 1) socket.serverSends("""{"op":6,"d":{"t":1}}""") // late, stale nonce: still alive
            }
            socket.isClosed shouldBe false
            socket.serverCloses(1000)
            run.await().code shouldBe 1000
        }
    }

    test("garbage frames are counted and skipped; the session carries on") {
        runTest {
            val socket = FakeGatewaySocket()
            val counters = GatewayCounters()
            val session = GatewaySession(socket, SeqTracker(), counters)
            val seen = mutableListOf<Inbound>()
            val run = async { session.run { seen += it } }
            socket.serverSends("not json")
            socket.serverSends("""{"op":5,"d":{"ssrc":"x"}}""") // a handshake op would be a protocol error, not garbage
            socket.serverSendsBinary(byteArrayOf(1))
            socket.serverSends("""{"op":13,"d":{"user_id":"3"}}""")
            socket.serverCloses(1006)
            run.await()
            counters.malformed.get() shouldBe 3
            seen shouldBe listOf(Inbound.ClientDisconnect(3, -1))
        }
    }

    test("a flood of 40k op 5 handled slower than it arrives, with heartbeats flowing, does not end in a 4900 close") {
        runTest {
            val socket = FakeGatewaySocket()
            val session = GatewaySession(socket, SeqTracker(), GatewayCounters(), missedAckLimit = 3)
            var handled = 0
            // Each op 5 costs the consumer 1 ms, so 40k of them take 40 s while heartbeats fall due every 5 s: the
            // server's ACKs wait in the queue behind the flood.
            val run = async { session.run { if (it is Inbound.Speaking) { kotlinx.coroutines.delay(1); handled++ } } }
            socket.serverSends("""{"op":8,"d":{"heartbeat_interval":5000}}""")
            repeat(40_000) { socket.serverSends("""{"op":5,"d":{"user_id":"${it + 1}","ssrc":${it + 1},"speaking":1}}""") }
            val server = launch {
                while (true) {
                    val m = socket.sent.receive()
                    if (m["op"]!!.jsonPrimitive.int == VoiceOp.HEARTBEAT) {
                        socket.serverSends("""{"op":6,"d":{"t":${m["d"]!!.jsonObject["t"]!!.jsonPrimitive.long}}}""")
                    }
                }
            }
            advanceTimeBy(45_000)
            server.cancel()
            handled shouldBe 40_000
            socket.clientClose shouldBe null // before the fix: closed with 4900 after 20 s
            socket.serverCloses(1000)
            run.await().code shouldBe 1000
        }
    }

    withData(nameFn = { "heartbeat interval $it is a protocol violation" }, "1e300", "4000000", "0.5", "1e-300") { interval ->
        runTest {
            val socket = FakeGatewaySocket()
            val session = GatewaySession(socket, SeqTracker(), GatewayCounters())
            val run = async(kotlinx.coroutines.SupervisorJob()) { session.run { } }
            socket.serverSends("""{"op":8,"d":{"heartbeat_interval":$interval}}""")
            val e = shouldThrow<GatewayProtocolException> { run.await() }
            e.field shouldBe "Hello.heartbeat_interval"
            socket.isClosed shouldBe true
        }
    }

    test("a handler whose send finds the socket closed by the server ends run() with the server's close") {
        runTest {
            val socket = FakeGatewaySocket()
            val session = GatewaySession(socket, SeqTracker(), GatewayCounters())
            socket.serverSends("""{"op":8,"d":{"heartbeat_interval":13750}}""")
            socket.serverCloses(4015, "voice server crashed")
            val close = session.run { session.sendText("{}") }
            close shouldBe GatewayClose(4015, "voice server crashed")
        }
    }

    test("a send on a socket that closed under us fails as a socket failure, not as our cancellation") {
        runTest {
            val socket = FakeGatewaySocket()
            val session = GatewaySession(socket, SeqTracker(), GatewayCounters())
            socket.serverCloses(1006)
            val e = shouldThrow<java.io.IOException> { session.sendText("{}") }
            e.cause.shouldBeInstanceOf<kotlinx.coroutines.CancellationException>()
            kotlinx.coroutines.currentCoroutineContext()[kotlinx.coroutines.Job]!!.isActive shouldBe true
        }
    }
})

internal fun Inbound.shouldBeHello() = (this is Inbound.Hello) shouldBe true
