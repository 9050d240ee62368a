package dev.earshot.voice.gateway

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.udp.IpLiteral
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.doubleOrNull
import kotlinx.serialization.json.intOrNull
import kotlinx.serialization.json.longOrNull
import kotlinx.serialization.json.put

/**
 * A message from the voice server, decoded from one WebSocket frame. Payload shapes follow docs/protocol.md §2.3-2.4;
 * unknown keys are ignored, snowflakes are accepted as strings or numbers.
 */
internal sealed interface Inbound {
    /** The server's `seq` (JSON top-level `seq` or the binary prefix), or -1 when the message carries none. */
    val seq: Int

    data class Hello(val heartbeatIntervalMs: Double, override val seq: Int) : Inbound
    data class Ready(val ssrc: Long, val ip: String, val port: Int, val modes: List<String>, override val seq: Int) : Inbound
    class SessionDescription(val mode: String, val secretKey: ByteArray, val daveProtocolVersion: Int, override val seq: Int) : Inbound {
        override fun toString(): String = "SessionDescription(mode=$mode, dave=$daveProtocolVersion)" // never the key
    }
    data class Speaking(val userId: Long, val ssrc: Long, val flags: Int, override val seq: Int) : Inbound
    data class HeartbeatAck(val nonce: Long?, override val seq: Int) : Inbound
    data class HeartbeatRequest(override val seq: Int) : Inbound
    data class Resumed(override val seq: Int) : Inbound
    data class ClientsConnect(val userIds: List<Long>, override val seq: Int) : Inbound
    data class ClientDisconnect(val userId: Long, override val seq: Int) : Inbound
    data class Video(val userId: Long, val audioSsrc: Long, val videoSsrc: Long, override val seq: Int) : Inbound
    data class ClientFlags(val userId: Long, val flags: Int, override val seq: Int) : Inbound
    data class ClientPlatform(val userId: Long, val platform: Int, override val seq: Int) : Inbound

    /** A DAVE JSON opcode (21, 22, 24) for the DAVE seam, with its raw payload. */
    data class DaveJson(val op: Int, val data: JsonObject, override val seq: Int) : Inbound

    /** A binary frame (DAVE opcodes 25, 27, 29, 30): opcode and payload after the 3-byte prefix. */
    class Binary(val op: Int, val payload: ByteArray, override val seq: Int) : Inbound {
        override fun toString(): String = "Binary(op=$op, ${payload.size} bytes)"
    }

    /** A well-formed message whose opcode Earshot does not act on (14-17, 19, future ones). */
    data class Ignored(val op: Int, override val seq: Int) : Inbound
}

/** Why a frame could not be decoded; counted and logged at debug, never fatal. */
internal class MalformedMessage(message: String) : Exception(message)

/**
 * A server message that breaks the voice gateway protocol in a way retrying cannot mend (a handshake field out of
 * range, a heartbeat interval outside 1 ms to 1 hour). The connection turns it into its public
 * `VoiceServerProtocolException` with the same [field], so this package needs nothing from the one above it.
 */
internal class GatewayProtocolException(val field: String, val detail: String) : Exception("($field): $detail")

/**
 * Decodes server frames and encodes client messages of the voice gateway (v8). Pure, no I/O.
 *
 * Everything the server sends is checked here, at the edge, before anything else sees it. A frame that is too large
 * or nested too deeply, is not JSON, or is a message after the handshake with a field out of range is a
 * [MalformedMessage] (counted and skipped). A handshake message (Hello, Ready, Session Description) with a missing
 * or out-of-range field is a [GatewayProtocolException] naming the field: the connection cannot go on without
 * those values, and a server that sends them wrong will send them wrong again.
 */
internal object GatewayMessages {
    /**
     * The largest text frame decoded, in characters (1 MiB). Voice gateway JSON is a few hundred bytes; op 11 for a
     * full channel a few KB.
     */
    const val MAX_TEXT_FRAME_CHARS: Int = 1 shl 20

