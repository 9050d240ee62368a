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
        GatewayMessages.decodeText("""{"op":11,"d":{"user_ids":["1",9223372036854775807]}}""") shouldBe
            Inbound.ClientsConnect(listOf(1L, Long.MAX_VALUE), -1)
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
        "", "null", "[]", "{", """{"d":{}}""", """{"op":"2","d":{}}""",
        """{"op":5,"d":{"user_id":"abc","ssrc":1,"speaking":1}}""", """{"op":5,"d":null}""", """{"op":11,"d":{"user_ids":[null]}}""",
        """{"op":13,"d":{}}""",
        // Fields of messages after the handshake, out of range: skipped, never fatal.
        """{"op":5,"d":{"user_id":"5","ssrc":0,"speaking":1}}""", """{"op":5,"d":{"user_id":"5","ssrc":4294967296,"speaking":1}}""",
        """{"op":5,"d":{"user_id":"0","ssrc":7,"speaking":1}}""", """{"op":5,"d":{"user_id":"-3","ssrc":7,"speaking":1}}""",
        """{"op":5,"d":{"user_id":"18446744073709551615","ssrc":7,"speaking":1}}""", """{"op":5,"d":{"user_id":"5","ssrc":7,"speaking":-1}}""",
        """{"op":11,"d":{"user_ids":["1","0"]}}""", """{"op":11,"d":{"user_ids":[1.5]}}""", """{"op":11,"d":{"user_ids":"1"}}""",
        """{"op":13,"d":{"user_id":"-1"}}""",
        """{"op":12,"d":{"user_id":"5","audio_ssrc":-1,"video_ssrc":11}}""", """{"op":12,"d":{"user_id":"5","audio_ssrc":10,"video_ssrc":"x"}}""",
        """{"op":18,"d":{"user_id":"5","flags":-2}}""", """{"op":18,"d":{"user_id":"5","flags":"many"}}""",
        """{"op":20,"d":{"user_id":"5","platform":-1}}""", """{"op":21,"d":[1]}""",
    ) { text ->
        shouldThrow<MalformedMessage> { GatewayMessages.decodeText(text) }
    }

    context("nesting and size are bounded before the JSON parser runs") {
        val depthLimit = GatewayMessages.MAX_JSON_DEPTH
        val textLimit = GatewayMessages.MAX_TEXT_FRAME_CHARS
        withData(nameFn = { (n, open) -> "$n nested '$open' is malformed, not a crash" }, 5_000 to '[', 5_000 to '{', 1_000_000 to '[', 1_000_000 to '{') { (n, open) ->
            val close = if (open == '[') ']' else '}'
            val deep = buildString(n * 2 + 20) {
                append("""{"op":99,"d":""")
                repeat(n) { append(open); if (open == '{') append("\"a\":") }
                append("1")
                repeat(n) { append(close) }
                append("}")
            }
            val text = if (deep.length > textLimit) open.toString().repeat(n) else deep // the size bound must not hide the depth check
            shouldThrow<MalformedMessage> { GatewayMessages.decodeText(text) }
            if (deep.length <= textLimit) shouldThrow<MalformedMessage> { GatewayMessages.decodeText(deep) }
        }

        test("nesting up to the limit decodes; one level more is malformed") {
            fun nested(levels: Int) = """{"op":99,"d":""" + "[".repeat(levels - 1) + "1" + "]".repeat(levels - 1) + "}"
            GatewayMessages.decodeText(nested(depthLimit)) shouldBe Inbound.Ignored(99, -1)
            shouldThrow<MalformedMessage> { GatewayMessages.decodeText(nested(depthLimit + 1)) }
        }

        test("brackets inside strings, and escaped quotes and backslashes, do not count as nesting") {
            val brackets = "[{".repeat(50_000)
            val tricky = """\\\"[[[[\\\\\"{{{{\\u005b"""
            val text = """{"op":99,"d":{"s":"$brackets","t":"$tricky","u":["\\"],"v":"]]]]}}}}"}}"""
            GatewayMessages.decodeText(text) shouldBe Inbound.Ignored(99, -1)
            // After a string that ends in an escaped backslash, brackets count again.
            val escaped = """{"op":99,"d":{"s":"\\\\","n":""" + "[".repeat(depthLimit) + "]".repeat(depthLimit) + "}}"
            shouldThrow<MalformedMessage> { GatewayMessages.decodeText(escaped) }
        }

        test("closing more than was opened is malformed") {
            shouldThrow<MalformedMessage> { GatewayMessages.decodeText("""{"op":99}]]]]""" + "[".repeat(40)) }
        }

        test("a text frame over 1 MiB is malformed; a large string below it decodes") {
            val big = "x".repeat(textLimit - 100)
            GatewayMessages.decodeText("""{"op":99,"d":{"s":"$big"}}""") shouldBe Inbound.Ignored(99, -1)
            shouldThrow<MalformedMessage> { GatewayMessages.decodeText("""{"op":99,"d":{"s":"${"x".repeat(textLimit)}"}}""") }
            shouldThrow<MalformedMessage> { GatewayMessages.decodeText("""{"op":99,"d":{"s":"${"\\\"".repeat(3_000_000)}"}}""") }
        }

        test("a binary frame over 1 MiB is malformed; a 200 KB commit decodes") {
            GatewayMessages.decodeBinary(ByteArray(3 + 200_000)).shouldBeInstanceOf<Inbound.Binary>().payload.size shouldBe 200_000
            GatewayMessages.decodeBinary(ByteArray(GatewayMessages.MAX_BINARY_FRAME_BYTES)).shouldBeInstanceOf<Inbound.Binary>()
            shouldThrow<MalformedMessage> { GatewayMessages.decodeBinary(ByteArray(GatewayMessages.MAX_BINARY_FRAME_BYTES + 1)) }
        }
    }

    context("handshake fields out of range are typed protocol errors naming the field") {
        val goodKey = (0 until 32).joinToString(",", "[", "]")
        fun ready(ssrc: String = "1", ip: String = "\"1.2.3.4\"", port: String = "5", modes: String = "[\"aead_aes256_gcm_rtpsize\"]") =
            """{"op":2,"d":{"ssrc":$ssrc,"ip":$ip,"port":$port,"modes":$modes}}"""
        fun session(mode: String = "\"aead_aes256_gcm_rtpsize\"", key: String = goodKey, dave: String = "1") =
            """{"op":4,"d":{"mode":$mode,"secret_key":$key,"dave_protocol_version":$dave}}"""
        fun hello(interval: String) = """{"op":8,"d":{"heartbeat_interval":$interval}}"""
        withData(
            nameFn = { (text, field) -> "$field: ${text.replace(goodKey, "<32 bytes>").take(110)}" },
            hello("NaN") to "Hello.heartbeat_interval", hello("\"Infinity\"") to "Hello.heartbeat_interval",
            hello("1e300") to "Hello.heartbeat_interval", hello("0") to "Hello.heartbeat_interval",
            hello("-5") to "Hello.heartbeat_interval", hello("0.5") to "Hello.heartbeat_interval",
            hello("3600001") to "Hello.heartbeat_interval", hello("null") to "Hello.heartbeat_interval",
            """{"op":8,"d":{}}""" to "Hello.heartbeat_interval", """{"op":8,"d":5}""" to "Hello.d",
            ready(ssrc = "0") to "Ready.ssrc", ready(ssrc = "-1") to "Ready.ssrc", ready(ssrc = "4294967296") to "Ready.ssrc",
            ready(ssrc = "1.5") to "Ready.ssrc",
            ready(ip = "\"discord.media\"") to "Ready.ip", ready(ip = "\"localhost\"") to "Ready.ip", ready(ip = "\"x\"") to "Ready.ip",
            ready(ip = "\"1.2.3.256\"") to "Ready.ip", ready(ip = "\"1.2.3\"") to "Ready.ip", ready(ip = "\"01.2.3.4\"") to "Ready.ip",
            ready(ip = "\"1.2.3.4.\"") to "Ready.ip", ready(ip = "\"::1%eth0\"") to "Ready.ip", ready(ip = "\"[::1]\"") to "Ready.ip",
            ready(ip = "\"1:2:3:4:5:6:7:8:9\"") to "Ready.ip", ready(ip = "\"1::2::3\"") to "Ready.ip", ready(ip = "\"\"") to "Ready.ip",
            ready(ip = "1234") to "Ready.ip",
            ready(port = "0") to "Ready.port", ready(port = "65536") to "Ready.port", ready(port = "-1") to "Ready.port",
            ready(modes = "[]") to "Ready.modes", ready(modes = "[1]") to "Ready.modes", ready(modes = "\"aead_aes256_gcm_rtpsize\"") to "Ready.modes",
            ready(modes = "[\"a\",null]") to "Ready.modes", """{"op":2,"d":{"ssrc":1,"ip":"1.2.3.4","port":5}}""" to "Ready.modes",
            """{"op":2,"d":null}""" to "Ready.d",
            session(mode = "\"xsalsa20_poly1305\"") to "SessionDescription.mode", session(mode = "5") to "SessionDescription.mode",
            session(key = "[]") to "SessionDescription.secret_key",
            session(key = (0 until 31).joinToString(",", "[", "]")) to "SessionDescription.secret_key",
            session(key = (0 until 33).joinToString(",", "[", "]")) to "SessionDescription.secret_key",
            session(key = (0 until 32).map { if (it == 7) 256 else it }.joinToString(",", "[", "]")) to "SessionDescription.secret_key",
            session(key = (0 until 32).map { if (it == 7) -1 else it }.joinToString(",", "[", "]")) to "SessionDescription.secret_key",
            session(key = (0 until 32).map { if (it == 7) "\"7\"" else "$it" }.joinToString(",", "[", "]")) to "SessionDescription.secret_key",
            session(key = "\"abc\"") to "SessionDescription.secret_key",
            session(dave = "-1") to "SessionDescription.dave_protocol_version", session(dave = "256") to "SessionDescription.dave_protocol_version",
            session(dave = "\"x\"") to "SessionDescription.dave_protocol_version",
        ) { (text, field) ->
            val e = shouldThrow<GatewayProtocolException> { GatewayMessages.decodeText(text) }
            e.field shouldBe field
        }

        test("the key never appears in an error message") {
            val secret = (0 until 33).map { 200 + it % 50 }
            val e = shouldThrow<GatewayProtocolException> { GatewayMessages.decodeText(session(key = secret.joinToString(",", "[", "]"))) }
            e.message!!.contains("201") shouldBe false
        }

        test("the limits themselves are valid") {
            GatewayMessages.decodeText(hello("1")) shouldBe Inbound.Hello(1.0, -1)
            GatewayMessages.decodeText(hello("3600000")) shouldBe Inbound.Hello(3_600_000.0, -1)
            GatewayMessages.decodeText(ready(ssrc = "4294967295", port = "65535", ip = "\"2001:db8::ff00:42:8329\"")).shouldBeInstanceOf<Inbound.Ready>()
            GatewayMessages.decodeText(ready(ip = "\"::ffff:192.0.2.128\"")).shouldBeInstanceOf<Inbound.Ready>()
            GatewayMessages.decodeText(ready(ip = "\"0.0.0.0\"")).shouldBeInstanceOf<Inbound.Ready>()
            val plain = GatewayMessages.decodeText("""{"op":4,"d":{"mode":"aead_xchacha20_poly1305_rtpsize","secret_key":$goodKey}}""")
            plain.shouldBeInstanceOf<Inbound.SessionDescription>().daveProtocolVersion shouldBe 0
        }
    }

    test("random and mutated frames only ever throw MalformedMessage, or a protocol error for a handshake message") {
        val random = Random(11)
        val seeds = listOf(
            """{"op":2,"d":{"ssrc":1,"ip":"1.2.3.4","port":5,"modes":["a"]}}""",
            """{"op":4,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":[1,2,3]}}""",
            """{"op":11,"d":{"user_ids":["1","2"]}}""",
        )
        repeat(20_000) {
            val base = seeds[random.nextInt(seeds.size)].toCharArray()
            repeat(random.nextInt(1, 4)) { base[random.nextInt(base.size)] = "{}[]\":,0123456789nulltrue-. ".random(random) }
            val text = String(base)
            try {
                GatewayMessages.decodeText(text)
            } catch (_: MalformedMessage) {
            } catch (e: GatewayProtocolException) {
                setOf("Hello", "Ready", "SessionDescription").contains(e.field.substringBefore('.')) shouldBe true
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
