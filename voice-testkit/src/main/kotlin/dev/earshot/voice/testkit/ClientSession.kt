package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.RtpsizeLayout
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.testkit.internal.Emission
import dev.earshot.voice.testkit.internal.Endpoint
import dev.earshot.voice.testkit.internal.FaultInjector
import dev.earshot.voice.testkit.internal.FaultOutcome
import dev.earshot.voice.testkit.internal.GatewayConnection
import dev.earshot.voice.testkit.internal.blockingWait
import java.net.InetSocketAddress
import java.util.Collections
import java.util.concurrent.TimeoutException
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.SerializationException
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put

/**
 * The server's side of one real client's voice session: created by a successful Identify, kept across Resumes,
 * ended by a leave, a fatal close code or an expired resume window.
 *
 * It records what the client sent ([received], [speakingUpdates], [messages]), lets a test inject network
 * faults into what the client receives ([faults], [dropNext]) and acts on the connection ([dropConnection],
 * [closeConnection], [rotateKey]). All members are safe to use from any thread.
 */
public class ClientSession internal constructor(
    internal val server: VoiceTestServer,
    /** The grant the client identified with. */
    public val grant: VoiceGrant,
    internal val endpoint: Endpoint,
    /** The audio SSRC assigned in Ready. */
    public val ssrc: Long,
    /** Identify's `max_dave_protocol_version` (0 when absent). */
    public val maxDaveProtocolVersion: Int,
    /** The `v` query parameter of the WebSocket URL the client identified on, or null when absent. */
    public val gatewayVersion: Int?,
) {
    /** The user. */
    public val userId: String get() = grant.userId

    /** The guild. */
    public val guildId: String get() = grant.guildId

    /** The voice channel. */
    public val channelId: String get() = grant.channelId

    // --- connection state, guarded by server.lock ---
    internal var connection: GatewayConnection? = null
    internal var resumeExpiry: Job? = null
    private var nextSeq = 1
    /** Sequenced messages kept for Resume: a JSON text (String) or a binary DAVE frame (ByteArray). */
    private val replay = ArrayDeque<Pair<Int, Any>>()
    private var evictedUpTo = 0 // the highest sequence number evicted from the replay buffer; 0 = none

    /** True while a WebSocket is attached (false between a drop and a Resume). */
    public val isConnected: Boolean get() = synchronized(server.lock) { connection != null }

    /** True once the session has ended; it cannot be resumed then. */
    @Volatile public var isEnded: Boolean = false
        internal set

    /** The mode chosen in Select Protocol, or null before it. */
    @Volatile public var mode: EncryptionMode? = null
        internal set

    /** True once Session Description (op 4) was sent: the client has a key and can send and receive audio. */
    public val isReady: Boolean get() = mode != null

    @Volatile private var key: ByteArray? = null

    /** A copy of the current transport key, or null before Select Protocol. */
    public val secretKey: ByteArray? get() = key?.copyOf()

    /**
     * The DAVE protocol version of the last Session Description sent to the client: 1 when the channel ran DAVE
     * then, 0 for transport-only. Later downgrades (op 21) and upgrades (op 24) do not change it.
     */
    @Volatile public var daveProtocolVersion: Int = 0
        internal set

    /** The UDP address the server sends to: the source of the client's IP discovery (or first RTP packet). */
    @Volatile public var udpAddress: InetSocketAddress? = null
        internal set

    /** The address and port the client gave in Select Protocol, or null. */
    @Volatile public var selectedAddress: InetSocketAddress? = null
        internal set

    /** The client's last op 5 speaking flags, or null before its first op 5. */
    @Volatile public var speaking: Int? = null
        internal set

    // --- records ---
    private val receivedList = Collections.synchronizedList(ArrayList<CapturedPacket>())
    private val speakingList = Collections.synchronizedList(ArrayList<SpeakingUpdate>())
    private val messageList = Collections.synchronizedList(ArrayList<ClientMessage>())
    internal val counters = ClientCounters()

    /** Every RTP audio packet the client sent that authenticated, decrypted, in arrival order. */
    public val received: List<CapturedPacket> get() = synchronized(receivedList) { receivedList.toList() }

    /** Every op 5 the client sent, in order. */
    public val speakingUpdates: List<SpeakingUpdate> get() = synchronized(speakingList) { speakingList.toList() }

    /** Every JSON message the client sent on this session's sockets (Identify or Resume included), in order. */
    public val messages: List<ClientMessage> get() = synchronized(messageList) { messageList.toList() }

    /** This client's packet counters. */
    public val stats: ClientStats get() = counters.snapshot()

    internal fun record(packet: CapturedPacket) {
        receivedList += packet
    }

    internal fun record(update: SpeakingUpdate) {
        speakingList += update
    }

    internal fun record(message: ClientMessage) {
        messageList += message
    }

    // --- keys ---
    internal class InboundKeys(val current: TransportCipher, val previous: TransportCipher?, val previousUntilNanos: Long)

    // Used only by the endpoint's UDP thread after publication through this volatile field.
    @Volatile internal var inbound: InboundKeys? = null
    internal val outbound = Outbound()

    /** Installs the first key (Select Protocol): both directions switch at once. */
    internal fun installKey(newMode: EncryptionMode, newKey: ByteArray) {
        inbound = InboundKeys(TransportCipher.create(newMode, newKey), null, 0)
        outbound.setCipher(TransportCipher.create(newMode, newKey))
        key = newKey.copyOf()
        mode = newMode
    }

    // --- faults ---

    /** Faults applied to every datagram sent to this client from now on; [FaultConfig.NONE] by default. */
    public var faults: FaultConfig
        get() = outbound.faults
        set(value) = outbound.setFaults(value)

    /** Drops the next [count] datagrams to this client (a burst loss on demand), on top of [faults]. */
    public fun dropNext(count: Int) {
        require(count >= 0) { "count must not be negative" }
        outbound.dropNext(count)
    }

    // --- actions ---

    /**
     * Closes the client's WebSocket without a close frame (the client sees 1006). The session stays resumable for
     * [TestServerConfig.resumeWindow]. Does nothing when no socket is attached.
     */
    public fun dropConnection() {
        val c = synchronized(server.lock) { connection } ?: return
        c.abort()
    }

    /**
     * Closes the client's WebSocket with [code] and [reason]. Codes below 4000 and 4015 leave the session resumable
     * (as Discord does); any other 4xxx code ends it, and the other members get op 13.
     */
    @JvmOverloads
    public fun closeConnection(code: Int, reason: String = "") {
        require(code in 1000..4999) { "close code must be 1000..4999, was $code" }
        val resumable = code < 4000 || code == 4015
        synchronized(server.lock) {
            val c = connection
            if (resumable) c?.closeWith(code, reason, endSession = false)
            else server.endSession(this, code, reason)
        }
    }

    /**
     * Rotates the transport key: sends a new op 4 Session Description (same mode, new `secret_key`) at once,
     * keeps encrypting to the client with the old key for [TestServerConfig.keySwitchDelay], and accepts packets
     * from the client under the old key for [TestServerConfig.previousKeyGrace]. Returns a copy of the new key.
     * @throws IllegalStateException before Select Protocol or after the session ended.
     */
    public fun rotateKey(): ByteArray {
        val newKey: ByteArray
        synchronized(server.lock) {
            val m = mode
            check(m != null && !isEnded) { "the session has no key to rotate" }
            newKey = server.randomKey()
            val old = inbound
            inbound = InboundKeys(
                TransportCipher.create(m, newKey), old?.current,
                System.nanoTime() + server.config.previousKeyGrace.inWholeNanoseconds,
            )
            key = newKey.copyOf()
            send(4, server.sessionDescription(m, newKey, daveProtocolVersion))
            val switchTo = TransportCipher.create(m, newKey)
            server.scope.launch {
                delay(server.config.keySwitchDelay)
                outbound.setCipher(switchTo)
            }
        }
        return newKey.copyOf()
    }

    /** Waits until at least [count] packets were [received] and returns them; throws on [timeout]. */
    @JvmSynthetic
    public suspend fun awaitReceived(count: Int, timeout: Duration = 5.seconds): List<CapturedPacket> =
        withTimeout(timeout) {
            var now = received
            while (now.size < count) {
                delay(POLL)
                now = received
            }
            now
        }

    /** Waits until [isReady] (op 4 sent) and the client's UDP address is known; throws on [timeout]. */
    @JvmSynthetic
    public suspend fun awaitReady(timeout: Duration = 5.seconds) {
        withTimeout(timeout) {
            while (!(isReady && udpAddress != null)) delay(POLL)
        }
    }

    /**
     * Blocks until at least [count] packets were [received] and returns them, for Java tests; throws
     * [TimeoutException] after [timeout] and [InterruptedException] when the thread is interrupted.
     */
    @Throws(TimeoutException::class, InterruptedException::class)
    public fun awaitReceived(count: Int, timeout: java.time.Duration): List<CapturedPacket> =
        blockingWait(timeout, { "user $userId sent fewer than $count packets" }) { awaitReceived(count, it) }

    /**
     * Blocks until [isReady] and the client's UDP address is known, for Java tests; throws [TimeoutException] after
     * [timeout] and [InterruptedException] when the thread is interrupted.
     */
    @Throws(TimeoutException::class, InterruptedException::class)
    public fun awaitReady(timeout: java.time.Duration) {
        blockingWait(timeout, { "the session of user $userId was not ready" }) { awaitReady(it) }
    }

    // --- gateway messages ---

    /**
     * Sends any gateway message `{op, d}` to the client, with the session's next `seq` and kept for Resume like
     * every other message; for testing how a client copes with opcodes the server never sends on its own (op 12,
     * 14, 15, DAVE opcodes...). Waits in the replay buffer when no socket is attached.
     * @throws IllegalStateException after the session ended.
     */
    @JvmSynthetic
    public fun sendMessage(op: Int, d: JsonElement) {
        synchronized(server.lock) {
            check(!isEnded) { "the session has ended" }
            send(op, d)
        }
    }

    /**
     * Sends `{op, d}` with [d] given as JSON text (for Java, which has no kotlinx-serialization types at hand); see the
     * other [sendMessage].
     * @throws IllegalArgumentException if [d] is not valid JSON.
     * @throws IllegalStateException after the session ended.
     */
    public fun sendMessage(op: Int, d: String) {
        val parsed = try {
            Json.parseToJsonElement(d)
        } catch (e: SerializationException) {
            throw IllegalArgumentException("not valid JSON: ${e.message}", e)
        }
        sendMessage(op, parsed)
    }

    /**
     * Sends `{op, d, seq}` with the next sequence number. [buffered] messages go into the replay buffer so a
     * Resume can re-deliver them; when no socket is attached they wait there. Caller holds server.lock.
     */
    internal fun send(op: Int, d: JsonElement, buffered: Boolean = true) {
        val seq = nextSeq++
        val text = buildJsonObject {
            put("op", op)
            put("d", d)
            put("seq", seq)
        }.toString()
        if (buffered) {
            replay.addLast(seq to text)
            while (replay.size > server.config.replayBufferSize) evictedUpTo = replay.removeFirst().first
        }
        connection?.sendText(text)
    }

    /**
     * Sends a binary DAVE message with the next sequence number: `uint16 seq` (big-endian, the low 16 bits) + [op] +
     * [payload] (docs/dave.md §1.1), kept for Resume like [send]. Caller holds server.lock.
     */
    internal fun sendBinary(op: Int, payload: ByteArray) {
        val seq = nextSeq++
        val frame = ByteArray(3 + payload.size)
        frame[0] = (seq ushr 8).toByte()
        frame[1] = seq.toByte()
        frame[2] = op.toByte()
        payload.copyInto(frame, 3)
        replay.addLast(seq to frame)
        while (replay.size > server.config.replayBufferSize) evictedUpTo = replay.removeFirst().first
        connection?.sendBinary(frame)
    }

    /** The buffered messages after [seqAck], or null when some of them were already evicted. Caller holds server.lock. */
    internal fun replayAfter(seqAck: Int): List<Any>? {
        if (evictedUpTo > 0 && seqAck < evictedUpTo) return null
        return replay.filter { it.first > seqAck }.map { it.second }
    }

    override fun toString(): String = "ClientSession(user=$userId, guild=$guildId, ssrc=$ssrc, mode=$mode)"

    /**
     * Encryption, fault injection and sending towards this client. One lock per client keeps its nonce counter
     * and fault stream consistent when forwarded and scripted audio are sent from different threads.
     */
    internal inner class Outbound {
        private var cipher: TransportCipher? = null
        private var nonce = server.randomInt()
        private var injector = FaultInjector(FaultConfig.NONE)
        private val emissions = ArrayList<Emission>()
        private val outcome = FaultOutcome()
        private var flushPending = false

        val faults: FaultConfig get() = synchronized(this) { injector.config }

        fun setCipher(c: TransportCipher) = synchronized(this) { cipher = c }

        fun setFaults(config: FaultConfig) = synchronized(this) {
            val pending = ArrayList<Emission>()
            injector.releaseExpired(Long.MAX_VALUE, 0, pending) // nothing held back is lost by a change
            injector = FaultInjector(config)
            pending.forEach { emit(it) }
        }

        fun dropNext(count: Int) = synchronized(this) { injector.dropNext(count) }

        /**
         * Whether [forwarded] and [faultDropped] record RTP packets (off by default: they grow with the call), for tests
         * that tell network loss from what the client itself lost.
         */
        @Volatile var recordRtp: Boolean = false

        /** The RTP packets sent to this client (before faults), as `ssrc << 16 | sequence`, while [recordRtp]. */
        val forwarded: MutableSet<Long> = java.util.concurrent.ConcurrentHashMap.newKeySet()

        /** When each of [forwarded] was handed to the faults on its way to this client (`System.nanoTime()`). */
        val forwardedAtNanos: MutableMap<Long, Long> = java.util.concurrent.ConcurrentHashMap()

        /**
         * When each of [forwarded] went out on the socket, after the faults (a reordered packet later than it was
         * forwarded; a duplicated one when its first copy went), while [recordRtp].
         */
        val transmittedAtNanos: MutableMap<Long, Long> = java.util.concurrent.ConcurrentHashMap()

        /** The RTP packets the faults dropped, as `ssrc << 16 | sequence`, while [recordRtp]. */
        val faultDropped: MutableSet<Long> = java.util.concurrent.ConcurrentHashMap.newKeySet()

        private fun rtpKey(h: ByteArray, o: Int): Long {
            val seq = ((h[o + 2].toInt() and 0xFF) shl 8) or (h[o + 3].toInt() and 0xFF)
            var ssrc = 0L
            for (i in 8 until 12) ssrc = (ssrc shl 8) or (h[o + i].toLong() and 0xFF)
            return (ssrc shl 16) or seq.toLong()
        }

        /** Encrypts `aad | plain` for this client and sends it through the faults; false when the client is not ready. */
        fun send(aad: ByteArray, aadOffset: Int, aadLength: Int, plain: ByteArray, plainOffset: Int, plainLength: Int): Boolean {
            if (udpAddress == null) return false
            synchronized(this) {
                val c = cipher ?: return false
                if (recordRtp && aadLength >= 12) {
                    val key = rtpKey(aad, aadOffset)
                    forwarded += key
                    forwardedAtNanos[key] = System.nanoTime()
                }
                val out = ByteArray(aadLength + plainLength + RtpsizeLayout.OVERHEAD)
                c.encrypt(aad, aadOffset, aadLength, plain, plainOffset, plainLength, nonce++, out, 0)
                if (injector.config.isNone && injector.heldCount == 0) {
                    transmit(out)
                    return true
                }
                emissions.clear()
                injector.process(out, aadLength, System.nanoTime(), emissions, outcome)
                if (outcome.dropped) {
                    count(counters.droppedByFaults, server.counters.droppedByFaults)
                    if (recordRtp && aadLength >= 12) faultDropped += rtpKey(aad, aadOffset)
                }
                if (outcome.corrupted) count(counters.corrupted, server.counters.corrupted)
                if (outcome.duplicated) count(counters.duplicated, server.counters.duplicated)
                if (outcome.reordered) count(counters.reordered, server.counters.reordered)
                emissions.forEach { emit(it) }
                if (injector.heldCount > 0 && !flushPending) scheduleFlush()
            }
            return true
        }

        private fun count(a: java.util.concurrent.atomic.AtomicLong, b: java.util.concurrent.atomic.AtomicLong) {
            a.incrementAndGet()
            b.incrementAndGet()
        }

        private fun emit(e: Emission) {
            if (e.delayMillis == 0) transmit(e.bytes)
            else server.scope.launch(server.pacer) {
                delay(e.delayMillis.milliseconds)
                transmit(e.bytes)
            }
        }

        private fun scheduleFlush() {
            flushPending = true
            val maxHold = (injector.config.reorderDepth * 20L + 60L).milliseconds
            server.scope.launch(server.pacer) {
                delay(maxHold)
                synchronized(this@Outbound) {
                    flushPending = false
                    val out = ArrayList<Emission>()
                    injector.releaseExpired(System.nanoTime(), maxHold.inWholeNanoseconds, out)
                    out.forEach { emit(it) }
                    if (injector.heldCount > 0) scheduleFlush()
                }
            }
        }

        private fun transmit(bytes: ByteArray) {
            val to = udpAddress ?: return
            // Counted before the send, so whoever has received a datagram always finds it counted.
            count(counters.packetsOut, server.counters.packetsOut)
            if (recordRtp && bytes.size >= 12) transmittedAtNanos.putIfAbsent(rtpKey(bytes, 0), System.nanoTime())
            if (!endpoint.send(bytes, to)) {
                counters.packetsOut.decrementAndGet()
                server.counters.packetsOut.decrementAndGet()
            }
        }
    }

    private companion object {
        val POLL = 5.milliseconds
    }
}
