package dev.earshot.voice.e2e

import dev.earshot.voice.connection.VoiceConnectionException
import dev.earshot.voice.testkit.chaos.ChaosAction
import dev.earshot.voice.testkit.chaos.ChaosScript
import dev.earshot.voice.testkit.chaos.ChaosServerConfig
import dev.earshot.voice.testkit.chaos.ChaosStep
import dev.earshot.voice.testkit.chaos.ChaosVoiceServer
import dev.earshot.voice.testkit.chaos.GarbageKind
import dev.earshot.voice.testkit.chaos.HeartbeatMode
import io.kotest.core.spec.style.FunSpec
import io.kotest.property.Arb
import io.kotest.property.PropTestConfig
import io.kotest.property.ShrinkingMode
import io.kotest.property.arbitrary.arbitrary
import io.kotest.property.checkAll
import java.util.concurrent.atomic.AtomicInteger
import kotlin.random.Random
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.minutes
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeoutOrNull

/**
 * Property-based robustness of Earshot's real [dev.earshot.voice.connection.VoiceConnection] against a
 * [ChaosVoiceServer] over loopback WebSocket and UDP: random, seeded sequences of misbehaviour (closes and drops at
 * every handshake step, garbage, deep nesting, huge frames and strings, floods of every opcode, bogus Hello, Ready,
 * Session Description and Resumed, stalls, heartbeat misbehaviour, DAVE length bombs), and after each sequence the
 * invariants:
 * - `connect()` returns, or throws a [VoiceConnectionException], within [Chaos.connectBound] of the short config;
 *   nothing else escapes (no raw `Error`, no untyped exception);
 * - a connection that connected ends (`closed` completes) within [Chaos.CLOSE_BOUND] of `disconnect()`, with no cause
 *   or a typed one;
 * - no coroutine is left under the scope the connection ran in, and no `earshot-` or non-daemon thread is left;
 * - the used heap after a full collection, while connected, is at most [HEAP_BOUND] above where it was before.
 *
 * The seed is printed; `-Dchaos.seed=N` repeats a run, `-Dchaos.sequences=N` (default 16) runs more for a longer
 * soak (e.g. 500 sequences, about an hour on two busy cores).
 */
@OptIn(io.kotest.common.ExperimentalKotest::class)
class ChaosPropertySpec : FunSpec({
    val seed = System.getProperty("chaos.seed")?.toLong() ?: Random.nextLong()
    val sequences = System.getProperty("chaos.sequences")?.toInt() ?: 16
    val invariants = AtomicInteger()
    val stats = SequenceStats()
    beforeSpec { Chaos.warmUp() }

    test("random chaos sequences: connect() ends typed in time, closes, leaks nothing, heap bounded").config(timeout = 30.minutes) {
        println("chaos property: seed $seed (repeat with -Dchaos.seed=$seed), $sequences sequences")
        val started = TimeSource.Monotonic.markNow()
        var n = 0
        // Every sequence runs, and the broken ones are reported together: one hang must not hide the other findings.
        val broken = ArrayList<AssertionError>()
        checkAll(PropTestConfig(seed = seed, iterations = sequences, shrinkingMode = ShrinkingMode.Off), scenarios) { scenario ->
            n++
            try {
                runSequence(n, scenario, invariants, stats)
            } catch (e: AssertionError) {
                println(e.message)
                broken += e
            }
        }
        println(
            "chaos property: $n sequences, ${invariants.get()} invariants checked, ${broken.size} sequences broke one, " +
                "${started.elapsedNow().inWholeSeconds} s; connected ${stats.connected}, failed typed ${stats.typed}; seed $seed",
        )
        if (broken.isNotEmpty()) {
            throw AssertionError("${broken.size} of $n chaos sequences broke an invariant (seed $seed):\n" + broken.joinToString("\n") { it.message.orEmpty() }, broken.first())
        }
    }

    test("heap under floods: op 11 (200,000 ids) and op 5 (40,000 SSRCs) while connected").config(timeout = 5.minutes) {
        val op11 = Scenario(
            listOf(ChaosScript { at(ChaosStep.AFTER_SESSION_DESCRIPTION, ChaosAction.ClientsConnectFlood(20, 10_000, firstUserId = 100_000_000_000_000_000L)) }),
            ChaosScript.NORMAL, 5_000, 0, live = 8.seconds,
        )
        val op5 = Scenario(
            listOf(ChaosScript { at(ChaosStep.AFTER_SESSION_DESCRIPTION, ChaosAction.SpeakingFlood(40_000)) }),
            ChaosScript.NORMAL, 5_000, 0, live = 8.seconds,
        )
        val growth11 = runSequence(-1, op11, invariants, stats)
        val growth5 = runSequence(-2, op5, invariants, stats)
        println("chaos heap: op 11 flood of 200,000 ids (4 MB of JSON): heap ${"%+d".format(growth11 / MB)} MB while connected; op 5 flood of 40,000: ${"%+d".format(growth5 / MB)} MB (bound ${HEAP_BOUND / MB} MB)")
    }
})

