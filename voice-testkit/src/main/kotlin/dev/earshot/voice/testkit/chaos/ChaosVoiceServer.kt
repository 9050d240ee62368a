package dev.earshot.voice.testkit.chaos

import dev.earshot.voice.connection.VoiceSessionInfo
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.testkit.internal.WsListener
import dev.earshot.voice.testkit.internal.blockingWait
import java.io.IOException
import java.net.DatagramPacket
import java.net.DatagramSocket
import java.net.InetAddress
import java.net.InetSocketAddress
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeoutException
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.toJavaDuration
import kotlin.time.toKotlinDuration
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import org.slf4j.LoggerFactory

/**
 * Settings of a [ChaosVoiceServer]. The identity fields are what the client under test must identify with; use
 * [ChaosVoiceServer.sessionInfo] to get them as a [VoiceSessionInfo]. Java code uses [builder] (or
 * `new ChaosServerConfig()` for the defaults).
 */
public class ChaosServerConfig(
    /** Interface to bind; default 127.0.0.1. Ready advertises it as the UDP address. */
    public val host: String = "127.0.0.1",
    /** The `heartbeat_interval` of the server's own Hello; default 41.25 s, as Discord. */
    @get:JvmSynthetic public val heartbeatInterval: Duration = 41_250.milliseconds,
    /** The mode names offered in the server's own Ready; default AES-GCM then XChaCha20 (rtpsize). */
    public val modes: List<String> = listOf(EncryptionMode.AEAD_AES256_GCM_RTPSIZE.wireName, EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE.wireName),
    /** The `dave_protocol_version` of the server's own Session Description; default 0 (transport encryption only). */
    public val daveProtocolVersion: Int = 0,
    /** The guild the client must identify for; default 111. */
    public val guildId: Long = 111,
    /** The channel the session info names; default 222. */
    public val channelId: Long = 222,
    /** The user the client must identify as; default 999. */
    public val userId: Long = 999,
    /** The session id the client must send; default "chaos-session". */
    public val sessionId: String = "chaos-session",
    /** The token the client must send (Identify and Resume with another token are closed with 4004); default "chaos-token". */
    public val token: String = "chaos-token",
    /** Seed of the random keys, SSRCs and garbage; default 0, so runs repeat. */
    public val seed: Long = 0,
    /** Bytes a connection may have queued for the client before a flood waits for it to read; default 4 MiB. */
    public val maxQueuedBytes: Long = 4L shl 20,
) {
    /** The defaults, for Java (the Kotlin constructor takes a `kotlin.time.Duration`, which Java cannot pass). */
    public constructor() : this(host = "127.0.0.1")

    /** [heartbeatInterval] for Java. */
    @get:JvmName("getHeartbeatInterval")
    public val javaHeartbeatInterval: java.time.Duration get() = heartbeatInterval.toJavaDuration()

    /** Builds a [ChaosServerConfig] for Java, starting from the defaults; each setter is the property of the same name. */
    public class Builder internal constructor() {
        private var host = "127.0.0.1"
        private var heartbeatInterval = 41_250.milliseconds
        private var modes = ChaosServerConfig().modes
        private var daveProtocolVersion = 0
        private var guildId = 111L
        private var channelId = 222L
        private var userId = 999L
        private var sessionId = "chaos-session"
        private var token = "chaos-token"
        private var seed = 0L
        private var maxQueuedBytes = 4L shl 20

        /** See [ChaosServerConfig.host]. */
        public fun host(value: String): Builder = apply { host = value }

        /** See [ChaosServerConfig.heartbeatInterval]. */
        public fun heartbeatInterval(value: java.time.Duration): Builder = apply { heartbeatInterval = value.toKotlinDuration() }

        /** See [ChaosServerConfig.modes]. */
        public fun modes(value: List<String>): Builder = apply { modes = value.toList() }

        /** See [ChaosServerConfig.daveProtocolVersion]. */
        public fun daveProtocolVersion(value: Int): Builder = apply { daveProtocolVersion = value }

        /** See [ChaosServerConfig.guildId]. */
        public fun guildId(value: Long): Builder = apply { guildId = value }

        /** See [ChaosServerConfig.channelId]. */
        public fun channelId(value: Long): Builder = apply { channelId = value }

        /** See [ChaosServerConfig.userId]. */
        public fun userId(value: Long): Builder = apply { userId = value }

        /** See [ChaosServerConfig.sessionId]. */
        public fun sessionId(value: String): Builder = apply { sessionId = value }

        /** See [ChaosServerConfig.token]. */
        public fun token(value: String): Builder = apply { token = value }

        /** See [ChaosServerConfig.seed]. */
        public fun seed(value: Long): Builder = apply { seed = value }

        /** See [ChaosServerConfig.maxQueuedBytes]. */
        public fun maxQueuedBytes(value: Long): Builder = apply { maxQueuedBytes = value }

        /** The configuration. */
        public fun build(): ChaosServerConfig = ChaosServerConfig(
            host, heartbeatInterval, modes, daveProtocolVersion, guildId, channelId, userId, sessionId, token, seed, maxQueuedBytes,
        )
    }

    /** Java's entry point to the [Builder]. */
    public companion object {
        /** A [Builder] starting from the defaults. */
        @JvmStatic
        public fun builder(): Builder = Builder()
    }
}

