package dev.earshot.voice.fuzz

import dev.earshot.voice.dave.mls.DaveMlsGroup
import dev.earshot.voice.dave.mls.FakeDaveGateway
import dev.earshot.voice.dave.mls.FakeDaveGateway.Companion.splitCommitWelcome
import dev.earshot.voice.dave.mls.RawBcMember
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlin.random.Random

/**
 * Valid voice gateway frames of every server opcode (the shapes of `GatewayMessagesSpec`, protocol.md §2.3-2.4)
 * and generators of hostile variants: byte mutations of the UTF-8 text, JSON-aware replacements of fields with
 * boundary values of every JSON type, deep nesting, splices, and binary DAVE frames (ops 25/27/29/30) made with
 * BouncyCastle MLS and then mutated.
 */
class GatewayInputs(private val random: Random) {
    private val mutator = Mutator(random)

    val texts: List<String> = listOf(
        """{"op":8,"seq":1,"d":{"v":8,"heartbeat_interval":13750.5}}""",
        """{"op":2,"seq":2,"d":{"ssrc":1001,"ip":"127.0.0.1","port":50000,"modes":["aead_aes256_gcm_rtpsize","aead_xchacha20_poly1305_rtpsize"],"heartbeat_interval":1}}""",
        """{"op":4,"seq":3,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":${List(32) { 255 - it }},"dave_protocol_version":1,"media_session_id":"abc"}}""",
        """{"op":4,"seq":3,"d":{"mode":"aead_xchacha20_poly1305_rtpsize","secret_key":${List(32) { it }},"dave_protocol_version":0}}""",
        """{"op":5,"seq":4,"d":{"user_id":"123456789012345678","ssrc":77,"speaking":5}}""",
        """{"op":6,"d":{"t":1234}}""",
        """{"op":6,"d":1234}""",
        """{"op":3,"d":null}""",
        """{"op":9,"seq":5,"d":null}""",
        """{"op":11,"seq":6,"d":{"user_ids":["1","18446744073709551615"]}}""",
        """{"op":12,"seq":7,"d":{"user_id":"5","audio_ssrc":10,"video_ssrc":11,"streams":[{"ssrc":11}]}}""",
        """{"op":13,"seq":8,"d":{"user_id":"42"}}""",
        """{"op":18,"seq":9,"d":{"user_id":"5","flags":2}}""",
        """{"op":20,"seq":10,"d":{"user_id":"5","platform":1}}""",
        """{"op":21,"seq":11,"d":{"protocol_version":1,"transition_id":7}}""",
        """{"op":21,"seq":11,"d":{"protocol_version":0,"transition_id":0}}""",
        """{"op":22,"seq":12,"d":{"transition_id":7}}""",
        """{"op":24,"seq":13,"d":{"protocol_version":1,"epoch":1}}""",
        """{"op":14,"d":{"anything":[1,2]}}""",
        """{"op":15,"d":{"any":"thing"}}""",
    )

    /** Binary frames as the server sends them: uint16 seq, opcode, payload. */
    val binaries: List<ByteArray>

    init {
        val channel = 4242L
        val gw = FakeDaveGateway(channel)
        val committer = DaveMlsGroup(1000, channel).apply { reset(); setExternalSender(gw.externalSender) }
        val joiner = RawBcMember(30, channel, gw.externalSender)
        val proposals = gw.append(gw.add(joiner.keyPackage, 0))
        val (commit, welcome) = splitCommitWelcome(committer.processProposals(proposals, setOf(30L))!!)
        fun frame(seq: Int, op: Int, payload: ByteArray) = byteArrayOf((seq ushr 8).toByte(), seq.toByte(), op.toByte()) + payload
        binaries = listOf(
            frame(20, 25, gw.externalSender),
            frame(21, 27, proposals),
            frame(22, 27, gw.revoke(gw.ref(gw.add(joiner.keyPackage, 0)))),
            frame(23, 29, byteArrayOf(0, 3) + commit),
            frame(24, 30, byteArrayOf(0, 3) + welcome!!),
        )
    }

    /** A hostile text frame. */
    fun text(): String = when (random.nextInt(50)) {
        in 0..14 -> String(mutator.mutate(textBytes.random(random), textBytes), Charsets.UTF_8)
        in 15..34 -> jsonMutation(texts.random(random))
        35 -> deepNesting()
        in 36..41 -> texts.random(random) // valid ones keep the driver's state moving
        else -> splice(texts.random(random), texts.random(random))
    }

    private val textBytes = texts.map { it.toByteArray() }

    /** A hostile binary frame (mostly DAVE opcodes, structure-preserving prefix half of the time). */
    fun binary(): ByteArray {
        val base = binaries.random(random)
        return when (random.nextInt(4)) {
            0 -> base
            1 -> base.copyOf(3) + mutator.mutate(base.copyOfRange(3, base.size), binaries.map { it.copyOfRange(3, it.size) }, intArrayOf(0, 1, 2, 3, 4))
            else -> mutator.mutate(base, binaries, intArrayOf(0, 1, 2, 3, 4, 5, 6))
        }
    }

    private fun splice(a: String, b: String): String = a.substring(0, random.nextInt(a.length + 1)) + b.substring(random.nextInt(b.length + 1))

