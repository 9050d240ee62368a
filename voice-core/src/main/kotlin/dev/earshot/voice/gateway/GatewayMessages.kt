package dev.earshot.voice.gateway

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

/** Decodes server frames and encodes client messages of the voice gateway (v8). Pure, no I/O. */
internal object GatewayMessages {
    private val json = Json { ignoreUnknownKeys = true }

    /** Decodes a text frame; throws [MalformedMessage] for anything that is not a valid message. */
    fun decodeText(text: String): Inbound {
        val root = try {
            json.parseToJsonElement(text) as? JsonObject
        } catch (e: Exception) {
            null
        } ?: throw MalformedMessage("not a JSON object")
        val op = (root["op"] as? JsonPrimitive)?.intOrNull ?: throw MalformedMessage("no integer op")
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
        val seq = ((frame[0].toInt() and 0xFF) shl 8) or (frame[1].toInt() and 0xFF)
        val op = frame[2].toInt() and 0xFF
        return Inbound.Binary(op, frame.copyOfRange(3, frame.size), seq)
    }

    private fun decodePayload(op: Int, d: JsonElement?, seq: Int): Inbound = when (op) {
        VoiceOp.HELLO -> Inbound.Hello(obj(d).num("heartbeat_interval").also { if (it <= 0) throw MalformedMessage("heartbeat_interval $it") }, seq)
        VoiceOp.READY -> obj(d).let { o ->
            val modes = (o["modes"] as? JsonArray)?.mapNotNull { (it as? JsonPrimitive)?.takeIf { p -> p.isString }?.content }
                ?: throw MalformedMessage("no modes")
            Inbound.Ready(o.uint32("ssrc"), o.string("ip"), o.int("port"), modes, seq)
        }
        VoiceOp.SESSION_DESCRIPTION -> obj(d).let { o ->
            val key = (o["secret_key"] as? JsonArray) ?: throw MalformedMessage("no secret_key")
            val bytes = ByteArray(key.size) { i ->
                val v = (key[i] as? JsonPrimitive)?.intOrNull
                if (v == null || v !in 0..255) throw MalformedMessage("secret_key element $i")
                v.toByte()
            }
            Inbound.SessionDescription(o.string("mode"), bytes, o.intOrNull("dave_protocol_version") ?: 0, seq)
        }
        VoiceOp.SPEAKING -> obj(d).let { o -> Inbound.Speaking(o.snowflake("user_id"), o.uint32("ssrc"), o.int("speaking"), seq) }
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
            Inbound.ClientsConnect(ids.map { snowflakeOf(it) ?: throw MalformedMessage("bad user id $it") }, seq)
        }
        VoiceOp.CLIENT_DISCONNECT -> Inbound.ClientDisconnect(obj(d).snowflake("user_id"), seq)
        VoiceOp.VIDEO -> obj(d).let { o ->
            Inbound.Video(o.snowflake("user_id"), o.uint32OrNull("audio_ssrc") ?: 0, o.uint32OrNull("video_ssrc") ?: 0, seq)
        }
        VoiceOp.CLIENT_FLAGS -> obj(d).let { o -> Inbound.ClientFlags(o.snowflake("user_id"), o.intOrNull("flags") ?: 0, seq) }
        VoiceOp.CLIENT_PLATFORM -> obj(d).let { o -> Inbound.ClientPlatform(o.snowflake("user_id"), o.intOrNull("platform") ?: 0, seq) }
        VoiceOp.DAVE_PREPARE_TRANSITION, VoiceOp.DAVE_EXECUTE_TRANSITION, VoiceOp.DAVE_PREPARE_EPOCH ->
            Inbound.DaveJson(op, obj(d), seq)
        else -> Inbound.Ignored(op, seq)
    }

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

    // ---- field helpers: every failure is a MalformedMessage ----

    private fun obj(d: JsonElement?): JsonObject = d as? JsonObject ?: throw MalformedMessage("d is not an object")

    private fun JsonObject.prim(key: String): JsonPrimitive? = (this[key] as? JsonPrimitive)?.takeIf { it !is JsonNull }

    private fun JsonObject.string(key: String): String =
        prim(key)?.takeIf { it.isString }?.content ?: throw MalformedMessage("no string $key")

    private fun JsonObject.num(key: String): Double = prim(key)?.doubleOrNull ?: throw MalformedMessage("no number $key")

    private fun JsonObject.int(key: String): Int = intOrNull(key) ?: throw MalformedMessage("no integer $key")

    private fun JsonObject.intOrNull(key: String): Int? = prim(key)?.intOrNull

    private fun JsonObject.uint32OrNull(key: String): Long? = prim(key)?.longOrNull?.takeIf { it in 0..0xFFFF_FFFFL }

    private fun JsonObject.uint32(key: String): Long = uint32OrNull(key) ?: throw MalformedMessage("no uint32 $key")

    private fun JsonObject.snowflake(key: String): Long = snowflakeOf(this[key]) ?: throw MalformedMessage("no snowflake $key")

    private fun snowflakeOf(e: JsonElement?): Long? {
        val p = e as? JsonPrimitive ?: return null
        if (p is JsonNull) return null
        return p.content.toULongOrNull()?.toLong()
    }
}
