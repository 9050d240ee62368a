package dev.earshot.voice.fuzz

import dev.earshot.voice.connection.ConnectionHarness
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionException
import dev.earshot.voice.connection.VoiceConnectionState
import dev.earshot.voice.gateway.GatewayProtocolException
import dev.earshot.voice.gateway.FakeGatewaySocket
import dev.earshot.voice.gateway.GatewayMessages
import dev.earshot.voice.gateway.MalformedMessage
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.test.TestScope
import kotlinx.coroutines.test.advanceTimeBy
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest
import kotlin.random.Random
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.minutes

/**
 * Fuzzes the client side of the voice gateway: the decoder (`GatewayMessages.decodeText`/`decodeBinary`) on mutated
 * frames of every opcode, and the real `ConnectionDriver` (through `VoiceConnection` and the in-memory fakes, in
 * virtual time) on mutated message sequences after a valid handshake.
 *
 * Invariants: the decoder throws nothing but `MalformedMessage` or `GatewayProtocolException` (never an `Error`)
 * and allocates no more than the input permits; a connection fed garbage is either still up or ended with a typed
 * `VoiceConnectionException`, nothing escapes into the test's scope, and once the server goes away it ends typed
 * within 5 minutes (no hang). Seed and counts are printed; `-Dearshot.fuzz.inputs=N` sets the number of decoder
 * inputs (CI: 50 000) and, divided by 10, of driver messages (CI: 5 000).
 */
@OptIn(ExperimentalCoroutinesApi::class)
class GatewayFuzzSpec : FunSpec({

    test("decoder: mutated frames of every opcode throw only MalformedMessage or GatewayProtocolException, bounded allocation").config(timeout = 2.hours) {
        val seed = FuzzConfig.seed(12)
        val inputs = FuzzConfig.inputs(50_000)
        val random = Random(seed)
        val gen = GatewayInputs(random)
        val findings = Findings()
        var decoded = 0L
        var malformed = 0L
        var protocol = 0L
        var maxAllocation = 0L
        val start = System.nanoTime()
        for (i in 0 until inputs) {
            val binary = random.nextInt(5) == 0
            val bytes = if (binary) gen.binary() else null
            val text = if (binary) null else gen.text()
            val size = bytes?.size ?: text!!.length
            val before = threadAllocatedBytes()
            try {
                if (bytes != null) GatewayMessages.decodeBinary(bytes) else GatewayMessages.decodeText(text!!)
                decoded++
            } catch (e: MalformedMessage) {
                malformed++
            } catch (e: GatewayProtocolException) {
                protocol++
            } catch (t: Throwable) {
                findings.record("decoder", t, bytes?.toHex() ?: text!!)
            }
            val allocated = threadAllocatedBytes() - before
            maxAllocation = maxOf(maxAllocation, allocated)
            if (i % 100_000 == 99_999) FuzzConfig.report("gateway-decoder", seed, i + 1, start, "malformed=$malformed", progress = true)
            // The decoder copies the frame into a tree and a payload: a few times the input, never more.
            if (allocated > ALLOCATION_SLACK + ALLOCATION_PER_BYTE * size) {
                findings.violation("decoder allocated $allocated bytes for a ${size}-character input", bytes?.toHex() ?: text!!)
            }
        }
        FuzzConfig.report(
            "gateway-decoder", seed, inputs, start,
            "decoded=$decoded malformed=$malformed protocolErrors=$protocol maxAllocation=$maxAllocation",
        )
        withClue("findings (seed $seed):\n$findings") { findings.isEmpty shouldBe true }
        (decoded + malformed + protocol) shouldBe inputs.toLong()
        malformed shouldBeGreaterThan inputs / 10L
        decoded shouldBeGreaterThan inputs / 10L
    }

    test("driver: mutated message sequences after a valid handshake end typed or leave the connection up, never hang").config(timeout = 2.hours) {
        val seed = FuzzConfig.seed(13)
        val messages = FuzzConfig.inputs(50_000) / 10
        val findings = Findings()
        var sent = 0
        var connections = 0
        var stayedUp = 0
        val endings = HashMap<String, Int>()
        val start = System.nanoTime()
        while (sent < messages) {
            val connectionSeed = seed * 1_000_003 + connections
            val batch = minOf(MESSAGES_PER_CONNECTION, messages - sent)
            connections++
            if (connections % 20 == 0) FuzzConfig.report("gateway-driver", seed, sent, start, "connections=$connections endings=$endings", progress = true)
            try {
                runTest(timeout = 2.minutes) {
                    val outcome = fuzzOneConnection(this, Random(connectionSeed), batch)
                    sent += outcome.messages
                    if (outcome.ending == null) stayedUp++ else endings.merge(outcome.ending, 1, Int::plus)
                }
            } catch (t: Throwable) {
                sent += batch
                findings.record("driver (connection seed $connectionSeed)", t, "connection seed $connectionSeed")
            }
        }
        FuzzConfig.report(
            "gateway-driver", seed, sent, start,
            "connections=$connections stayedUpUntilServerLeft=$stayedUp endedDuringFuzz=$endings",
        )
        withClue("findings (seed $seed):\n$findings") { findings.isEmpty shouldBe true }
    }
}) {
    private companion object {
        const val ALLOCATION_SLACK = 1L shl 20
        const val ALLOCATION_PER_BYTE = 64L
        const val MESSAGES_PER_CONNECTION = 500
    }
}

