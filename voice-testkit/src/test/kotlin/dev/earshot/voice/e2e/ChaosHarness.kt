package dev.earshot.voice.e2e

import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.connection.VoiceConnectionException
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.testkit.chaos.ChaosAttempt
import dev.earshot.voice.testkit.chaos.ChaosStep
import dev.earshot.voice.testkit.chaos.ChaosVoiceServer
import java.lang.management.ManagementFactory
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.firstOrNull
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull

/**
 * Shared pieces of the chaos specs: a client config with short timeouts, the time bound [connectBound] derived from it,
 * and the leak and heap probes.
 */
object Chaos {
    /** A client config for a chaos server: plain ws://, 2 s handshakes, short reconnect delays, 2 retries. */
    fun config(configure: VoiceConnectionConfig.Builder.() -> Unit = {}): VoiceConnectionConfig = VoiceConnectionConfig {
        secure = false
        handshakeTimeout = 2.seconds
        ipDiscoveryTimeout = 200.milliseconds
        ipDiscoveryAttempts = 2
        reconnectDelay = 50.milliseconds
        reconnectDelayMax = 200.milliseconds
        maxReconnectAttempts = 2
        moveGrace = Duration.ZERO
        configure()
    }

    /**
     * The longest [VoiceConnection.connect] may take with [config] before it returns or throws: each of the
     * `maxReconnectAttempts + 1` attempts may spend [VoiceConnectionConfig.handshakeTimeout] opening the socket and
     * again on the handshake, plus a full IP discovery that the watchdog cannot cut short, plus a second to close; the
     * delays between attempts are at most [VoiceConnectionConfig.reconnectDelayMax]; 3 s are added for this shared
     * machine's scheduling.
     */
    fun connectBound(config: VoiceConnectionConfig): Duration {
        val attempts = config.maxReconnectAttempts + 1
        val perAttempt = config.handshakeTimeout * 2 + config.ipDiscoveryTimeout * config.ipDiscoveryAttempts + 1.seconds
        return perAttempt * attempts + config.reconnectDelayMax * attempts + 3.seconds
    }

    /** How long `closed` may take after disconnect(): the receiver's 2 s play-out cap plus 3 s scheduling slack. */
    val CLOSE_BOUND: Duration = 5.seconds

    /** What a connect attempt ended with. */
    sealed interface Outcome {
        data class Connected(val connection: VoiceConnection) : Outcome
        data class Typed(val error: VoiceConnectionException) : Outcome
        data class Untyped(val error: Throwable) : Outcome
        data object Hung : Outcome
    }

    /** Connects to [server] in [scope], catching everything; [Outcome.Hung] when [bound] passes first. */
    suspend fun connect(server: ChaosVoiceServer, config: VoiceConnectionConfig, scope: CoroutineScope, bound: Duration = connectBound(config)): Outcome =
        try {
            withTimeout(bound) { Outcome.Connected(VoiceConnection.connect(server.sessionInfo(), config, scope)) }
        } catch (e: TimeoutCancellationException) {
            Outcome.Hung
        } catch (e: VoiceConnectionException) {
            Outcome.Typed(e)
        } catch (e: Throwable) {
            Outcome.Untyped(e)
        }

    /**
     * One normal connect and disconnect with generous timeouts, so that the first test of a spec does not pay for a
     * cold JVM (class loading, JIT) inside a 1-2 s handshake timeout.
     */
    suspend fun warmUp() {
        val scope = newScope()
        ChaosVoiceServer.start().use { server ->
            val connection = VoiceConnection.connect(server.sessionInfo(), VoiceConnectionConfig { secure = false }, scope)
            connection.disconnect()
        }
        scope.coroutineContext[Job]!!.cancel()
    }

    /** A scope for one connection whose children can be checked after it closed. */
    fun newScope(): CoroutineScope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    /** The live coroutines left under [scope] after [wait] for them to end, as strings for the report. */
    suspend fun activeChildren(scope: CoroutineScope, wait: Duration = 3.seconds): List<String> {
        val job = scope.coroutineContext[Job]!!
        withTimeoutOrNull(wait) { while (job.children.any { it.isActive }) delay(10) }
        return job.children.filter { it.isActive }.map { it.toString() }.toList()
    }

    /**
     * Threads that belong to one connection: named `earshot-` (but not the testkit's own, nor the process-wide
     * daemon pools that live for the whole JVM: the UDP selector and the decode pool) or not daemon at all.
     */
    fun connectionThreads(): Map<String, Int> = Thread.getAllStackTraces().keys
        .filter { it.isAlive }
        .map { it.name to it.isDaemon }
        .filter { (name, daemon) ->
            (name.startsWith("earshot-") && !name.startsWith("earshot-testkit") && name != "earshot-udp-selector" &&
                !name.startsWith("earshot-decode-")) || !daemon
        }
        .groupingBy { it.first.replace(Regex("\\d+$"), "N") }.eachCount()

    /** Threads of [connectionThreads] that are more now than in [before], after waiting up to [wait] for them to end. */
    suspend fun leakedThreads(before: Map<String, Int>, wait: Duration = 3.seconds): Map<String, Int> {
        var leaked: Map<String, Int> = emptyMap()
        withTimeoutOrNull(wait) {
            while (true) {
                leaked = connectionThreads().mapValues { (k, v) -> v - (before[k] ?: 0) }.filterValues { it > 0 }
                if (leaked.isEmpty()) break
                delay(20)
            }
        }
        return leaked
    }

    /** Used heap after a full collection, in bytes. */
    fun usedHeapAfterGc(): Long {
        val rt = Runtime.getRuntime()
        repeat(3) { System.gc() }
        return rt.totalMemory() - rt.freeMemory()
    }

    /** Bytes allocated by all live threads so far (HotSpot's per-thread counters). */
    fun allocatedBytes(): Long {
        val mx = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
        return mx.getThreadAllocatedBytes(mx.allThreadIds).filter { it > 0 }.sum()
    }

    /**
     * Starts watching [connection]'s events for a [VoiceEvent.MemberFlags] of [userId] (the marker a test's server sends
     * after its flood); await the result to know the client has worked through everything before it.
     */
    fun CoroutineScope.marker(connection: VoiceConnection, userId: Long): Deferred<VoiceEvent?> =
        async(start = CoroutineStart.UNDISPATCHED) { connection.events.firstOrNull { it is VoiceEvent.MemberFlags && it.userId == userId } }

    /** The op 18 the chaos server sends as a marker after a flood. */
    fun markerOp(userId: Long) = dev.earshot.voice.testkit.chaos.ChaosAction.SendOp(18, """{"user_id":"$userId","flags":7}""")

    /**
     * Whether the client may count as connected: the newest attempt that got a Ready also got its Session Description,
     * or a later attempt resumed after one did. A client that reports Connected without the key of its newest session
     * is deaf and mute.
     */
    fun handshakeComplete(attempts: List<ChaosAttempt>): Boolean {
        val lastReady = attempts.indexOfLast { ChaosStep.AFTER_READY in it.steps }
        if (lastReady < 0) return false
        return attempts.drop(lastReady).any { ChaosStep.AFTER_SESSION_DESCRIPTION in it.steps }
    }
}
