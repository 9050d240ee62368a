package dev.earshot.voice.testkit.internal

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.testkit.ClientMessage
import dev.earshot.voice.testkit.ClientSession
import dev.earshot.voice.testkit.SpeakingUpdate
import dev.earshot.voice.testkit.VoiceTestServer
import java.net.InetSocketAddress
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.booleanOrNull
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.contentOrNull
import kotlinx.serialization.json.intOrNull
import kotlinx.serialization.json.longOrNull
import kotlinx.serialization.json.put
import org.slf4j.LoggerFactory

private val log = LoggerFactory.getLogger("dev.earshot.voice.testkit.gateway")

/** Voice gateway opcodes (docs/protocol.md section 2.3). */
internal object Op {
    const val IDENTIFY = 0
    const val SELECT_PROTOCOL = 1
    const val READY = 2
    const val HEARTBEAT = 3
    const val SESSION_DESCRIPTION = 4
    const val SPEAKING = 5
    const val HEARTBEAT_ACK = 6
    const val RESUME = 7
    const val HELLO = 8
    const val RESUMED = 9
    const val VOICE_BACKEND_VERSION = 16
    const val DAVE_TRANSITION_READY = 23
    const val DAVE_INVALID_COMMIT_WELCOME = 31

    /** Client opcodes that only make sense inside a session: sent before Identify they close with 4003. */
    val SESSION_ONLY = setOf(SELECT_PROTOCOL, SPEAKING, DAVE_TRANSITION_READY, DAVE_INVALID_COMMIT_WELCOME)
}

/** Close codes the server sends (docs/protocol.md section 2.6). */
internal object Close {
    const val DECODE_ERROR = 4002
    const val NOT_AUTHENTICATED = 4003
    const val AUTHENTICATION_FAILED = 4004
    const val ALREADY_AUTHENTICATED = 4005
    const val SESSION_INVALID = 4006
    const val SESSION_TIMEOUT = 4009
    const val UNKNOWN_PROTOCOL = 4012
    const val DISCONNECTED = 4014
    const val UNKNOWN_ENCRYPTION_MODE = 4016
    const val DAVE_REQUIRED = 4017
    const val CALL_TERMINATED = 4022
}

/**
 * The voice gateway protocol on one WebSocket (docs/protocol.md section 2): Hello, then Identify or Resume, heartbeats,
 * Select Protocol, Speaking. Messages arrive one at a time on the connection's reader thread; shared state is
 * changed under the server lock.
 */
