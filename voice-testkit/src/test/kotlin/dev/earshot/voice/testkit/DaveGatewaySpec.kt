package dev.earshot.voice.testkit

import dev.earshot.voice.testkit.internal.DaveMls
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.ktor.websocket.Frame
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonPrimitive

/**
 * DAVE on the testkit's sockets: Session Description's version, the binary framing (seq, opcode, payload) and its
 * place in the session's sequence, bad binary input, and the downgrade when a client without DAVE joins. The MLS
 * flow itself is in DaveGroupSpec (BouncyCastle members) and DaveDiscordJsSpec (discord.js + davey).
 */
class DaveGatewaySpec : FunSpec({
    test("Session Description says version 1 and op 25 follows as a binary frame carrying the next seq") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { c ->
                c.handshake(server.grant("1", "2", "3"))
                val description = c.seen.last { it.op == 4 }
                description.d["dave_protocol_version"]!!.jsonPrimitive.int shouldBe 1
                val frame = withTimeout(2.seconds) { c.binaries.receive() }
                val seq = ((frame[0].toInt() and 0xFF) shl 8) or (frame[1].toInt() and 0xFF)
                seq shouldBe description.seq!! + 1
                frame[2].toInt() shouldBe 25
                frame.copyOfRange(3, frame.size).toList() shouldBe server.channel("1", "2").dave!!.externalSenderPackage.toList()
                server.session("1", "3")!!.daveProtocolVersion shouldBe 1
            }
        }
    }

    test("daveProtocolVersion 0: Session Description says 0, no binary frame, DAVE messages are ignored") {
        VoiceTestServer.start(TestServerConfig(daveProtocolVersion = 0)).use { server ->
            RawVoiceClient.connect(server).use { c ->
                c.handshake(server.grant("1", "2", "3"))
                c.seen.last { it.op == 4 }.d["dave_protocol_version"]!!.jsonPrimitive.int shouldBe 0
                c.ws.send(Frame.Binary(true, byteArrayOf(26, 1, 2, 3)))
                c.heartbeat()
                c.expect(6)
                c.binaries.tryReceive().getOrNull() shouldBe null
                server.stats.daveRejected shouldBe 0
                server.stats.wsIgnored shouldBe 1
            }
        }
    }

    test("garbage binary messages are counted and dropped; the session carries on") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { c ->
                c.handshake(server.grant("1", "2", "3"))
                val garbage = listOf(
                    byteArrayOf(), byteArrayOf(99, 1, 2), byteArrayOf(26), byteArrayOf(26, 0, 1, 0, 2, 5),
                    byteArrayOf(28, 0, 1, 0, 1, 1, 2), byteArrayOf(28), ByteArray(3000) { 26 },
                )
                for (g in garbage) c.ws.send(Frame.Binary(true, g))
                c.send(23, kotlinx.serialization.json.buildJsonObject { })
                c.send(31, kotlinx.serialization.json.JsonPrimitive("x"))
                c.heartbeat()
                c.expect(6)
                val stats = server.stats
                stats.daveRejected shouldBe 5 // three key packages, two commits
                stats.wsIgnored shouldBe 4 // empty, op 99, op 23 and op 31 without a transition id
                stats.internalErrors shouldBe 0
                stats.wsBadMessages shouldBe 0
                server.session("1", "3")!!.isConnected shouldBe true
            }
        }
    }

    test("a client without DAVE joining a DAVE channel downgrades it: op 21 version 0, op 23, op 22; it gets version 0") {
        VoiceTestServer.start().use { server ->
            val channel = server.channel("1", "2")
            RawVoiceClient.connect(server).use { dave ->
                dave.handshake(server.grant("1", "2", "3"))
                channel.daveProtocolVersion shouldBe 1
                RawVoiceClient.connect(server).use { plain ->
                    plain.expect(8)
                    plain.identify(server.grant("1", "2", "4"), maxDave = 0)
                    val prepare = dave.expect(21)
                    prepare.d["protocol_version"]!!.jsonPrimitive.int shouldBe 0
                    val id = prepare.d["transition_id"]!!.jsonPrimitive.int
                    (id > 0) shouldBe true
                    channel.daveProtocolVersion shouldBe 0
                    dave.send(23, kotlinx.serialization.json.buildJsonObject { put("transition_id", kotlinx.serialization.json.JsonPrimitive(id)) })
                    dave.expect(22).d["transition_id"]!!.jsonPrimitive.int shouldBe id
                    plain.select(plain.expect(2).d)
                    plain.seen.last { it.op == 4 }.d["dave_protocol_version"]!!.jsonPrimitive.int shouldBe 0
                    server.disconnect("1", "4")
                }
                // The client without DAVE left: the channel upgrades again with op 24 (epoch 1) and op 25.
                val epoch = dave.expect(24, 3.seconds)
                epoch.d["epoch"]!!.jsonPrimitive.int shouldBe 1
                epoch.d["protocol_version"]!!.jsonPrimitive.int shouldBe 1
                channel.daveProtocolVersion shouldBe 1
                val frames = List(2) { withTimeout(2.seconds) { dave.binaries.receive() } }
                frames.map { it[2].toInt() } shouldBe listOf(25, 25)
            }
        }
    }

    test("a transport-only scripted member (dave = false) downgrades the channel; it upgrades again when it leaves") {
        VoiceTestServer.start().use { server ->
            val channel = server.channel("1", "2")
            RawVoiceClient.connect(server).use { dave ->
                dave.handshake(server.grant("1", "2", "3"))
                channel.addMember("9", dave = false).daveSession shouldBe null
                dave.expect(21).d["protocol_version"]!!.jsonPrimitive.int shouldBe 0
                channel.daveProtocolVersion shouldBe 0
                channel.member("9")!!.leave()
                while (channel.members.isNotEmpty()) delay(5)
                dave.expect(24).d["epoch"]!!.jsonPrimitive.int shouldBe 1
                channel.daveProtocolVersion shouldBe 1
            }
        }
    }

    test("group ids are the channel snowflake, big-endian") {
        DaveMls.groupId("927310423890473011").toList() shouldBe
            java.nio.ByteBuffer.allocate(8).putLong(927310423890473011L).array().toList()
        DaveMls.groupId("18446744073709551615").toList() shouldBe List(8) { (-1).toByte() }
    }
})