    /**
     * The largest binary frame decoded, in bytes (1 MiB). DAVE's MLS messages grow with the group: a commit or welcome
     * for a channel of 99 members is tens of KB (about 300 bytes of leaf node per member in the ratchet tree).
     */
    const val MAX_BINARY_FRAME_BYTES: Int = 1 shl 20

    /**
     * The deepest nesting of JSON arrays and objects decoded (32). Voice gateway messages nest four levels at most; the
     * JSON parser recurses per level, so deeper input could exhaust the stack.
     */
    const val MAX_JSON_DEPTH: Int = 32

    /** Heartbeat intervals accepted in Hello, in milliseconds: 1 ms to 1 hour. */
    private const val MIN_HEARTBEAT_MS = 1.0
    private const val MAX_HEARTBEAT_MS = 3_600_000.0

    /** Encryption modes offered in Ready at most (Discord offers a handful). */
    private const val MAX_MODES = 64

    /** Key length of both transport modes (AES-256-GCM and XChaCha20-Poly1305), in bytes. */
    private const val KEY_LENGTH = 32

    private const val MAX_SSRC = 0xFFFF_FFFFL

    private val json = Json { ignoreUnknownKeys = true }

    /**
     * Decodes a text frame. Throws [MalformedMessage] for anything that is not a valid message, and
     * [GatewayProtocolException] for a handshake message (ops 2, 4, 8) whose fields are missing or out of range.
     */
    fun decodeText(text: String): Inbound {
        checkShape(text)
        val root = try {
            json.parseToJsonElement(text) as? JsonObject
        } catch (e: Exception) {
            null
        } ?: throw MalformedMessage("not a JSON object")
        // A number, not a string holding one: "2" is no op 2 (whose bad fields would end the connection).
        val op = (root["op"] as? JsonPrimitive)?.takeIf { !it.isString }?.intOrNull ?: throw MalformedMessage("no integer op")
        val seq = (root["seq"] as? JsonPrimitive)?.intOrNull ?: -1
        val d = root["d"]
        return try {
            decodePayload(op, d, seq)
        } catch (e: MalformedMessage) {
            throw MalformedMessage("op $op: ${e.message}")
        }
    }

    /** Decodes a binary frame: uint16 BE seq, uint8 opcode, payload (docs/protocol.md §2.2). */
    fun decodeBinary(frame: ByteArray): Inbound {
        if (frame.size < 3) throw MalformedMessage("binary frame of ${frame.size} bytes")
        if (frame.size > MAX_BINARY_FRAME_BYTES) throw MalformedMessage("binary frame of ${frame.size} bytes (limit $MAX_BINARY_FRAME_BYTES)")
        val seq = ((frame[0].toInt() and 0xFF) shl 8) or (frame[1].toInt() and 0xFF)
        val op = frame[2].toInt() and 0xFF
        return Inbound.Binary(op, frame.copyOfRange(3, frame.size), seq)
    }

    /**
     * Rejects a frame over [MAX_TEXT_FRAME_CHARS] or nested deeper than [MAX_JSON_DEPTH] before the recursive parser
     * sees it. One pass, no allocation: brackets count only outside strings, and a backslash in a string skips the
     * next character, so `"\\"` ends its string and `"\""` does not. Closing more than was opened is refused too:
     * valid JSON never does, and a count below zero would let deep nesting that follows pass unnoticed.
     */
    private fun checkShape(text: String) {
        if (text.length > MAX_TEXT_FRAME_CHARS) throw MalformedMessage("text frame of ${text.length} characters (limit $MAX_TEXT_FRAME_CHARS)")
        var depth = 0
        var inString = false
        var i = 0
        val n = text.length
        while (i < n) {
            val c = text[i]
            if (inString) {
                if (c == '\\') i++ else if (c == '"') inString = false
            } else {
                when (c) {
                    '"' -> inString = true
                    '[', '{' -> if (++depth > MAX_JSON_DEPTH) throw MalformedMessage("JSON nested deeper than $MAX_JSON_DEPTH levels")
                    ']', '}' -> if (--depth < 0) throw MalformedMessage("JSON closes more than it opens")
                }
            }
            i++
        }
    }

