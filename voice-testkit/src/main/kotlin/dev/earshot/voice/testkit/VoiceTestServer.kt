package dev.earshot.voice.testkit

import dev.earshot.voice.NanoClock
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.testkit.internal.Close
import dev.earshot.voice.testkit.internal.Endpoint
import dev.earshot.voice.testkit.internal.blockingWait
import java.security.SecureRandom
import java.util.concurrent.TimeoutException
import java.util.concurrent.Executors
import kotlin.random.Random
import kotlin.random.asKotlinRandom
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import org.slf4j.LoggerFactory

/**
 * A local Discord voice server: the voice gateway (WebSocket, optionally TLS) and the UDP SFU, on 127.0.0.1 at
 * random ports. Clients connect with a [VoiceGrant] from [grant], exactly as a bot would with the values of
 * VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE; the server then speaks docs/protocol.md section 2 (Hello, Identify,
 * Ready, Select Protocol, Session Description, heartbeats with `seq_ack`, buffered Resume, Speaking, op 11/13),
 * answers IP discovery and forwards each client's audio to the other clients of its channel, re-encrypted for
 * each with its own key and mode. Channels can hold [ScriptedMember]s that the server plays itself, and every
 * client's traffic can be disturbed with [ClientSession.faults].
 *
 * ```
 * VoiceTestServer.start(TestServerConfig(tls = true)).use { server ->
 *     val grant = server.grant(guildId = "1", channelId = "2", userId = "3")
 *     server.channel("1", "2").addMember("4", MemberScript { play(Path.of("speech.opus")) })
 *     // connect the client under test to "wss://${grant.endpoint}?v=8" with grant.token and grant.sessionId
 *     val session = server.awaitSession("1", "3")
 * }
 * ```
 * From Java (every wait takes a `java.time.Duration` and blocks; the server is [AutoCloseable]):
 * ```
 * try (VoiceTestServer server = VoiceTestServer.start(TestServerConfig.builder().tls(true).build())) {
 *     VoiceGrant grant = server.grant("1", "2", "3");
 *     server.channel("1", "2").addMember("4", MemberScript.builder().tone(440, Duration.ofSeconds(1)).build());
 *     // connect the client under test
 *     ClientSession session = server.awaitSession("1", "3", Duration.ofSeconds(10));
 * }
 * ```
 * With [TestServerConfig.daveProtocolVersion] 1 (the default) the gateway also plays DAVE's server side for
 * channels whose participants all support it (see [TestChannel]). Thread-safe.
 */