/**
 * One WebSocket connection the [ChaosVoiceServer] accepted (one connection attempt of the client), as far as it got.
 * A snapshot: [ChaosVoiceServer.attempts] returns fresh ones.
 */
public class ChaosAttempt internal constructor(
    /** 0 for the client's first connection, 1 for the next... */
    public val index: Int,
    /** The script this connection ran. */
    public val script: ChaosScript,
    /** When the WebSocket opened (`System.nanoTime()`). */
    public val openedAtNanos: Long,
    /** When it ended, or null while open. */
    public val closedAtNanos: Long?,
    /**
     * The steps reached, in order. A step that follows a reply of the server (after Hello, Ready, Session Description,
     * Resumed) is recorded just before that reply is written, so a client that saw the reply finds the step here.
     */
    public val steps: List<ChaosStep>,
    /** The opcodes of the client's messages, in order (text and binary; at most the first 10,000). */
    public val clientOps: List<Int>,
    /** How it ended ("client closed 1000", "server closed 4006", "dropped"...), or null while open. */
    public val ended: String?,
) {
    override fun toString(): String =
        "attempt $index: steps=${steps.joinToString(",")} clientOps=${clientOps.take(20)} ended=$ended"
}

/** What the UDP side of a [ChaosVoiceServer] saw. */
public class ChaosUdpStats internal constructor(
    /** IP discovery requests answered. */
    public val discoveryAnswered: Long,
    /** IP discovery requests left unanswered because the script said so. */
    public val discoveryIgnored: Long,
    /** RTP packets from the client that decrypted with the current key. */
    public val audioPacketsIn: Long,
    /** 8-byte keepalives from the client. */
    public val keepalivesIn: Long,
    /** Datagrams that were none of the above (no key yet, wrong key, malformed). */
    public val otherDatagrams: Long,
) {
    override fun toString(): String =
        "udp(discovery=$discoveryAnswered, ignored=$discoveryIgnored, audio=$audioPacketsIn, keepalives=$keepalivesIn, other=$otherDatagrams)"
}

/**
 * A scriptable misbehaving Discord voice server, for testing how a voice client (Earshot's or a bot's own) copes with a
 * server that breaks the protocol. It speaks the voice gateway v8 over plain WebSocket and answers UDP IP discovery on
 * [ChaosServerConfig.host] at random ports, like [dev.earshot.voice.testkit.VoiceTestServer], but each WebSocket
 * connection follows a [ChaosScript]: connection N (0-based, counting every connection the client opens, resumes
 * included) runs `scripts[N]`, and every later one [defaultScript]. Between the script's actions it behaves like a
 * normal server (Hello, Ready, Session Description with a fresh key, Resumed, heartbeat ACKs, IP discovery, decrypting
 * the client's audio), so a script can complete the handshake and then misbehave.
 *
 * ```
 * ChaosVoiceServer.start(listOf(ChaosScript { at(ChaosStep.AFTER_READY, ChaosAction.Drop()) })).use { server ->
 *     val connection = VoiceConnection.connect(server.sessionInfo(), VoiceConnectionConfig { secure = false })
 *     // the first attempt was dropped after Ready; the second ran ChaosScript.NORMAL and connected
 *     check(server.attempts.size == 2)
 * }
 * ```
 * Each connection runs its script on its own daemon thread; the server keeps no message it sent, so floods cost it no
 * memory. No TLS (clients connect with `ws://`). Thread-safe.
 */