    private fun decodePayload(op: Int, d: JsonElement?, seq: Int): Inbound = when (op) {
        VoiceOp.HELLO -> decodeHello(d, seq)
        VoiceOp.READY -> decodeReady(d, seq)
        VoiceOp.SESSION_DESCRIPTION -> decodeSessionDescription(d, seq)
        VoiceOp.SPEAKING -> obj(d).let { o ->
            val ssrc = o.uint32("ssrc")
            if (ssrc == 0L) throw MalformedMessage("ssrc 0")
            Inbound.Speaking(o.snowflake("user_id"), ssrc, o.flags("speaking") ?: throw MalformedMessage("no speaking flags"), seq)
        }
        VoiceOp.HEARTBEAT_ACK -> Inbound.HeartbeatAck(
            when (d) {
                is JsonObject -> (d["t"] as? JsonPrimitive)?.longOrNull
                is JsonPrimitive -> d.longOrNull // before v8 the nonce was the bare payload
                else -> null
            },
            seq,
        )
        VoiceOp.HEARTBEAT -> Inbound.HeartbeatRequest(seq)
        VoiceOp.RESUMED -> Inbound.Resumed(seq)
        VoiceOp.CLIENTS_CONNECT -> obj(d).let { o ->
            val ids = (o["user_ids"] as? JsonArray) ?: throw MalformedMessage("no user_ids")
            Inbound.ClientsConnect(ids.map { snowflakeOf(it) ?: throw MalformedMessage("bad user id ${brief(it)}") }, seq)
        }
        VoiceOp.CLIENT_DISCONNECT -> Inbound.ClientDisconnect(obj(d).snowflake("user_id"), seq)
        VoiceOp.VIDEO -> obj(d).let { o ->
            // 0 (or absent) means no stream.
            Inbound.Video(o.snowflake("user_id"), o.uint32OrAbsent("audio_ssrc"), o.uint32OrAbsent("video_ssrc"), seq)
        }
        VoiceOp.CLIENT_FLAGS -> obj(d).let { o -> Inbound.ClientFlags(o.snowflake("user_id"), o.flags("flags") ?: 0, seq) }
        VoiceOp.CLIENT_PLATFORM -> obj(d).let { o -> Inbound.ClientPlatform(o.snowflake("user_id"), o.flags("platform") ?: 0, seq) }
        VoiceOp.DAVE_PREPARE_TRANSITION, VoiceOp.DAVE_EXECUTE_TRANSITION, VoiceOp.DAVE_PREPARE_EPOCH ->
            Inbound.DaveJson(op, obj(d), seq)
        else -> Inbound.Ignored(op, seq)
    }

    // ---- the handshake: every failure is a GatewayProtocolException naming the field ----

    private fun decodeHello(d: JsonElement?, seq: Int): Inbound.Hello {
        val o = handshakeObject(d, "Hello")
        val field = "Hello.heartbeat_interval"
        val p = o.prim("heartbeat_interval") ?: protocolError(field, "missing")
        val ms = p.doubleOrNull ?: protocolError(field, "not a number: ${brief(p)}")
        if (!ms.isFinite() || ms < MIN_HEARTBEAT_MS || ms > MAX_HEARTBEAT_MS) {
            protocolError(field, "$ms ms is outside 1 ms to 1 hour")
        }
        return Inbound.Hello(ms, seq)
    }