public class VoiceTestServer private constructor(
    /** The configuration the server was started with. */
    public val config: TestServerConfig,
) : AutoCloseable {
    internal val lock = Any()
    internal val counters = ServerCounters()
    internal val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("earshot-testkit"))

    /**
     * One thread of its own for everything whose timing matters (scripted members' frames, jittered and reordered
     * packets), so the server keeps time like a remote SFU even when the client under test keeps
     * `Dispatchers.Default` busy on the same machine.
     */
    private val pacerExecutor = Executors.newSingleThreadScheduledExecutor { r ->
        Thread(r, "earshot-testkit-pacer").apply {
            isDaemon = true
            priority = Thread.MAX_PRIORITY
        }
    }
    internal val pacer = pacerExecutor.asCoroutineDispatcher()

    /**
     * One thread for the scripted members' DAVE clients (their MLS work is heavy), so it neither delays the pacer nor
     * competes for `Dispatchers.Default` with the client under test.
     */
    private val daveExecutor = Executors.newSingleThreadExecutor { r -> Thread(r, "earshot-testkit-dave").apply { isDaemon = true } }
    internal val daveDispatcher = daveExecutor.asCoroutineDispatcher()
    internal val clock: NanoClock = NanoClock.SYSTEM
    private val random: Random = config.seed?.let { Random(it) } ?: SecureRandom().asKotlinRandom()

    /** The certificate material when [TestServerConfig.tls] is set, else null. */
    public val tls: TlsMaterial? = if (config.tls) TlsMaterial.shared else null

    /** The mode names offered in Ready: [TestServerConfig.modes] then [TestServerConfig.extraModes]. */
    internal val offeredModes: List<String> = config.modes.map { it.wireName } + config.extraModes

    // Guarded by lock.
    private val endpoints = ArrayList<Endpoint>()
    private var generation = 0
    private val grants = HashMap<String, VoiceGrant>()
    private val sessionMap = HashMap<String, ClientSession>()
    private val channels = HashMap<String, TestChannel>()

    @Volatile private var current: Endpoint

    @Volatile internal var isClosed: Boolean = false
        private set

    init {
        for (mode in config.modes) require(mode.isAvailable) { "mode ${mode.wireName} is not available in this JVM" }
        current = Endpoint(this, generation++)
        endpoints += current
    }

    /** The current endpoint as `127.0.0.1:<port>` (no scheme, like VOICE_SERVER_UPDATE's `endpoint`). */
    public val endpoint: String get() = current.address

    /** The URL clients open: `ws://` or `wss://` + [endpoint] + `/?v=8`. */
    public val url: String get() = "${if (config.tls) "wss" else "ws"}://$endpoint/?v=8"

    /** The UDP port the current endpoint's Ready advertises. */
    public val udpPort: Int get() = current.udpPort

    /** The server's counters so far. */
    public val stats: ServerStats get() = counters.snapshot()

    /**
     * Issues what the main gateway would give [userId] for joining [channelId] in [guildId]: a fresh token for
     * the current [endpoint] and a session id ([sessionId], or a random one). A grant stays valid for repeated
     * Identifies until the endpoint moves.
     */
    @JvmOverloads
    public fun grant(guildId: String, channelId: String, userId: String, sessionId: String? = null): VoiceGrant =
        synchronized(lock) {
            check(!isClosed) { "the server is closed" }
            val g = VoiceGrant(guildId, channelId, userId, sessionId ?: randomHex(16), randomHex(24), current.address)
            grants[g.token] = g
            g
        }

    /** The channel [channelId] of [guildId] (created on first use). */
    public fun channel(guildId: String, channelId: String): TestChannel = synchronized(lock) {
        channels.getOrPut("$guildId/$channelId") { TestChannel(this, guildId, channelId) }
    }

    /** Every session that has not ended. */
    public val sessions: List<ClientSession> get() = synchronized(lock) { sessionMap.values.toList() }

    /** The live session of [userId] in [guildId], or null. */
    public fun session(guildId: String, userId: String): ClientSession? = synchronized(lock) { sessionMap["$guildId/$userId"] }

    /**
     * Waits for [userId]'s session in [guildId] and, when [ready] (the default), until it has a key and a UDP
     * address; throws on [timeout].
     */
    @JvmSynthetic
    public suspend fun awaitSession(
        guildId: String,
        userId: String,
        timeout: Duration = 10.seconds,
        ready: Boolean = true,
    ): ClientSession = withTimeout(timeout) {
        var found = session(guildId, userId)
        while (found == null || (ready && !(found.isReady && found.udpAddress != null))) {
            delay(5.milliseconds)
            found = session(guildId, userId)
        }
        found
    }

    /**
     * Blocks until [userId]'s session in [guildId] has a key and a UDP address, for Java tests; throws
     * [TimeoutException] after [timeout] and [InterruptedException] when the thread is interrupted.
     */
    @Throws(TimeoutException::class, InterruptedException::class)
    public fun awaitSession(guildId: String, userId: String, timeout: java.time.Duration): ClientSession =
        awaitSession(guildId, userId, timeout, true)

    /**
     * Blocks until [userId]'s session in [guildId] exists and, when [ready], has a key and a UDP address, for Java
     * tests; throws [TimeoutException] after [timeout] and [InterruptedException] when the thread is interrupted.
     */
    @Throws(TimeoutException::class, InterruptedException::class)
    public fun awaitSession(guildId: String, userId: String, timeout: java.time.Duration, ready: Boolean): ClientSession =
        blockingWait(timeout, { "no ${if (ready) "ready " else ""}session of user $userId in guild $guildId" }) {
            awaitSession(guildId, userId, it, ready)
        }

    /**
     * Removes [userId] from its voice channel in [guildId] as the main gateway would on a leave or a kick: the
     * session ends, its socket is closed with 4014 and the others get op 13. Does nothing without a session.
     */
    public fun disconnect(guildId: String, userId: String) {
        synchronized(lock) { sessionMap["$guildId/$userId"]?.let { endSession(it, Close.DISCONNECTED, "Disconnected") } }
    }

    /**
     * Moves the voice server, as Discord does when it reallocates one: starts a new endpoint (new WebSocket and UDP
     * ports), issues a new grant (same session id, new token) for every live session, and after
     * [TestServerConfig.endpointCloseDelay] closes the old endpoint's sockets with 4022, ending their sessions.
     * Returns the new grants, which a test hands to its clients like a new VOICE_SERVER_UPDATE.
     */
    public fun moveEndpoint(): List<VoiceGrant> {
        val old: Endpoint
        val newGrants: List<VoiceGrant>
        synchronized(lock) {
            check(!isClosed) { "the server is closed" }
            old = current
            old.retired = true
            grants.values.removeAll { it.endpoint == old.address }
            val next = Endpoint(this, generation++)
            endpoints += next
            current = next
            newGrants = sessionMap.values.filter { it.endpoint === old }.map {
                VoiceGrant(it.guildId, it.channelId, it.userId, it.grant.sessionId, randomHex(24), next.address)
                    .also { g -> grants[g.token] = g }
            }
        }
        scope.launch {
            delay(config.endpointCloseDelay)
            synchronized(lock) {
                sessionMap.values.filter { it.endpoint === old }.forEach {
                    endSession(it, Close.CALL_TERMINATED, "Disconnected: call terminated")
                }
            }
            // Let the close frames go out before the listener's sockets are cut.
            delay(200.milliseconds)
            synchronized(lock) { endpoints -= old }
            old.close()
        }
        return newGrants
    }

    /** Stops everything: scripted members, timers, every socket. Clients see their connections drop. */
    override fun close() {
        val all: List<Endpoint>
        synchronized(lock) {
            if (isClosed) return
            isClosed = true
            all = endpoints.toList()
            endpoints.clear()
            sessionMap.values.forEach { it.isEnded = true }
            sessionMap.clear()
        }
        scope.cancel()
        all.forEach { it.close() }
        pacerExecutor.shutdownNow()
        daveExecutor.shutdownNow()
    }

    // ---- internal API for the protocol code ----

    internal fun grantFor(token: String): VoiceGrant? = grants[token]

    /** A new session for [grant]; an older live one for the same user and guild ends first. Caller holds lock. */
    internal fun createSession(grant: VoiceGrant, endpoint: Endpoint, maxDave: Int, version: Int?): ClientSession {
        val key = "${grant.guildId}/${grant.userId}"
        sessionMap[key]?.let { endSession(it, Close.SESSION_INVALID, "Session replaced by a new Identify") }
        val s = ClientSession(this, grant, endpoint, newSsrc(), maxDave, version)
        sessionMap[key] = s
        return s
    }

    /** The live session on [endpoint] for a Resume, or null. Caller holds lock. */
    internal fun resumableSession(endpoint: Endpoint, guildId: String, sessionId: String): ClientSession? =
        sessionMap.values.firstOrNull {
            it.endpoint === endpoint && it.guildId == guildId && it.grant.sessionId == sessionId && !it.isEnded
        }

    internal fun sessionBySsrc(endpoint: Endpoint, ssrc: Long): ClientSession? =
        synchronized(lock) { sessionMap.values.firstOrNull { it.endpoint === endpoint && it.ssrc == ssrc } }

    internal fun channelOf(session: ClientSession): TestChannel? =
        synchronized(lock) { channels["${session.guildId}/${session.channelId}"] }

    /**
     * Ends [session]: closes its socket with [code] (when given and attached), leaves the channel (op 13 to the
     * others), forgets its UDP address. Caller holds lock.
     */
    internal fun endSession(session: ClientSession, code: Int?, reason: String) {
        if (session.isEnded) return
        session.isEnded = true
        session.resumeExpiry?.cancel()
        session.resumeExpiry = null
        val connection = session.connection
        session.connection = null
        connection?.closeWith(code ?: Close.SESSION_INVALID, reason, endSession = false)
        val key = "${session.guildId}/${session.userId}"
        if (sessionMap[key] === session) sessionMap.remove(key)
        channels["${session.guildId}/${session.channelId}"]?.leave(session)
        session.udpAddress?.let { session.endpoint.byAddress.remove(it, session) }
        LOG.debug("session of user {} in guild {} ended: {}", session.userId, session.guildId, reason)
    }

    /** Ends [session] unless a Resume attaches a socket within the resume window. Caller holds lock. */
    internal fun scheduleResumeExpiry(session: ClientSession) {
        if (session.isEnded) return
        session.resumeExpiry?.cancel()
        session.resumeExpiry = scope.launch {
            delay(config.resumeWindow)
            synchronized(lock) {
                if (session.connection == null) endSession(session, null, "resume window expired")
            }
        }
    }

    internal fun sessionDescription(mode: EncryptionMode, key: ByteArray, daveVersion: Int): JsonObject = buildJsonObject {
        put("mode", mode.wireName)
        put("secret_key", JsonArray(key.map { JsonPrimitive(it.toInt() and 0xFF) }))
        put("dave_protocol_version", daveVersion)
        put("audio_codec", "opus")
        put("media_session_id", randomHex(16))
    }

    internal fun randomKey(): ByteArray = synchronized(lock) { random.nextBytes(TransportCipher.KEY_LENGTH) }

    internal fun randomInt(): Int = synchronized(lock) { random.nextInt() }

    /** An SSRC in 1..2^32-1 that no session or scripted member uses. */
    internal fun newSsrc(): Long = synchronized(lock) {
        val used = sessionMap.values.map { it.ssrc }.toHashSet() + channels.values.flatMap { c -> c.members.map { it.ssrc } }
        var ssrc: Long
        do ssrc = random.nextLong(1, 1L shl 32) while (ssrc in used)
        ssrc
    }

    private fun randomHex(bytes: Int): String = synchronized(lock) {
        random.nextBytes(bytes).joinToString("") { "%02x".format(it.toInt() and 0xFF) }
    }

    override fun toString(): String = "VoiceTestServer($endpoint, udp=$udpPort, tls=${config.tls})"

    /** Starting servers. */
    public companion object {
        private val LOG = LoggerFactory.getLogger(VoiceTestServer::class.java)

        /** Binds a server's WebSocket and UDP sockets on [TestServerConfig.host] at random ports and starts it. */
        @JvmStatic
        @JvmOverloads
        public fun start(config: TestServerConfig = TestServerConfig()): VoiceTestServer = VoiceTestServer(config)
    }
}