public class ChaosVoiceServer private constructor(
    /** The configuration the server was started with. */
    public val config: ChaosServerConfig,
    private val scripts: List<ChaosScript>,
    /** The script of every connection past the end of the list. */
    public val defaultScript: ChaosScript,
) : AutoCloseable {
    private val closed = AtomicBoolean(false)
    private val udp = DatagramSocket(InetSocketAddress(InetAddress.getByName(config.host), 0))
    private val connections = ConcurrentHashMap.newKeySet<ChaosConnection>()
    private val records = ArrayList<AttemptRecord>() // guarded by itself
    private val random = java.util.Random(config.seed)

    private val discoveryAnswered = AtomicLong()
    private val discoveryIgnored = AtomicLong()
    private val audioIn = AtomicLong()
    private val keepalivesIn = AtomicLong()
    private val otherIn = AtomicLong()

    /** Set by the connection whose script is in force (the newest one). */
    @Volatile internal var answerDiscovery: Boolean = true

    /** The key and mode of the latest 32-byte Session Description, for the client's audio. */
    @Volatile internal var media: Media? = null

    /** The client's UDP address (from IP discovery, else from Select Protocol). */
    @Volatile internal var clientUdp: InetSocketAddress? = null

    /** The SSRC of the latest Ready, once one was sent: a Resume is accepted only then. */
    @Volatile internal var establishedSsrc: Long = 0

    private val listener = WsListener(config.host, null, "chaos", { log.warn("internal error in the chaos server") }) { ws, _ ->
        val record = synchronized(records) {
            AttemptRecord(records.size, scripts.getOrElse(records.size) { defaultScript }, System.nanoTime()).also { records += it }
        }
        ChaosConnection(this, ws, record).also { connections += it; it.start() }
    }

    /** `host:port` of the WebSocket listener, without a scheme, as in VOICE_SERVER_UPDATE's `endpoint`. */
    public val endpoint: String = "${config.host}:${listener.port}"

    /** The URL clients open: `ws://` + [endpoint] + `/?v=8`. */
    public val url: String get() = "ws://$endpoint/?v=8"

    /** The UDP port the server's own Ready advertises. */
    public val udpPort: Int = udp.localPort

    private val udpThread = Thread({ udpLoop() }, "earshot-testkit-chaos-udp").apply {
        isDaemon = true
        start()
    }

    /** The values a bot would get from VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE for this server. */
    public fun sessionInfo(): VoiceSessionInfo =
        VoiceSessionInfo(config.guildId, config.channelId, config.userId, config.sessionId, config.token, endpoint)

    /** Every connection so far, in order. */
    public val attempts: List<ChaosAttempt> get() = synchronized(records) { records.map { it.snapshot() } }

    /** What the UDP side saw so far. */
    public val udpStats: ChaosUdpStats
        get() = ChaosUdpStats(discoveryAnswered.get(), discoveryIgnored.get(), audioIn.get(), keepalivesIn.get(), otherIn.get())

    /** Waits until the client has opened [count] connections; throws on [timeout]. */
    @JvmSynthetic
    public suspend fun awaitAttempts(count: Int, timeout: Duration = 10.seconds): List<ChaosAttempt> = withTimeout(timeout) {
        while (synchronized(records) { records.size } < count) delay(5.milliseconds)
        attempts
    }

    /**
     * Blocks until the client has opened [count] connections and returns them, for Java tests; throws
     * [TimeoutException] after [timeout] and [InterruptedException] when the thread is interrupted.
     */
    @Throws(TimeoutException::class, InterruptedException::class)
    public fun awaitAttempts(count: Int, timeout: java.time.Duration): List<ChaosAttempt> =
        blockingWait(timeout, { "the client opened fewer than $count connections" }) { awaitAttempts(count, it) }

    /** Stops listening, ends every connection without a close frame and closes the UDP socket. */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        listener.close()
        listener.abortAll()
        connections.forEach { it.stop() }
        udp.close()
    }

    override fun toString(): String = "ChaosVoiceServer($endpoint, udp=$udpPort)"

    // ---- for ChaosConnection ----

    internal fun nextRandom(): java.util.Random = synchronized(random) { java.util.Random(random.nextLong()) }

    internal fun forget(connection: ChaosConnection) {
        connections -= connection
    }

    internal fun sendDatagram(bytes: ByteArray, length: Int, to: InetSocketAddress): Boolean = try {
        udp.send(DatagramPacket(bytes, length, to))
        true
    } catch (e: IOException) {
        if (!closed.get()) log.debug("UDP send to {} failed: {}", to, e.toString())
        false
    }

    private fun udpLoop() {
        val buf = ByteArray(2048)
        val packet = DatagramPacket(buf, buf.size)
        while (!closed.get()) {
            try {
                packet.setData(buf, 0, buf.size)
                udp.receive(packet)
            } catch (e: IOException) {
                if (!closed.get()) log.debug("UDP receive failed: {}", e.toString())
                break
            }
            val from = packet.socketAddress as InetSocketAddress
            val n = packet.length
            when {
                n == DISCOVERY_LENGTH && u16(buf, 0) == 1 && u16(buf, 2) == 70 -> discovery(buf, from)
                n == 8 -> keepalivesIn.incrementAndGet()
                n >= 12 + 16 + 4 && (buf[0].toInt() and 0xC0) == 0x80 && (buf[1].toInt() and 0x7F) == 120 -> audio(buf, n)
                else -> otherIn.incrementAndGet()
            }
        }
    }

    private fun discovery(buf: ByteArray, from: InetSocketAddress) {
        if (!answerDiscovery) {
            discoveryIgnored.incrementAndGet()
            return
        }
        clientUdp = from
        val reply = ByteArray(DISCOVERY_LENGTH)
        reply[1] = 2
        reply[3] = 70
        buf.copyInto(reply, 4, 4, 8)
        val ip = from.address.hostAddress.toByteArray(Charsets.US_ASCII)
        ip.copyInto(reply, 8, 0, minOf(ip.size, 63))
        reply[72] = (from.port ushr 8).toByte()
        reply[73] = from.port.toByte()
        if (sendDatagram(reply, reply.size, from)) discoveryAnswered.incrementAndGet()
    }

    private fun audio(buf: ByteArray, n: Int) {
        val m = media ?: run { otherIn.incrementAndGet(); return }
        // The rtpsize AAD: the 12-byte header, the CSRCs, and the 4-byte extension preamble when there is one.
        val csrc = buf[0].toInt() and 0x0F
        val aad = 12 + 4 * csrc + if (buf[0].toInt() and 0x10 != 0) 4 else 0
        val ok = synchronized(m) { m.inbound.decrypt(buf.copyOf(n), 0, n, aad) >= 0 }
        if (ok) audioIn.incrementAndGet() else otherIn.incrementAndGet()
    }

    /** The transport key of the session, one cipher per direction (ciphers are not thread-safe). */
    internal class Media(val mode: EncryptionMode, val key: ByteArray) {
        val inbound: TransportCipher = TransportCipher.create(mode, key)
        val outbound: TransportCipher = TransportCipher.create(mode, key)
    }

    /** The mutable record behind a [ChaosAttempt]. */
    internal class AttemptRecord(val index: Int, val script: ChaosScript, val openedAtNanos: Long) {
        private val steps = ArrayList<ChaosStep>()
        private val ops = ArrayList<Int>()
        private var closedAt: Long? = null
        private var ended: String? = null

        @Synchronized fun reached(step: ChaosStep) { steps += step }

        @Synchronized fun clientOp(op: Int) { if (ops.size < MAX_RECORDED_OPS) ops += op }

        @Synchronized fun end(how: String) {
            if (ended == null) {
                ended = how
                closedAt = System.nanoTime()
            }
        }

        @Synchronized fun snapshot() = ChaosAttempt(index, script, openedAtNanos, closedAt, steps.toList(), ops.toList(), ended)
    }

    /** Starting chaos servers. */
    public companion object {
        private val log = LoggerFactory.getLogger(ChaosVoiceServer::class.java)
        private const val DISCOVERY_LENGTH = 74
        private const val MAX_RECORDED_OPS = 10_000

        private fun u16(b: ByteArray, at: Int) = ((b[at].toInt() and 0xFF) shl 8) or (b[at + 1].toInt() and 0xFF)

        /**
         * Binds a chaos server on [ChaosServerConfig.host] at random ports: connection N runs `scripts[N]`, later ones
         * [defaultScript] (default [ChaosScript.NORMAL]).
         */
        @JvmStatic
        @JvmOverloads
        public fun start(
            scripts: List<ChaosScript> = emptyList(),
            defaultScript: ChaosScript = ChaosScript.NORMAL,
            config: ChaosServerConfig = ChaosServerConfig(),
        ): ChaosVoiceServer = ChaosVoiceServer(config, scripts, defaultScript)
    }
}