private class Outcome(val messages: Int, val ending: String?)

/**
 * One connection: a valid handshake, then [count] hostile messages (mutated text and binary frames, valid ones, a
 * server close now and then, time passing), answering each new socket with Hello. Returns the messages sent and null
 * if the connection was still up when they ran out, else its typed ending's class name; throws [AssertionError] for a
 * broken invariant.
 */
@OptIn(ExperimentalCoroutinesApi::class)
private suspend fun fuzzOneConnection(scope: TestScope, random: Random, count: Int): Outcome {
    val gen = GatewayInputs(random)
    val h = ConnectionHarness(scope)
    var (socket, connection) = with(h) { connected() }
    var endedDuringFuzz: Throwable? = null
    var sent = 0
    for (i in 0 until count) {
        if (!connection.isAlive) {
            endedDuringFuzz = connection.closed.await()
            break
        }
        if (socket.isClosed) {
            socket = nextSocket(scope, h, connection) ?: continue
            socket.serverSends(if (random.nextInt(4) == 0) gen.text() else gen.texts[0])
        }
        when (random.nextInt(100)) {
            in 0..59 -> socket.serverSends(gen.text())
            in 60..89 -> socket.serverSendsBinary(gen.binary())
            in 90..96 -> scope.advanceTimeBy(random.nextLong(1, 20_000))
            else -> socket.serverCloses(CLOSE_CODES.random(random))
        }
        sent++
        scope.runCurrent()
    }
    if (endedDuringFuzz == null && !connection.isAlive) endedDuringFuzz = connection.closed.await()
    if (endedDuringFuzz != null) {
        if (endedDuringFuzz !is VoiceConnectionException) {
            throw AssertionError("untyped ending: ${endedDuringFuzz.javaClass.name}: ${endedDuringFuzz.message?.take(200)}", endedDuringFuzz)
        }
        return Outcome(sent, endedDuringFuzz.javaClass.simpleName)
    }
    // The server goes away: every socket from now on stays silent. The connection must give up, typed, in bounded time.
    socket.serverCloses(1006)
    var waited = 0
    while (connection.isAlive && waited < SILENCE_LIMIT_SECONDS) {
        scope.advanceTimeBy(10_000)
        waited += 10
    }
    if (connection.isAlive) {
        throw AssertionError("connection still alive ${SILENCE_LIMIT_SECONDS}s after the server went away, state ${connection.state.value}")
    }
    val cause = connection.closed.await()
    if (cause !is VoiceConnectionException) throw AssertionError("after the server went away: untyped ending: ${cause?.javaClass?.name}", cause)
    if (connection.state.value !is VoiceConnectionState.Closed) throw AssertionError("closed but state ${connection.state.value}")
    return Outcome(sent, null)
}

/** The socket the driver opens after a close, or null if the connection ended or none came within a minute. */
@OptIn(ExperimentalCoroutinesApi::class)
private fun nextSocket(scope: TestScope, h: ConnectionHarness, connection: VoiceConnection): FakeGatewaySocket? {
    repeat(60) {
        h.sockets.tryReceive().getOrNull()?.let { return it }
        if (!connection.isAlive) return null
        scope.advanceTimeBy(1_000)
    }
    return null
}

private const val SILENCE_LIMIT_SECONDS = 300

/** Close codes the server may send: normal, abnormal, every 4xxx Discord documents, and some it does not. */
private val CLOSE_CODES = listOf(1000, 1001, 1006, 1011, 4001, 4002, 4003, 4004, 4005, 4006, 4009, 4011, 4012, 4014, 4015, 4016, 4017, 4020, 4021, 4022, 4999, 3000)