private const val MB = 1L shl 20

/** The most the used heap (after GC, while connected) may grow over one sequence. */
private const val HEAP_BOUND = 64L * MB

/** One random sequence: the scripts of the client's first connections, the script of the later ones, server settings. */
private data class Scenario(
    val scripts: List<ChaosScript>,
    val default: ChaosScript,
    val heartbeatMs: Long,
    val dave: Int,
    val live: Duration = 1.seconds,
)

private class SequenceStats {
    var connected = 0
    var typed = 0
}

/**
 * Runs one sequence and checks its invariants; returns the heap growth while connected (0 when it never connected).
 * Throws an AssertionError naming the scenario on the first broken invariant.
 */
private suspend fun runSequence(n: Int, scenario: Scenario, invariants: AtomicInteger, stats: SequenceStats): Long {
    val threadsBefore = Chaos.connectionThreads()
    val heapBefore = Chaos.usedHeapAfterGc()
    val config = Chaos.config { handshakeTimeout = 1.seconds }
    val bound = Chaos.connectBound(config)
    val scope = Chaos.newScope()
    var growth = 0L
    fun fail(what: String, cause: Throwable? = null): Nothing =
        throw AssertionError("sequence $n broke an invariant: $what\n  scenario: $scenario", cause)

    ChaosVoiceServer.start(scenario.scripts, scenario.default, ChaosServerConfig(heartbeatInterval = scenario.heartbeatMs.milliseconds, daveProtocolVersion = scenario.dave, seed = n.toLong())).use { server ->
        val started = TimeSource.Monotonic.markNow()
        val outcome = Chaos.connect(server, config, scope, bound + 2.seconds)
        val took = started.elapsedNow()
        invariants.incrementAndGet()
        when (outcome) {
            Chaos.Outcome.Hung -> fail("connect() neither returned nor threw within ${bound + 2.seconds} (attempts ${server.attempts})")
            is Chaos.Outcome.Untyped -> fail("connect() threw an untyped ${outcome.error::class.qualifiedName}", outcome.error)
            is Chaos.Outcome.Typed -> {
                stats.typed++
                invariants.incrementAndGet()
                if (took > bound) fail("connect() failed after $took, beyond its bound $bound")
            }
            is Chaos.Outcome.Connected -> {
                stats.connected++
                val connection = outcome.connection
                withTimeoutOrNull(scenario.live) { connection.closed.await() }
                growth = Chaos.usedHeapAfterGc() - heapBefore
                invariants.incrementAndGet()
                if (growth > HEAP_BOUND) fail("heap grew ${growth / MB} MB while connected (bound ${HEAP_BOUND / MB} MB)")
                val closing = TimeSource.Monotonic.markNow()
                val closed = withTimeoutOrNull(Chaos.CLOSE_BOUND) {
                    connection.disconnect()
                    connection.closed.await()
                }
                invariants.incrementAndGet()
                if (!connection.closed.isCompleted) fail("closed did not complete within ${Chaos.CLOSE_BOUND} of disconnect() (${closing.elapsedNow()})")
                invariants.incrementAndGet()
                if (closed != null && closed !is VoiceConnectionException) fail("the connection ended with an untyped ${closed::class.qualifiedName}", closed)
            }
        }
        println("chaos sequence $n: ${outcome.describe()} after ${took.inWholeMilliseconds} ms, ${server.attempts.size} attempts, heap ${"%+d".format(growth / MB)} MB; $scenario")
    }
    val children = Chaos.activeChildren(scope)
    invariants.incrementAndGet()
    scope.cancel()
    if (children.isNotEmpty()) fail("coroutines left after close: $children")
    val leaked = Chaos.leakedThreads(threadsBefore)
    invariants.incrementAndGet()
    if (leaked.isNotEmpty()) fail("threads left after close: $leaked")
    return growth
}

private fun Chaos.Outcome.describe(): String = when (this) {
    is Chaos.Outcome.Connected -> "connected"
    is Chaos.Outcome.Typed -> "failed with ${error::class.simpleName}"
    is Chaos.Outcome.Untyped -> "untyped ${error::class.simpleName}"
    Chaos.Outcome.Hung -> "hung"
}

private val scenarios: Arb<Scenario> = arbitrary { rs ->
    val r = rs.random
    val scripts = List(r.nextInt(1, 4)) { randomScript(r) }
    // Mostly a normal server after the scripted connections, so most sequences also reach a live connection.
    val default = if (r.nextInt(4) == 0) randomScript(r) else ChaosScript.NORMAL
    Scenario(scripts, default, listOf(300L, 1_000L, 41_250L)[r.nextInt(3)], if (r.nextInt(3) == 0) 1 else 0)
}

private fun randomScript(r: Random): ChaosScript = ChaosScript {
    repeat(r.nextInt(1, 4)) {
        val step = ChaosStep.entries[r.nextInt(ChaosStep.entries.size)]
        at(step, randomAction(r))
    }
    answerIpDiscovery = r.nextInt(10) != 0
}