    private fun decodeReady(d: JsonElement?, seq: Int): Inbound.Ready {
        val o = handshakeObject(d, "Ready")
        val ssrc = o.prim("ssrc")?.longOrNull ?: protocolError("Ready.ssrc", "missing or not an integer: ${brief(o["ssrc"])}")
        // RFC 3550 allows any 32-bit SSRC, but Earshot uses 0 for "none" (op 12), so a server handing it out is refused.
        if (ssrc !in 1..MAX_SSRC) protocolError("Ready.ssrc", "$ssrc is outside 1..$MAX_SSRC")
        val ipPrim = o.prim("ip")?.takeIf { it.isString } ?: protocolError("Ready.ip", "missing or not a string: ${brief(o["ip"])}")
        val ip = ipPrim.content
        // A literal, never a name: resolving it would be a DNS lookup steered by the server.
        if (!IpLiteral.isLiteral(ip)) protocolError("Ready.ip", "'${ip.take(64)}' is not a literal IPv4 or IPv6 address")
        val port = o.prim("port")?.intOrNull ?: protocolError("Ready.port", "missing or not an integer: ${brief(o["port"])}")
        if (port !in 1..65_535) protocolError("Ready.port", "$port is outside 1..65535")
        val modesElement = o["modes"] as? JsonArray ?: protocolError("Ready.modes", "missing or not a list: ${brief(o["modes"])}")
        if (modesElement.isEmpty()) protocolError("Ready.modes", "the list is empty")
        if (modesElement.size > MAX_MODES) protocolError("Ready.modes", "${modesElement.size} modes (at most $MAX_MODES)")
        val modes = modesElement.mapIndexed { i, e ->
            (e as? JsonPrimitive)?.takeIf { it.isString }?.content ?: protocolError("Ready.modes", "entry $i is not a string: ${brief(e)}")
        }
        return Inbound.Ready(ssrc, ip, port, modes, seq)
    }

    private fun decodeSessionDescription(d: JsonElement?, seq: Int): Inbound.SessionDescription {
        val o = handshakeObject(d, "SessionDescription")
        val mode = o.prim("mode")?.takeIf { it.isString }?.content
            ?: protocolError("SessionDescription.mode", "missing or not a string: ${brief(o["mode"])}")
        if (EncryptionMode.fromWireName(mode) == null) protocolError("SessionDescription.mode", "unknown encryption mode '${mode.take(64)}'")
        // Never echo key bytes in a message: only lengths and positions.
        val field = "SessionDescription.secret_key"
        val key = o["secret_key"] as? JsonArray ?: protocolError(field, "missing or not a list")
        if (key.size != KEY_LENGTH) protocolError(field, "${key.size} bytes; $mode needs $KEY_LENGTH")
        val bytes = ByteArray(KEY_LENGTH) { i ->
            val v = (key[i] as? JsonPrimitive)?.takeIf { !it.isString && it !is JsonNull }?.intOrNull
            if (v == null || v !in 0..255) protocolError(field, "byte $i is not an integer 0..255")
            v.toByte()
        }
        val daveField = "SessionDescription.dave_protocol_version"
        val dave = when (val p = o["dave_protocol_version"]) {
            null, JsonNull -> 0 // servers without DAVE leave it out
            else -> (p as? JsonPrimitive)?.intOrNull?.takeIf { it in 0..MAX_DAVE_VERSION }
                ?: protocolError(daveField, "${brief(p)} is not an integer 0..$MAX_DAVE_VERSION")
        }
        return Inbound.SessionDescription(mode, bytes, dave, seq)
    }

    private fun handshakeObject(d: JsonElement?, message: String): JsonObject =
        d as? JsonObject ?: protocolError("$message.d", "the payload is not an object: ${brief(d)}")

    private fun protocolError(field: String, message: String): Nothing = throw GatewayProtocolException(field, message)

    /** DAVE protocol versions accepted in Session Description (1 exists today). */
    private const val MAX_DAVE_VERSION = 255

    // ---- client messages ----

