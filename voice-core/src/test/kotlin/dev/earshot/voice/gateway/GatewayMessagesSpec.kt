package dev.earshot.voice.gateway

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import kotlin.random.Random

class GatewayMessagesSpec : FunSpec({
    // Payloads as Discord documents them (docs/protocol.md §2.4), including keys we ignore.
    test("Hello, with v8's seq and a fractional interval") {
        val m = GatewayMessages.decodeText("""{"op":8,"seq":3,"d":{"v":8,"heartbeat_interval":13750.5}}""")
        m shouldBe Inbound.Hello(13750.5, 3)
    }

    test("Ready ignores its bogus heartbeat_interval and unknown keys") {
        val m = GatewayMessages.decodeText(
            """{"op":2,"d":{"ssrc":4294967295,"ip":"1.2.3.4","port":50001,"modes":["aead_aes256_gcm_rtpsize","xsalsa20_poly1305"],
               "heartbeat_interval":1,"experiments":["x"],"streams":[]}}""",
        )
        m shouldBe Inbound.Ready(0xFFFF_FFFFL, "1.2.3.4", 50001, listOf("aead_aes256_gcm_rtpsize", "xsalsa20_poly1305"), -1)
    }

    test("Session Description carries the 32-byte key and the DAVE version; toString hides the key") {
        val key = (0 until 32).map { 255 - it }
        val m = GatewayMessages.decodeText("""{"op":4,"seq":9,"d":{"mode":"aead_xchacha20_poly1305_rtpsize","secret_key":$key,"dave_protocol_version":1,"media_session_id":"abc"}}""")
        m.shouldBeInstanceOf<Inbound.SessionDescription>()
        m.mode shouldBe "aead_xchacha20_poly1305_rtpsize"
        m.secretKey.map { it.toInt() and 0xFF } shouldBe key
        m.daveProtocolVersion shouldBe 1
        m.seq shouldBe 9
        m.toString().contains("255") shouldBe false
    }

    test("member messages: speaking, connect, disconnect, video, flags, platform") {
        GatewayMessages.decodeText("""{"op":5,"d":{"user_id":"123456789012345678","ssrc":77,"speaking":5}}""") shouldBe
            Inbound.Speaking(123456789012345678L, 77, 5, -1)
        GatewayMessages.decodeText("""{"op":11,"d":{"user_ids":["1","18446744073709551615"]}}""") shouldBe
            Inbound.ClientsConnect(listOf(1L, -1L), -1) // snowflakes are unsigned 64-bit
        GatewayMessages.decodeText("""{"op":13,"d":{"user_id":42}}""") shouldBe Inbound.ClientDisconnect(42, -1)
        GatewayMessages.decodeText("""{"op":12,"d":{"user_id":"5","audio_ssrc":10,"video_ssrc":11,"streams":[{"ssrc":11}]}}""") shouldBe
            Inbound.Video(5, 10, 11, -1)
        GatewayMessages.decodeText("""{"op":18,"d":{"user_id":"5","flags":2}}""") shouldBe Inbound.ClientFlags(5, 2, -1)
        GatewayMessages.decodeText("""{"op":20,"d":{"user_id":"5","platform":1}}""") shouldBe Inbound.ClientPlatform(5, 1, -1)
    }

    test("heartbeat ACKs in v8 and older form, resumed, heartbeat request") {
        GatewayMessages.decodeText("""{"op":6,"d":{"t":1234}}""") shouldBe Inbound.HeartbeatAck(1234, -1)
        GatewayMessages.decodeText("""{"op":6,"d":1234}""") shouldBe Inbound.HeartbeatAck(1234, -1)
        GatewayMessages.decodeText("""{"op":9,"d":null}""") shouldBe Inbound.Resumed(-1)
        GatewayMessages.decodeText("""{"op":3,"d":null}""") shouldBe Inbound.HeartbeatRequest(-1)
    }

    withData(nameFn = { "opcode $it is ignored, not fatal" }, 10, 14, 15, 16, 17, 19, 32, 99, 255) { op ->
        GatewayMessages.decodeText("""{"op":$op,"d":{"anything":[1,2]}}""") shouldBe Inbound.Ignored(op, -1)
    }

    test("DAVE JSON opcodes and binary frames go to the DAVE seam with their seq") {
        val m = GatewayMessages.decodeText("""{"op":21,"seq":4,"d":{"protocol_version":1,"transition_id":7}}""")
        m.shouldBeInstanceOf<Inbound.DaveJson>()
        m.op shouldBe 21
        m.data["transition_id"]!!.jsonPrimitive.int shouldBe 7
        val b = GatewayMessages.decodeBinary(byteArrayOf(0x01, 0x02, 25, 9, 8))
        b.shouldBeInstanceOf<Inbound.Binary>()
        b.seq shouldBe 0x0102
        b.op shouldBe 25
        b.payload.toList() shouldBe listOf<Byte>(9, 8)
        shouldThrow<MalformedMessage> { GatewayMessages.decodeBinary(byteArrayOf(1, 2)) }
    }

    withData(
        nameFn = { "malformed: $it" },
        "", "null", "[]", "{", """{"d":{}}""", """{"op":"2","d":{}}""", """{"op":8,"d":{}}""", """{"op":8,"d":{"heartbeat_interval":0}}""",
        """{"op":2,"d":{"ssrc":1,"ip":"x","port":1}}""", """{"op":2,"d":{"ssrc":-1,"ip":"x","port":1,"modes":[]}}""",
        """{"op":4,"d":{"mode":"m","secret_key":[1,256]}}""", """{"op":4,"d":{"mode":"m","secret_key":"abc"}}""",
        """{"op":5,"d":{"user_id":"abc","ssrc":1,"speaking":1}}""", """{"op":5,"d":null}""", """{"op":11,"d":{"user_ids":[null]}}""",
        """{"op":13,"d":{}}""",
    ) { text ->
        shouldThrow<MalformedMessage> { GatewayMessages.decodeText(text) }
    }

    test("random and mutated frames only ever throw MalformedMessage") {
        val random = Random(11)
        val seeds = listOf(
            """{"op":2,"d":{"ssrc":1,"ip":"1.2.3.4","port":5,"modes":["a"]}}""",
            """{"op":4,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":[1,2,3]}}""",
            """{"op":11,"d":{"user_ids":["1","2"]}}""",
        )
        repeat(20_000) {
            val base = seeds[random.nextInt(seeds.size)].toCharArray()
            repeat(random.nextInt(1, 4)) { base[random.nextInt(base.size)] = "{}[]\":,0123456789nulltrue-. ".random(random) }
            try {
                GatewayMessages.decodeText(String(base))
            } catch (_: MalformedMessage) {
            }
            try {
                GatewayMessages.decodeBinary(random.nextBytes(random.nextInt(0, 8)))
            } catch (_: MalformedMessage) {
            }
        }
    }

    test("client messages have the documented shapes") {
        fun parse(s: String) = Json.parseToJsonElement(s).jsonObject
        val identify = parse(GatewayMessages.identify(1, 2, "sess", "tok", 1))
        identify["op"]!!.jsonPrimitive.int shouldBe 0
        identify["d"]!!.jsonObject.let {
            it["server_id"]!!.jsonPrimitive.content shouldBe "1"
            it["user_id"]!!.jsonPrimitive.content shouldBe "2"
            it["session_id"]!!.jsonPrimitive.content shouldBe "sess"
            it["token"]!!.jsonPrimitive.content shouldBe "tok"
            it["max_dave_protocol_version"]!!.jsonPrimitive.int shouldBe 1
        }
        parse(GatewayMessages.heartbeat(99, -1))["d"]!!.jsonObject.let {
            it["t"]!!.jsonPrimitive.long shouldBe 99
            it["seq_ack"]!!.jsonPrimitive.int shouldBe -1
        }
        parse(GatewayMessages.resume(1, "s", "t", 10))["d"]!!.jsonObject["seq_ack"]!!.jsonPrimitive.int shouldBe 10
        parse(GatewayMessages.selectProtocol("9.9.9.9", 4000, "aead_aes256_gcm_rtpsize")).toString() shouldBe
            """{"op":1,"d":{"protocol":"udp","data":{"address":"9.9.9.9","port":4000,"mode":"aead_aes256_gcm_rtpsize"}}}"""
        parse(GatewayMessages.speaking(1, 77)).toString() shouldBe """{"op":5,"d":{"speaking":1,"delay":0,"ssrc":77}}"""
        GatewayMessages.binary(26, byteArrayOf(5, 6)).toList() shouldBe listOf<Byte>(26, 5, 6)
    }
})