    /** `d` (or the whole message) nested [depth] deep in arrays or objects; up to 100 000 levels. */
    private fun deepNesting(): String {
        val depth = when (random.nextInt(20)) {
            in 0..13 -> random.nextInt(1, 300)
            in 14..18 -> random.nextInt(300, 10_000)
            else -> random.nextInt(10_000, 100_000)
        }
        val array = random.nextBoolean()
        val open = if (array) "[" else "{\"a\":"
        val close = if (array) "]" else "}"
        val inner = open.repeat(depth) + "1" + close.repeat(depth)
        // The whole message, `d`, or one field (or array element) of a valid message of each kind.
        return when (random.nextInt(8)) {
            0 -> inner
            1 -> """{"op":21,"d":{"protocol_version":1,"transition_id":7,"x":$inner}}"""
            2 -> """{"op":4,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":[$inner]}}"""
            3 -> """{"op":11,"d":{"user_ids":["1",$inner]}}"""
            4 -> """{"op":2,"d":{"ssrc":1,"ip":"1.2.3.4","port":5,"modes":[$inner]}}"""
            5 -> """{"op":5,"d":{"user_id":$inner,"ssrc":1,"speaking":1}}"""
            6 -> """{"op":${listOf(6, 8, 13, 18, 20, 22, 24).random(random)},"seq":$inner,"d":{"user_id":$inner}}"""
            else -> """{"op":${listOf(2, 5, 11, 12, 14, 22, 24).random(random)},"d":$inner}"""
        }
    }

    private fun jsonMutation(text: String): String {
        val root = Json.parseToJsonElement(text) as JsonObject
        val top = root.toMutableMap()
        val d = top["d"]
        when {
            random.nextInt(4) == 0 -> {
                // The envelope: op, seq, d itself.
                val key = listOf("op", "seq", "d").random(random)
                if (random.nextInt(5) == 0) top.remove(key) else top[key] = boundaryValue(0)
            }
            d is JsonObject && d.isNotEmpty() -> {
                val fields = d.toMutableMap()
                val key = if (random.nextInt(6) == 0) FIELD_NAMES.random(random) else fields.keys.random(random)
                when (random.nextInt(6)) {
                    0 -> fields.remove(key)
                    1 -> fields[key] = mutateInside(fields[key])
                    else -> fields[key] = boundaryValue(0)
                }
                top["d"] = JsonObject(fields)
            }
            else -> top["d"] = boundaryValue(0)
        }
        return JsonObject(top).toString()
    }

    /** Changes one element inside an array (secret_key, user_ids, modes) or replaces a scalar. */
    private fun mutateInside(e: JsonElement?): JsonElement = when {
        e is JsonArray && e.isNotEmpty() -> {
            val items = e.toMutableList()
            when (random.nextInt(4)) {
                0 -> items[random.nextInt(items.size)] = boundaryValue(1)
                1 -> items.removeAt(random.nextInt(items.size))
                2 -> repeat(random.nextInt(1, 40)) { items.add(items.random(random)) }
                else -> items.add(random.nextInt(items.size + 1), boundaryValue(1))
            }
            JsonArray(items)
        }
        else -> boundaryValue(1)
    }

    /** A value of any JSON type at the edges: numbers around Int, UInt32, Long and snowflake limits, odd strings. */
    private fun boundaryValue(depth: Int): JsonElement = when (random.nextInt(if (depth >= 2) 4 else 7)) {
        0 -> JsonPrimitive(NUMBERS.random(random))
        1 -> NUMBER_ELEMENTS.random(random)
        2 -> JsonPrimitive(STRINGS.random(random))
        3 -> listOf(JsonNull, JsonPrimitive(true), JsonPrimitive(false)).random(random)
        4 -> JsonArray(List(random.nextInt(0, 40)) { boundaryValue(depth + 1) })
        // A long array (a secret_key or user_ids of thousands) holds scalars only, so sizes stay linear; one in 50 is
        // tens of thousands long.
        5 -> JsonArray(
            List(
                when (random.nextInt(100)) {
                    0 -> random.nextInt(10_000, 70_000)
                    in 1..10 -> random.nextInt(40, 2_000)
                    else -> random.nextInt(0, 40)
                },
            ) { NUMBER_ELEMENTS.random(random) },
        )
        else -> JsonObject(List(random.nextInt(0, 4)) { FIELD_NAMES.random(random) to boundaryValue(depth + 1) }.toMap())
    }

    companion object {
        private val NUMBERS = listOf(
            "0", "-0", "1", "-1", "255", "256", "32", "31", "33", "65535", "65536", "2147483647", "2147483648", "-2147483648", "-2147483649",
            "4294967295", "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
            "18446744073709551616", "1e308", "1e309", "-1e309", "1e-400", "0.5", "13750.5", "3600000", "3600001", "0.0001",
            "1" + "0".repeat(400), "1.0", "1E2",
        )
        private val NUMBER_ELEMENTS = NUMBERS.map { Json.parseToJsonElement(it) }
        private val STRINGS = listOf(
            "", " ", "0", "-1", "18446744073709551616", "abc", "127.0.0.1", "::1", "999.1.1.1", "localhost", "aead_aes256_gcm_rtpsize",
            "aead_xchacha20_poly1305_rtpsize", "xsalsa20_poly1305", "\u0000", "\uD800", "é".repeat(1000), "x".repeat(20_000),
        )
        private val FIELD_NAMES = listOf(
            "heartbeat_interval", "ssrc", "ip", "port", "modes", "mode", "secret_key", "dave_protocol_version", "user_id", "user_ids",
            "speaking", "audio_ssrc", "video_ssrc", "flags", "platform", "protocol_version", "transition_id", "epoch", "t", "v",
        )
    }
}