    fun identify(serverId: Long, userId: Long, sessionId: String, token: String, maxDaveVersion: Int): String =
        message(VoiceOp.IDENTIFY, buildJsonObject {
            put("server_id", serverId.toString())
            put("user_id", userId.toString())
            put("session_id", sessionId)
            put("token", token)
            put("max_dave_protocol_version", maxDaveVersion)
        })

    fun resume(serverId: Long, sessionId: String, token: String, seqAck: Int): String =
        message(VoiceOp.RESUME, buildJsonObject {
            put("server_id", serverId.toString())
            put("session_id", sessionId)
            put("token", token)
            put("seq_ack", seqAck)
        })

    fun heartbeat(nonce: Long, seqAck: Int): String =
        message(VoiceOp.HEARTBEAT, buildJsonObject {
            put("t", nonce)
            put("seq_ack", seqAck)
        })

    fun selectProtocol(address: String, port: Int, mode: String): String =
        message(VoiceOp.SELECT_PROTOCOL, buildJsonObject {
            put("protocol", "udp")
            put("data", buildJsonObject {
                put("address", address)
                put("port", port)
                put("mode", mode)
            })
        })

    fun speaking(flags: Int, ssrc: Long): String =
        message(VoiceOp.SPEAKING, buildJsonObject {
            put("speaking", flags)
            put("delay", 0)
            put("ssrc", ssrc)
        })

    /** Any JSON client message (the DAVE seam sends ops 23 and 31 through this). */
    fun message(op: Int, d: JsonElement): String = buildJsonObject {
        put("op", op)
        put("d", d)
    }.toString()

    /** A client binary frame: opcode byte then payload, no sequence number (docs/protocol.md §2.2). */
    fun binary(op: Int, payload: ByteArray): ByteArray = ByteArray(payload.size + 1).also {
        it[0] = op.toByte()
        payload.copyInto(it, 1)
    }

    // ---- field helpers for messages after the handshake: every failure is a MalformedMessage ----

    private fun obj(d: JsonElement?): JsonObject = d as? JsonObject ?: throw MalformedMessage("d is not an object")

    private fun JsonObject.prim(key: String): JsonPrimitive? = (this[key] as? JsonPrimitive)?.takeIf { it !is JsonNull }

    /** An unsigned 32-bit value, or a [MalformedMessage]. */
    private fun JsonObject.uint32(key: String): Long =
        prim(key)?.longOrNull?.takeIf { it in 0..MAX_SSRC } ?: throw MalformedMessage("no uint32 $key")

    /** An unsigned 32-bit value, 0 when absent; present but out of range is a [MalformedMessage]. */
    private fun JsonObject.uint32OrAbsent(key: String): Long = if (this[key] == null || this[key] == JsonNull) 0 else uint32(key)

    /** A non-negative bit set (unknown bits are kept), null when absent; present but not one is a [MalformedMessage]. */
    private fun JsonObject.flags(key: String): Int? {
        if (this[key] == null || this[key] == JsonNull) return null
        return prim(key)?.intOrNull?.takeIf { it >= 0 } ?: throw MalformedMessage("$key is not a non-negative integer: ${brief(this[key])}")
    }

    private fun JsonObject.snowflake(key: String): Long = snowflakeOf(this[key]) ?: throw MalformedMessage("no snowflake $key: ${brief(this[key])}")

    /**
     * A user id: a positive snowflake as a string or a number. Snowflakes are 64-bit but their top bit stays clear
     * until 2084, and Earshot uses -1 for "unknown user", so 0 and values above [Long.MAX_VALUE] are refused.
     */
    private fun snowflakeOf(e: JsonElement?): Long? {
        val p = e as? JsonPrimitive ?: return null
        if (p is JsonNull) return null
        return p.content.toLongOrNull()?.takeIf { it > 0 }
    }

    /** A short rendering of a value for a message (the server may send megabytes). */
    private fun brief(e: JsonElement?): String = e?.toString()?.let { if (it.length > 40) it.take(40) + "..." else it } ?: "absent"
}