internal class GatewayConnection(
    private val server: VoiceTestServer,
    private val endpoint: Endpoint,
    private val ws: WsConnection,
    request: WsRequest,
) : WsHandler {
    private val version: Int? = request.query["v"]?.toIntOrNull()

    // Guarded by server.lock.
    private var session: ClientSession? = null
    private var closing = false

    @Volatile private var lastHeartbeatNanos = System.nanoTime()
    private val watchdog: Job?

    init {
        // Hello comes before any session exists, so it has no sequence number.
        sendRaw(buildJsonObject {
            put("op", Op.HELLO)
            put("d", buildJsonObject {
                put("heartbeat_interval", server.config.heartbeatInterval.inWholeMilliseconds)
                put("v", GATEWAY_VERSION)
            })
        }.toString())
        watchdog = if (server.config.enforceHeartbeatTimeout) startWatchdog() else null
    }

    private fun startWatchdog(): Job = server.scope.launch {
        val interval = server.config.heartbeatInterval
        val limit = interval.inWholeNanoseconds * 2
        val step = (interval / 4).coerceAtLeast(5.milliseconds)
        while (isActive) {
            delay(step)
            if (System.nanoTime() - lastHeartbeatNanos > limit) {
                log.debug("no heartbeat from {} for two intervals", ws.remote)
                synchronized(server.lock) {
                    val s = session
                    if (s != null) server.endSession(s, Close.SESSION_TIMEOUT, "Session timeout")
                    else closeWith(Close.SESSION_TIMEOUT, "Session timeout", endSession = false)
                }
                break
            }
        }
    }

    fun sendText(text: String) {
        if (ws.sendText(text)) server.counters.wsMessagesOut.incrementAndGet()
    }

    fun sendBinary(frame: ByteArray) {
        if (ws.sendBinary(frame)) server.counters.wsMessagesOut.incrementAndGet()
    }

    private fun sendRaw(text: String) = sendText(text)

    /** Sends a close frame with [code]; with [endSession] the session ends too. Caller holds server.lock. */
    fun closeWith(code: Int, reason: String, endSession: Boolean) {
        if (closing) return
        closing = true
        watchdog?.cancel()
        val s = session
        if (s != null && s.connection === this) {
            s.connection = null
            if (!endSession) server.scheduleResumeExpiry(s)
        }
        session = null
        log.debug("closing {} with {} ({})", ws.remote, code, reason)
        ws.close(code, reason)
        if (endSession && s != null) server.endSession(s, null, reason)
    }

    /** Drops the TCP connection without a close frame; the session stays resumable. */
    fun abort() {
        synchronized(server.lock) {
            closing = true
            watchdog?.cancel()
            val s = session
            if (s != null && s.connection === this) {
                s.connection = null
                server.scheduleResumeExpiry(s)
            }
            session = null
        }
        ws.abort()
    }

    /** DAVE's client binary messages: `uint8 opcode` + payload (no sequence number), op 26 and op 28. */
    override fun onBinary(bytes: ByteArray) {
        server.counters.wsMessagesIn.incrementAndGet()
        synchronized(server.lock) {
            if (closing) return
            val s = session
            val op = if (bytes.isEmpty()) -1 else bytes[0].toInt() and 0xFF
            val channel = s?.let { server.channelOf(it) }
            if (s == null || channel == null || (op != DaveOp.KEY_PACKAGE && op != DaveOp.COMMIT_WELCOME)) {
                server.counters.wsIgnored.incrementAndGet()
                log.debug("ignored a {}-byte binary message (op {}) from {}", bytes.size, op, ws.remote)
                return
            }
            val payload = bytes.copyOfRange(1, bytes.size)
            if (op == DaveOp.KEY_PACKAGE) channel.daveKeyPackage(s, payload) else channel.daveCommitWelcome(s, payload)
        }
    }

    override fun onText(text: String) {
        server.counters.wsMessagesIn.incrementAndGet()
        val message = (runCatching { Json.parseToJsonElement(text) }.getOrNull() as? JsonObject)
        val op = (message?.get("op") as? JsonPrimitive)?.takeIf { it.isString.not() }?.intOrNull
        synchronized(server.lock) {
            if (closing) return
            if (message == null || op == null) {
                server.counters.wsBadMessages.incrementAndGet()
                fail(Close.DECODE_ERROR, "Failed to decode payload")
                return
            }
            val d = message["d"]
            session?.record(ClientMessage(op, d, System.nanoTime()))
            when (op) {
                Op.HEARTBEAT -> heartbeat(d)
                Op.IDENTIFY -> identify(d)
                Op.RESUME -> resume(d)
                Op.SELECT_PROTOCOL -> selectProtocol(d)
                Op.SPEAKING -> speaking(d)
                Op.DAVE_TRANSITION_READY, Op.DAVE_INVALID_COMMIT_WELCOME -> daveTransition(op, d)
                Op.VOICE_BACKEND_VERSION -> session?.send(Op.VOICE_BACKEND_VERSION, buildJsonObject {
                    put("voice", BACKEND_VERSION)
                    put("rtc_worker", BACKEND_VERSION)
                }, buffered = false) ?: ignored(op)
                else -> if (session == null && op in Op.SESSION_ONLY) fail(Close.NOT_AUTHENTICATED, "Not authenticated")
                    else ignored(op)
            }
        }
    }

    /** Op 23 (ready for transition) and op 31 (invalid commit or welcome): `{transition_id}`. */
    private fun daveTransition(op: Int, d: JsonElement?) {
        val s = session ?: return fail(Close.NOT_AUTHENTICATED, "Not authenticated")
        val id = ((d as? JsonObject)?.get("transition_id") as? JsonPrimitive)?.takeIf { !it.isString }?.intOrNull
        val channel = server.channelOf(s)
        if (id == null || channel == null) return ignored(op)
        if (op == Op.DAVE_TRANSITION_READY) channel.daveReady(s, id) else channel.daveInvalid(s, id)
    }

    private fun ignored(op: Int) {
        server.counters.wsIgnored.incrementAndGet()
        log.debug("ignored op {} from {}", op, ws.remote)
    }

    /** Closes for a protocol error: the session (if any) ends. Caller holds server.lock. */
    private fun fail(code: Int, reason: String) {
        val s = session
        if (s != null) server.endSession(s, code, reason) else closeWith(code, reason, endSession = false)
    }

    private fun heartbeat(d: JsonElement?) {
        lastHeartbeatNanos = System.nanoTime()
        // v8: {t, seq_ack} -> {t}; before v8 the nonce was the bare integer d itself.
        val ack: JsonElement = when (d) {
            is JsonObject -> buildJsonObject { put("t", d["t"] ?: JsonNull) }
            null -> JsonNull
            else -> d
        }
        val s = session
        if (s != null) s.send(Op.HEARTBEAT_ACK, ack, buffered = false)
        else sendRaw(buildJsonObject { put("op", Op.HEARTBEAT_ACK); put("d", ack) }.toString())
    }

    private fun identify(d: JsonElement?) {
        if (session != null) {
            fail(Close.ALREADY_AUTHENTICATED, "Already authenticated")
            return
        }
        val obj = d as? JsonObject
        val serverId = obj.string("server_id")
        val userId = obj.string("user_id")
        val sessionId = obj.string("session_id")
        val token = obj.string("token")
        if (serverId == null || userId == null || sessionId == null || token == null) {
            fail(Close.DECODE_ERROR, "Failed to decode payload")
            return
        }
        val grant = server.grantFor(token)
        if (grant == null || endpoint.retired || grant.guildId != serverId || grant.userId != userId ||
            grant.sessionId != sessionId || grant.endpoint != endpoint.address
        ) {
            fail(Close.AUTHENTICATION_FAILED, "Authentication failed")
            return
        }
        val maxDave = (obj?.get("max_dave_protocol_version") as? JsonPrimitive)?.intOrNull ?: 0
        if (server.config.requireDave && maxDave <= 0) {
            fail(Close.DAVE_REQUIRED, "E2EE/DAVE protocol required")
            return
        }
        val s = server.createSession(grant, endpoint, maxDave, version)
        session = s
        s.connection = this
        s.record(ClientMessage(Op.IDENTIFY, d, System.nanoTime()))
        s.send(Op.READY, buildJsonObject {
            put("ssrc", s.ssrc)
            put("ip", server.config.host)
            put("port", endpoint.udpPort)
            put("modes", kotlinx.serialization.json.JsonArray(server.offeredModes.map(::JsonPrimitive)))
            // Discord's Ready still carries a heartbeat_interval that clients must ignore (docs/protocol.md §2.4).
            put("heartbeat_interval", 1)
            put("experiments", kotlinx.serialization.json.JsonArray(emptyList()))
            put("streams", kotlinx.serialization.json.JsonArray(emptyList()))
        })
        server.channel(grant.guildId, grant.channelId).join(s)
    }

    private fun resume(d: JsonElement?) {
        if (session != null) {
            fail(Close.ALREADY_AUTHENTICATED, "Already authenticated")
            return
        }
        val obj = d as? JsonObject
        val serverId = obj.string("server_id")
        val sessionId = obj.string("session_id")
        val token = obj.string("token")
        if (serverId == null || sessionId == null || token == null) {
            fail(Close.DECODE_ERROR, "Failed to decode payload")
            return
        }
        val seqAck = (obj?.get("seq_ack") as? JsonPrimitive)?.intOrNull ?: -1
        val s = server.resumableSession(endpoint, serverId, sessionId)
        if (s == null) {
            closeWith(Close.SESSION_INVALID, "Session is no longer valid", endSession = false)
            return
        }
        if (s.grant.token != token) {
            closeWith(Close.AUTHENTICATION_FAILED, "Authentication failed", endSession = false)
            return
        }
        val missed = s.replayAfter(seqAck)
        if (missed == null) {
            // The messages the client missed are gone: the session cannot be resumed.
            closeWith(Close.SESSION_INVALID, "Session is no longer valid", endSession = false)
            server.endSession(s, null, "resume after evicted messages")
            return
        }
        s.connection?.let { old -> if (old !== this) old.abort() }
        s.resumeExpiry?.cancel()
        s.resumeExpiry = null
        session = s
        s.connection = this
        s.record(ClientMessage(Op.RESUME, d, System.nanoTime()))
        for (message in missed) if (message is ByteArray) sendBinary(message) else sendText(message as String)
        s.send(Op.RESUMED, JsonNull, buffered = false)
    }

    private fun selectProtocol(d: JsonElement?) {
        val s = session ?: return fail(Close.NOT_AUTHENTICATED, "Not authenticated")
        val obj = d as? JsonObject ?: return fail(Close.DECODE_ERROR, "Failed to decode payload")
        if (obj.string("protocol") != "udp") return fail(Close.UNKNOWN_PROTOCOL, "Unknown protocol")
        val data = obj["data"] as? JsonObject ?: return fail(Close.DECODE_ERROR, "Failed to decode payload")
        val mode = data.string("mode")?.let(EncryptionMode::fromWireName)
        if (mode == null || mode !in server.config.modes) return fail(Close.UNKNOWN_ENCRYPTION_MODE, "Unknown encryption mode")
        val address = data.string("address")
        val port = (data["port"] as? JsonPrimitive)?.intOrNull
        if (address != null && port != null && port in 1..65535) {
            s.selectedAddress = runCatching { InetSocketAddress(address, port) }.getOrNull()
        }
        // A client that never ran IP discovery is reached at the address it selected.
        if (s.udpAddress == null) s.selectedAddress?.takeIf { !it.isUnresolved }?.let { endpoint.bind(s, it) }
        val key = server.randomKey()
        s.installKey(mode, key)
        val channel = server.channel(s.guildId, s.channelId)
        s.daveProtocolVersion = channel.daveVersionFor(s)
        s.send(Op.SESSION_DESCRIPTION, server.sessionDescription(mode, key, s.daveProtocolVersion))
        // After op 4, so the client has its DAVE session when op 25 arrives.
        channel.daveSessionReady(s)
    }

    private fun speaking(d: JsonElement?) {
        val s = session ?: return fail(Close.NOT_AUTHENTICATED, "Not authenticated")
        val obj = d as? JsonObject ?: return fail(Close.DECODE_ERROR, "Failed to decode payload")
        val raw = obj["speaking"] as? JsonPrimitive ?: return fail(Close.DECODE_ERROR, "Failed to decode payload")
        // Before v4 speaking was a boolean; it is a bitmask since.
        val flags = raw.intOrNull ?: raw.booleanOrNull?.let { if (it) 1 else 0 }
            ?: return fail(Close.DECODE_ERROR, "Failed to decode payload")
        val delay = (obj["delay"] as? JsonPrimitive)?.intOrNull
        val ssrc = (obj["ssrc"] as? JsonPrimitive)?.longOrNull
        s.record(SpeakingUpdate(flags, delay, ssrc, System.nanoTime()))
        s.speaking = flags
        server.channelOf(s)?.speakingChanged(s, flags)
    }

    override fun onClosed(code: Int?, reason: String) {
        synchronized(server.lock) {
            watchdog?.cancel()
            val s = session ?: return
            session = null
            if (s.connection !== this) return
            s.connection = null
            if (!closing && code == NORMAL_CLOSURE) {
                // A client that closes with 1000 is leaving; any other ending (no close frame, 1001, 4xxx) may resume.
                server.endSession(s, null, "client closed normally")
            } else {
                server.scheduleResumeExpiry(s)
            }
        }
    }

    private fun JsonObject?.string(key: String): String? = (this?.get(key) as? JsonPrimitive)?.contentOrNull

    private companion object {
        const val GATEWAY_VERSION = 8
        const val NORMAL_CLOSURE = 1000
        const val BACKEND_VERSION = "earshot-voice-testkit"
    }
}
