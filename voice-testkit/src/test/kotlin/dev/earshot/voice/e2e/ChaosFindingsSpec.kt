package dev.earshot.voice.e2e

import dev.earshot.voice.connection.VoiceConnectionState
import dev.earshot.voice.connection.VoiceServerProtocolException
import dev.earshot.voice.e2e.Chaos.marker
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.testkit.chaos.ChaosAction
import dev.earshot.voice.testkit.chaos.ChaosScript
import dev.earshot.voice.testkit.chaos.ChaosServerConfig
import dev.earshot.voice.testkit.chaos.ChaosStep
import dev.earshot.voice.testkit.chaos.ChaosVoiceServer
import io.kotest.assertions.withClue
import io.kotest.core.Tag
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.minutes
import kotlin.time.Duration.Companion.nanoseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeoutOrNull

/** Tag of the deterministic chaos findings: `-Dkotest.tags=ChaosFindings` runs just these. */
object ChaosFindings : Tag()

/**
 * One named test per defect the chaos server found in the client. Each runs Earshot's real connection against a
 * [ChaosVoiceServer] over loopback and has its own timeout, so a client that hangs fails the test instead of blocking
 * the build.
 */
class ChaosFindingsSpec : FunSpec({
    tags(ChaosFindings)
    beforeSpec { Chaos.warmUp() }

    /** Runs [block] with a chaos server and a scope whose connection is always torn down. */
    suspend fun withChaos(
        scripts: List<ChaosScript>,
        default: ChaosScript = ChaosScript.NORMAL,
        config: ChaosServerConfig = ChaosServerConfig(),
        block: suspend (ChaosVoiceServer, CoroutineScope) -> Unit,
    ) {
        val scope = Chaos.newScope()
        ChaosVoiceServer.start(scripts, default, config).use { server ->
            try {
                block(server, scope)
            } finally {
                println("chaos: ${server.attempts.size} attempts: ${server.attempts.take(6).joinToString(" | ")}")
                scope.cancel()
            }
        }
    }

    /** Connected with the key of its newest session, or failed typed within the bound: nothing else. */
    fun checkConnectedOrTyped(outcome: Chaos.Outcome, server: ChaosVoiceServer) {
        withClue("outcome $outcome") {
            outcome.shouldNotBeHungOrUntyped()
            if (outcome is Chaos.Outcome.Connected) {
                withClue("connect() returned without the Session Description of its newest Ready (attempts ${server.attempts})") {
                    Chaos.handshakeComplete(server.attempts) shouldBe true
                    (outcome.connection.encryptionMode != null) shouldBe true
                }
            }
        }
    }

    for ((name, action, step) in listOf(
        Triple("close 1000", ChaosAction.Close(1000), ChaosStep.AFTER_SELECT_PROTOCOL),
        Triple("close 4015", ChaosAction.Close(4015), ChaosStep.AFTER_READY),
        Triple("drop", ChaosAction.Drop(), ChaosStep.AFTER_READY),
        Triple("reset", ChaosAction.Drop(reset = true), ChaosStep.AFTER_SELECT_PROTOCOL),
    )) {
        test("(1) $name between Ready and Session Description once: connect() retries and connects with a key, or fails typed in time").config(timeout = 1.minutes) {
            withChaos(listOf(ChaosScript { at(step, action) })) { server, scope ->
                val config = Chaos.config()
                val outcome = Chaos.connect(server, config, scope)
                checkConnectedOrTyped(outcome, server)
            }
        }

        test("(1) $name between Ready and Session Description on every attempt: connect() fails typed within its bound").config(timeout = 1.minutes) {
            withChaos(emptyList(), ChaosScript { at(step, action) }) { server, scope ->
                val config = Chaos.config()
                val started = TimeSource.Monotonic.markNow()
                val outcome = Chaos.connect(server, config, scope)
                println("(1) $name every attempt: $outcome after ${started.elapsedNow()} (bound ${Chaos.connectBound(config)})")
                checkConnectedOrTyped(outcome, server)
            }
        }
    }

    test("(1) a live connection whose reconnect is closed between Ready and Session Description does not hang in Reconnecting").config(timeout = 1.minutes) {
        // Attempt 0 connects, then the server ends the session (4006: reconnect in full); every later attempt is closed
        // after Select Protocol. The connection must end typed, or be connected with a key, within the connect bound.
        val first = ChaosScript { at(ChaosStep.AFTER_SESSION_DESCRIPTION, ChaosAction.Stall(300.milliseconds), ChaosAction.Close(4006)) }
        withChaos(listOf(first), ChaosScript { at(ChaosStep.AFTER_SELECT_PROTOCOL, ChaosAction.Close(1000)) }) { server, scope ->
            val config = Chaos.config()
            val connection = (Chaos.connect(server, config, scope) as Chaos.Outcome.Connected).connection
            server.awaitAttempts(2)
            val bound = Chaos.connectBound(config)
            val settled = withTimeoutOrNull(bound) {
                while (true) {
                    val state = connection.state.value
                    if (state is VoiceConnectionState.Closed) break
                    if (state is VoiceConnectionState.Connected && server.attempts.size >= 2 && Chaos.handshakeComplete(server.attempts)) break
                    delay(20)
                }
            }
            println("(1) live reconnect: state ${connection.state.value} after ${server.attempts.size} attempts")
            withClue("state ${connection.state.value} after $bound; attempts ${server.attempts}") {
                (settled != null) shouldBe true
            }
            val state = connection.state.value
            if (state is VoiceConnectionState.Closed) (state.cause is dev.earshot.voice.connection.VoiceConnectionException) shouldBe true
            connection.disconnect()
        }
    }

    for (depth in listOf(5_000, 100_000, 1_000_000)) {
        test("(2) a frame of $depth nested '[' : no raw Error, the connection goes on").config(timeout = 1.minutes) {
            val script = ChaosScript {
                // `{"a":` is 5 bytes a level: the object variant stays under the client's 4 MiB frame limit, which
                // the next test covers on its own.
                at(ChaosStep.AFTER_SESSION_DESCRIPTION, ChaosAction.Stall(200.milliseconds), ChaosAction.Nested(depth), ChaosAction.Nested(minOf(depth, 600_000), objects = true), Chaos.markerOp(MARKER))
            }
            withChaos(listOf(script)) { server, scope ->
                val outcome = Chaos.connect(server, Chaos.config(), scope)
                outcome.shouldBeInstanceOf<Chaos.Outcome.Connected>()
                val connection = outcome.connection
                val seen = scope.marker(connection, MARKER)
                val marker = withTimeoutOrNull(20.seconds) { seen.await() }
                val closed = if (connection.closed.isCompleted) connection.closed.await() else null
                withClue("closed with $closed") {
                    (closed is Error) shouldBe false
                    connection.isAlive shouldBe true
                    (marker != null) shouldBe true
                }
                connection.disconnect()
            }
        }
    }

    test("(2) a 6 MiB frame: that socket is refused at the wire limit and the connection carries on").config(timeout = 1.minutes) {
        val script = ChaosScript { at(ChaosStep.AFTER_SESSION_DESCRIPTION, ChaosAction.Stall(200.milliseconds), ChaosAction.HugeFrame(6 shl 20)) }
        withChaos(listOf(script)) { server, scope ->
            val connection = (Chaos.connect(server, Chaos.config(), scope) as Chaos.Outcome.Connected).connection
            val again = withTimeoutOrNull(20.seconds) {
                while (!(server.attempts.size >= 2 && connection.state.value is VoiceConnectionState.Connected)) delay(20)
            }
            withClue("state ${connection.state.value}; attempts ${server.attempts}") {
                (again != null) shouldBe true
                connection.isAlive shouldBe true
                connection.closed.isCompleted shouldBe false
            }
            connection.disconnect()
        }
    }

    test("(3) op 11 flood of 100 MB worth of user ids: the client's heap stays within 64 MB of where it was").config(timeout = 4.minutes) {
        // 100 messages of 50,000 distinct 18-digit ids each: 5 million ids, 105 MB of JSON.
        val flood = ChaosAction.ClientsConnectFlood(messages = 100, idsPerMessage = 50_000, firstUserId = 100_000_000_000_000_000L)
        val script = ChaosScript { at(ChaosStep.AFTER_SESSION_DESCRIPTION, ChaosAction.Stall(300.milliseconds), flood, Chaos.markerOp(MARKER)) }
        withChaos(listOf(script), config = ChaosServerConfig(heartbeatInterval = 5.seconds)) { server, scope ->
            val before = Chaos.usedHeapAfterGc()
            val connection = (Chaos.connect(server, Chaos.config(), scope) as Chaos.Outcome.Connected).connection
            val seen = scope.marker(connection, MARKER)
            val started = TimeSource.Monotonic.markNow()
            val marker = withTimeoutOrNull(3.minutes) { seen.await() }
            val after = Chaos.usedHeapAfterGc()
            val grown = after - before
            println("(3) op 11 flood of 5,000,000 ids (105 MB): heap grew ${grown / MB} MB (${before / MB} -> ${after / MB} MB) while connected; " +
                "members ${connection.members.size}; marker after ${started.elapsedNow()}; alive ${connection.isAlive}")
            (marker != null) shouldBe true
            grown shouldBeLessThan 64 * MB
            connection.disconnect()
        }
    }

    for (op in listOf(25, 27, 29, 30)) {
        test("(3) DAVE op $op declaring a 1 GiB field: no huge allocation, no raw Error").config(timeout = 1.minutes) {
            val script = ChaosScript {
                at(
                    ChaosStep.AFTER_SESSION_DESCRIPTION,
                    ChaosAction.Stall(200.milliseconds),
                    ChaosAction.DaveLengthBomb(op, declaredLength = (1L shl 30) - 1, lengthBytes = 4, presentBytes = 8),
                    ChaosAction.DaveLengthBomb(op, declaredLength = 1L shl 30, lengthBytes = 8, presentBytes = 0),
                    ChaosAction.DaveTruncated(op, 2),
                    Chaos.markerOp(MARKER),
                )
            }
            // The Session Description turns DAVE on, so the binary opcodes reach the client's MLS code.
            withChaos(listOf(script), config = ChaosServerConfig(daveProtocolVersion = 1)) { server, scope ->
                val connection = (Chaos.connect(server, Chaos.config(), scope) as Chaos.Outcome.Connected).connection
                val seen = scope.marker(connection, MARKER)
                val allocated = Chaos.allocatedBytes()
                val marker = withTimeoutOrNull(20.seconds) { seen.await() }
                val used = Chaos.allocatedBytes() - allocated
                println("(3) op $op length bomb: ${used / MB} MB allocated by all threads meanwhile; alive ${connection.isAlive}")
                val closed = if (connection.closed.isCompleted) connection.closed.await() else null
                withClue("closed with $closed") {
                    (closed is Error) shouldBe false
                    (marker != null) shouldBe true
                    used shouldBeLessThan 256 * MB
                }
                connection.disconnect()
            }
        }
    }

    test("(4) op 9 Resumed in answer to Identify: connect() does not succeed").config(timeout = 1.minutes) {
        withChaos(emptyList(), ChaosScript { at(ChaosStep.AFTER_IDENTIFY, ChaosAction.SendResumed) }) { server, scope ->
            val outcome = Chaos.connect(server, Chaos.config(), scope)
            println("(4) Resumed after Identify: $outcome")
            outcome.shouldNotBeHungOrUntyped()
            outcome.shouldBeInstanceOf<Chaos.Outcome.Typed>()
        }
    }

    test("(5) 40,000 op 5 with heartbeats every 500 ms: not closed with 4900, every SSRC mapped in reasonable time").config(timeout = 2.minutes) {
        val count = 40_000
        val flood = ChaosAction.SpeakingFlood(count, firstUserId = 1_000_000L)
        val script = ChaosScript { at(ChaosStep.AFTER_SESSION_DESCRIPTION, ChaosAction.Stall(300.milliseconds), flood) }
        withChaos(listOf(script), config = ChaosServerConfig(heartbeatInterval = 500.milliseconds)) { server, scope ->
            val before = Chaos.usedHeapAfterGc()
            val connection = (Chaos.connect(server, Chaos.config(), scope) as Chaos.Outcome.Connected).connection
            val lastUser = 1_000_000L + count - 1
            val started = TimeSource.Monotonic.markNow()
            val last = withTimeoutOrNull(60.seconds) {
                connection.events.filterIsInstance<VoiceEvent.SpeakingStateChanged>().first { it.userId == lastUser }
            }
            val took = started.elapsedNow()
            // Three more heartbeat intervals: a connection that fell behind its ACKs shows it now.
            delay(1500.milliseconds)
            val grown = Chaos.usedHeapAfterGc() - before
            val attempts = server.attempts
            println("(5) op 5 flood of $count: last mapping after $took; heap grew ${grown / MB} MB; attempts ${attempts.size}: ${attempts.map { it.ended }}")
            withClue("attempts $attempts") {
                attempts.none { it.ended == "client closed 4900" } shouldBe true
                attempts.size shouldBe 1
                (last != null) shouldBe true
            }
            took shouldBeLessThanDuration 15.seconds
            connection.disconnect()
        }
    }

    test("(6) a server that completes the handshake and then closes 1000: reconnects come at a growing delay").config(timeout = 2.minutes) {
        val closing = ChaosScript {
            at(ChaosStep.AFTER_SESSION_DESCRIPTION, ChaosAction.Close(1000))
            at(ChaosStep.AFTER_RESUMED, ChaosAction.Close(1000))
        }
        withChaos(emptyList(), closing) { server, scope ->
            val config = Chaos.config { reconnectDelay = 500.milliseconds; reconnectDelayMax = 30.seconds; maxReconnectAttempts = 8 }
            val started = TimeSource.Monotonic.markNow()
            val outcome = Chaos.connect(server, config, scope, bound = 20.seconds)
            println("(6) connect: $outcome after ${started.elapsedNow()}")
            val window = 10.seconds
            delay(window - started.elapsedNow())
            val attempts = server.attempts
            val gaps = attempts.zipWithNext { a, b -> (b.openedAtNanos - (a.closedAtNanos ?: a.openedAtNanos)).nanoseconds }
            println("(6) handshake then 1000: ${attempts.size} connections in ${started.elapsedNow()}; first gaps ${gaps.take(12).map { it.inWholeMilliseconds }} ms")
            (outcome is Chaos.Outcome.Connected) shouldBe true
            // With a delay of 0.5 s doubling (jittered down to half): at most about 0 + 0.5 + 1 + 2 + 4 s in the window.
            attempts.size shouldBeLessThanOrEqual 12
            withTimeoutOrNull(Chaos.CLOSE_BOUND) { (outcome as? Chaos.Outcome.Connected)?.connection?.disconnect() }
        }
    }

    val terminal = listOf(
        "Session Description key of 0 bytes" to ChaosScript { at(ChaosStep.AFTER_SELECT_PROTOCOL, ChaosAction.SendSessionDescription(keyLength = 0)) },
        "Session Description key of 31 bytes" to ChaosScript { at(ChaosStep.AFTER_SELECT_PROTOCOL, ChaosAction.SendSessionDescription(keyLength = 31)) },
        "Session Description key of 33 bytes" to ChaosScript { at(ChaosStep.AFTER_SELECT_PROTOCOL, ChaosAction.SendSessionDescription(keyLength = 33)) },
        "Session Description with an unknown mode" to ChaosScript { at(ChaosStep.AFTER_SELECT_PROTOCOL, ChaosAction.SendSessionDescription(mode = "aead_rot13_rtpsize")) },
        "Hello with heartbeat_interval NaN" to ChaosScript { at(ChaosStep.BEFORE_HELLO, ChaosAction.SendHello("NaN")) },
        "Hello with heartbeat_interval Infinity" to ChaosScript { at(ChaosStep.BEFORE_HELLO, ChaosAction.SendHello("Infinity")) },
        "Hello with heartbeat_interval 0" to ChaosScript { at(ChaosStep.BEFORE_HELLO, ChaosAction.SendHello("0")) },
        "Hello with heartbeat_interval -5" to ChaosScript { at(ChaosStep.BEFORE_HELLO, ChaosAction.SendHello("-5")) },
        "Ready with port 0" to ChaosScript { at(ChaosStep.AFTER_IDENTIFY, ChaosAction.SendReady(port = 0)) },
        "Ready with port 70000" to ChaosScript { at(ChaosStep.AFTER_IDENTIFY, ChaosAction.SendReady(port = 70_000)) },
        "Ready with a hostname as ip" to ChaosScript { at(ChaosStep.AFTER_IDENTIFY, ChaosAction.SendReady(ip = "localhost")) },
    )
    for ((name, script) in terminal) {
        test("(7) $name on every attempt: terminal VoiceServerProtocolException after at most one retry").config(timeout = 1.minutes) {
            withChaos(emptyList(), script) { server, scope ->
                val config = Chaos.config { maxReconnectAttempts = 8 }
                val started = TimeSource.Monotonic.markNow()
                val outcome = Chaos.connect(server, config, scope)
                println("(7) $name: $outcome after ${server.attempts.size} attempts, ${started.elapsedNow()}")
                outcome.shouldNotBeHungOrUntyped()
                withClue("outcome $outcome after ${server.attempts.size} attempts") {
                    outcome.shouldBeInstanceOf<Chaos.Outcome.Typed>()
                    outcome.error.shouldBeInstanceOf<VoiceServerProtocolException>()
                    server.attempts.size shouldBeLessThanOrEqual 2
                }
            }
        }
    }

})

private const val MARKER = 777_777L
private const val MB = 1L shl 20

private fun Chaos.Outcome.shouldNotBeHungOrUntyped() {
    withClue("connect() hung past its bound") { (this is Chaos.Outcome.Hung) shouldBe false }
    if (this is Chaos.Outcome.Untyped) {
        throw AssertionError("connect() failed with an untyped ${error::class.qualifiedName}: ${error.message}", error)
    }
}

private infix fun Duration.shouldBeLessThanDuration(bound: Duration) {
    withClue("$this should be less than $bound") { (this < bound) shouldBe true }
}