private val CLOSE_CODES = listOf(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1012, 3000, 4000, 4001, 4002, 4003, 4004, 4005, 4006, 4009, 4011, 4012, 4014, 4015, 4016, 4017, 4020, 4021, 4022, 4900, 4999)

private fun randomAction(r: Random): ChaosAction = when (r.nextInt(22)) {
    0 -> ChaosAction.Close(CLOSE_CODES[r.nextInt(CLOSE_CODES.size)], if (r.nextBoolean()) "" else "chaos")
    1 -> ChaosAction.Drop(reset = r.nextBoolean())
    2 -> if (r.nextInt(3) == 0) ChaosAction.Silence else ChaosAction.Stall(r.nextLong(0, 1_500).milliseconds)
    3 -> ChaosAction.Garbage(GarbageKind.entries[r.nextInt(GarbageKind.entries.size)], r.nextInt(1, 20), r.nextLong())
    4 -> ChaosAction.Nested(listOf(5_000, 50_000, 200_000)[r.nextInt(3)], objects = r.nextBoolean(), unclosed = r.nextInt(4) == 0)
    5 -> ChaosAction.HugeFrame(r.nextInt(1, 3 shl 20), binary = r.nextBoolean())
    6 -> ChaosAction.HugeString(r.nextInt(1_000, 2_000_000), listOf(5, 11, 13, 18, 20)[r.nextInt(5)])
    7 -> ChaosAction.SpeakingFlood(r.nextInt(1, 3_000))
    8 -> ChaosAction.ClientsConnectFlood(r.nextInt(1, 5), r.nextInt(1, 20_000))
    9 -> ChaosAction.ClientDisconnectFlood(r.nextInt(1, 3_000))
    10 -> ChaosAction.ClientFlagsFlood(r.nextInt(1, 3_000), platform = r.nextBoolean())
    11 -> if (r.nextBoolean()) ChaosAction.HeartbeatAckFlood(r.nextInt(1, 3_000)) else ChaosAction.HeartbeatRequestFlood(r.nextInt(1, 300))
    12 -> ChaosAction.UnknownOpFlood(r.nextInt(1, 3_000), listOf(14, 15, 17, 19, 99, 255, 100_000)[r.nextInt(7)])
    13 -> ChaosAction.SendHello(listOf("NaN", "Infinity", "1e300", "0", "-5", "\"x\"", "1", "null")[r.nextInt(8)])
    14 -> when (r.nextInt(5)) {
        0 -> ChaosAction.SendReady(ip = listOf("localhost", "voice.invalid", "", "999.1.1.1")[r.nextInt(4)])
        1 -> ChaosAction.SendReady(port = listOf(0, 70_000, -1)[r.nextInt(3)])
        2 -> ChaosAction.SendReady(ssrc = listOf(0L, 1L shl 32, -1L)[r.nextInt(3)])
        3 -> ChaosAction.SendReady(modes = emptyList())
        else -> ChaosAction.SendReady(modes = listOf("xsalsa20_poly1305", "aead_rot13_rtpsize"))
    }
    15 -> when (r.nextInt(4)) {
        0 -> ChaosAction.SendSessionDescription(keyLength = listOf(0, 31, 33)[r.nextInt(3)])
        1 -> ChaosAction.SendSessionDescription(mode = "aead_rot13_rtpsize")
        2 -> ChaosAction.SendSessionDescription(mode = "aead_xchacha20_poly1305_rtpsize")
        else -> ChaosAction.SendSessionDescription(daveProtocolVersion = listOf(-1, 2, 255)[r.nextInt(3)])
    }
    16 -> ChaosAction.SendResumed
    17 -> ChaosAction.Heartbeats(HeartbeatMode.entries[r.nextInt(HeartbeatMode.entries.size)])
    18 -> ChaosAction.DaveLengthBomb(listOf(25, 27, 29, 30)[r.nextInt(4)], r.nextLong(0, 1L shl 30), listOf(1, 2, 4, 8)[r.nextInt(4)], r.nextInt(0, 64))
    19 -> ChaosAction.DaveTruncated(listOf(25, 27, 29, 30)[r.nextInt(4)], r.nextInt(0, 16))
    20 -> listOf(
        ChaosAction.SendOp(21, """{"transition_id":"x","protocol_version":-1}"""),
        ChaosAction.SendOp(21, """{"transition_id":70000,"protocol_version":99}"""),
        ChaosAction.SendOp(22, """{"transition_id":null}"""),
        ChaosAction.SendOp(22, """{"transition_id":-5}"""),
        ChaosAction.SendOp(24, """{"epoch":"1","protocol_version":1}"""),
        ChaosAction.SendOp(24, """{"epoch":-1,"protocol_version":1e300}"""),
    )[r.nextInt(6)]
    else -> ChaosAction.SendAudio(r.nextInt(1, 50))
}
