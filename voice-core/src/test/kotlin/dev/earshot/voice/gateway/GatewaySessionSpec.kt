package dev.earshot.voice.gateway

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.async
import kotlinx.coroutines.test.advanceTimeBy
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest
import kotlinx.serialization.json.int
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
})

internal fun Inbound.shouldBeHello() = (this is Inbound.Hello) shouldBe true
