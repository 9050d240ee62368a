package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.EncryptionMode
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.nulls.shouldNotBeNull
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import kotlinx.serialization.json.put

class GatewaySpec : FunSpec({
    test("Hello, Identify, Ready, Select Protocol and Session Description carry what docs/protocol.md section 2 says") {
        VoiceTestServer.start().use { server ->
            val grant = server.grant("100", "200", "300")
            grant.endpoint shouldBe server.endpoint
            server.endpoint shouldBe "127.0.0.1:${server.url.substringAfterLast(':').substringBefore('/')}"
            RawVoiceClient.connect(server).use { c ->
                val hello = c.next()
                hello.op shouldBe 8
                hello.d["heartbeat_interval"]!!.jsonPrimitive.long shouldBe 13_750
                hello.d["v"]!!.jsonPrimitive.int shouldBe 8
                hello.seq shouldBe null

                c.identify(grant)
                val ready = c.next()
                ready.op shouldBe 2
                ready.seq shouldBe 1
                ready.d["ip"]!!.jsonPrimitive.content shouldBe "127.0.0.1"
                ready.d["port"]!!.jsonPrimitive.int shouldBe server.udpPort
                ready.d["modes"]!!.jsonArray.map { it.jsonPrimitive.content } shouldContainExactly
                    listOf("aead_aes256_gcm_rtpsize", "aead_xchacha20_poly1305_rtpsize")
                ready.d["heartbeat_interval"]!!.jsonPrimitive.long shouldNotBe 13_750 // the bogus one clients must ignore
                val ssrc = ready.d["ssrc"]!!.jsonPrimitive.long

                val seen = c.discover(ssrc, server.udpPort)
                seen.port shouldBe c.udp.localPort
                c.send(1, buildJsonObject {
                    put("protocol", "udp")
                    put("data", buildJsonObject { put("address", seen.hostString); put("port", seen.port); put("mode", "aead_xchacha20_poly1305_rtpsize") })
                })
                val description = c.next()
                description.op shouldBe 4
                description.seq shouldBe 2
                description.d["mode"]!!.jsonPrimitive.content shouldBe "aead_xchacha20_poly1305_rtpsize"
                val key = description.d["secret_key"]!!.jsonArray.map { it.jsonPrimitive.int }
                key.size shouldBe 32
                key.all { it in 0..255 } shouldBe true
                description.d["dave_protocol_version"]!!.jsonPrimitive.int shouldBe 1 // the client offered 1

                val session = server.awaitSession("100", "300")
                session.ssrc shouldBe ssrc
                session.mode shouldBe EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE
                session.secretKey!!.map { it.toInt() and 0xFF } shouldBe key
                session.maxDaveProtocolVersion shouldBe 1
                session.gatewayVersion shouldBe 8
                session.udpAddress shouldBe seen
            }
        }
    }

    test("heartbeats are acknowledged with their nonce, v8 objects and pre-v8 bare integers alike, and carry seq") {
        VoiceTestServer.start().use { server ->
            val grant = server.grant("1", "2", "3")
            RawVoiceClient.connect(server).use { c ->
                c.expect(8)
                // Before Identify there is no session, so the ACK has no sequence number.
                c.send(3, buildJsonObject { put("t", 42); put("seq_ack", -1) })
                val early = c.expect(6)
                early.d["t"]!!.jsonPrimitive.long shouldBe 42
                early.seq shouldBe null

                c.identify(grant)
                c.expect(2).seq shouldBe 1
                c.send(3, buildJsonObject { put("t", 1_234_567_890_123L); put("seq_ack", 1) })
                val ack = c.expect(6)
                ack.d["t"]!!.jsonPrimitive.long shouldBe 1_234_567_890_123L
                ack.seq shouldBe 2
                c.send(3, JsonPrimitive(777))
                val bare = c.expect(6)
                bare["d"]!!.jsonPrimitive.long shouldBe 777
                bare.seq shouldBe 3
            }
        }
    }

    test("a TLS server is reachable with wss:// from a ktor client that trusts its certificate") {
        VoiceTestServer.start(TestServerConfig(tls = true)).use { server ->
            server.url shouldBe "wss://${server.endpoint}/?v=8"
            server.tls.shouldNotBeNull().certificatePem.lines().first() shouldBe "-----BEGIN CERTIFICATE-----"
            val grant = server.grant("1", "2", "3")
            RawVoiceClient.connect(server).use { c ->
                val hs = c.handshake(grant)
                hs.key.size shouldBe 32
            }
        }
    }

    test("the Hello interval and the offered modes follow the configuration") {
        val config = TestServerConfig(
            heartbeatInterval = kotlin.time.Duration.parse("5s"),
            modes = listOf(EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE),
            extraModes = listOf("xsalsa20_poly1305"),
        )
        VoiceTestServer.start(config).use { server ->
            RawVoiceClient.connect(server).use { c ->
                c.next().d["heartbeat_interval"]!!.jsonPrimitive.long shouldBe 5000
                c.identify(server.grant("1", "2", "3"))
                c.expect(2).d["modes"]!!.jsonArray.map { it.jsonPrimitive.content } shouldContainExactly
                    listOf("aead_xchacha20_poly1305_rtpsize", "xsalsa20_poly1305")
            }
        }
    }

    test("unknown opcodes and unknown binary messages are ignored, as Discord does; a bad key package is rejected") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { c ->
                c.handshake(server.grant("1", "2", "3"))
                c.send(99, buildJsonObject { put("x", 1) })
                c.send(15, buildJsonObject { put("any", 100) })
                c.ws.send(io.ktor.websocket.Frame.Binary(true, byteArrayOf(99, 1, 2, 3)))
                c.ws.send(io.ktor.websocket.Frame.Binary(true, byteArrayOf(26, 1, 2, 3)))
                c.heartbeat(5)
                c.expect(6).d["t"]!!.jsonPrimitive.long shouldBe 5
                server.stats.wsIgnored shouldBe 3
                server.stats.daveRejected shouldBe 1
                server.session("1", "3").shouldNotBeNull().isConnected shouldBe true
            }
        }
    }

    test("what the client sent is recorded: every message and its op 5 speaking updates") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { c ->
                val hs = c.handshake(server.grant("1", "2", "3"))
                c.send(5, buildJsonObject { put("speaking", 1); put("delay", 0); put("ssrc", hs.ssrc) })
                c.heartbeat(9)
                c.expect(6)
                val s = server.session("1", "3")!!
                s.messages.map { it.op } shouldContainExactly listOf(0, 1, 5, 3)
                s.speakingUpdates.single().let {
                    it.speaking shouldBe 1
                    it.delay shouldBe 0
                    it.ssrc shouldBe hs.ssrc
                }
                s.speaking shouldBe 1
            }
        }
    }
})
