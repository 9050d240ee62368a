package dev.earshot.voice.testkit

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.collections.shouldContainExactlyInAnyOrder
import io.kotest.matchers.nulls.shouldBeNull
import io.kotest.matchers.nulls.shouldNotBeNull
import io.kotest.matchers.shouldBe
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.delay
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import kotlinx.serialization.json.put

private fun resumeOf(grant: VoiceGrant, seqAck: Int, token: String = grant.token) = buildJsonObject {
    put("server_id", grant.guildId)
    put("session_id", grant.sessionId)
    put("token", token)
    put("seq_ack", seqAck)
}

private fun JsonObject.speakingOf(): Triple<Int, Long, String> =
    Triple(d["speaking"]!!.jsonPrimitive.int, d["ssrc"]!!.jsonPrimitive.long, d["user_id"]!!.jsonPrimitive.content)

class SessionSpec : FunSpec({
    test("members learn about each other: op 11 on connect and per joiner, op 5 after Ready and on change, op 18/20, op 13 on leave") {
        VoiceTestServer.start().use { server ->
            val channel = server.channel("1", "2")
            RawVoiceClient.connect(server).use { a ->
                val ha = a.handshake(server.grant("1", "2", "alice"))
                a.send(5, buildJsonObject { put("speaking", 1); put("delay", 0); put("ssrc", ha.ssrc) })
                val bot = channel.addMember("bot", clientFlags = 2, platform = 1)
                a.expect(11).userIds() shouldContainExactly listOf("bot")
                a.expect(18).d["flags"]!!.jsonPrimitive.int shouldBe 2
                a.expect(20).d["platform"]!!.jsonPrimitive.int shouldBe 1
                a.expect(5).speakingOf() shouldBe Triple(1, bot.ssrc, "bot")

                RawVoiceClient.connect(server).use { b ->
                    b.expect(8)
                    b.identify(server.grant("1", "2", "bob"))
                    val bobSsrc = b.expect(2).d["ssrc"]!!.jsonPrimitive.long
                    // Right after Ready: everyone present, then the speaking state of each member that has one.
                    b.next().userIds() shouldContainExactlyInAnyOrder listOf("alice", "bot")
                    b.next().op shouldBe 18
                    b.next().op shouldBe 20
                    b.next().speakingOf() shouldBe Triple(1, bot.ssrc, "bot")
                    b.next().speakingOf() shouldBe Triple(1, ha.ssrc, "alice")
                    a.expect(11).userIds() shouldContainExactly listOf("bob")

                    b.send(5, buildJsonObject { put("speaking", 5); put("delay", 0); put("ssrc", bobSsrc) })
                    a.expect(5).speakingOf() shouldBe Triple(5, bobSsrc, "bob")
                    channel.userIds shouldContainExactlyInAnyOrder listOf("alice", "bob", "bot")

                    b.closeWith(1000)
                    a.expect(13).d["user_id"]!!.jsonPrimitive.content shouldBe "bob"
                }
                bot.leave()
                a.expect(13).d["user_id"]!!.jsonPrimitive.content shouldBe "bot"
                channel.userIds shouldContainExactly listOf("alice")
            }
        }
    }

    test("a dropped socket (1006) resumes: what was sent meanwhile is replayed after seq_ack, then op 9") {
        // Without DAVE: no binary op 25 takes a sequence number after Session Description.
        VoiceTestServer.start(TestServerConfig(daveProtocolVersion = 0)).use { server ->
            val grant = server.grant("1", "2", "alice")
            val first = RawVoiceClient.connect(server)
            val hs = first.handshake(grant)
            val acked = first.lastSeq
            acked shouldBe 2
            val session = server.session("1", "alice")!!
            session.dropConnection()
            first.awaitClose().shouldNotBeNull().code shouldBe 1006 // no close frame: abnormal closure
            first.close()
            session.isConnected shouldBe false

            // While alice is away, bob joins and speaks: both events wait in alice's replay buffer.
            RawVoiceClient.connect(server).use { b ->
                val hb = b.handshake(server.grant("1", "2", "bob"))
                b.send(5, buildJsonObject { put("speaking", 1); put("delay", 0); put("ssrc", hb.ssrc) })
                delay(50)
                RawVoiceClient.connect(server).use { again ->
                    again.expect(8)
                    again.send(7, resumeOf(grant, acked))
                    val joined = again.next()
                    joined.op shouldBe 11
                    joined.seq shouldBe 3
                    joined.userIds() shouldContainExactly listOf("bob")
                    val spoke = again.next()
                    spoke.seq shouldBe 4
                    spoke.speakingOf() shouldBe Triple(1, hb.ssrc, "bob")
                    val resumed = again.next()
                    resumed.op shouldBe 9
                    resumed.seq shouldBe 5
                    server.session("1", "alice") shouldBe session
                    session.isConnected shouldBe true
                    session.ssrc shouldBe hs.ssrc
                    // The resumed socket is a full member again.
                    again.heartbeat(7)
                    again.expect(6).d["t"]!!.jsonPrimitive.long shouldBe 7
                }
            }
        }
    }

    test("Resume with seq_ack -1 replays everything still buffered, Ready included") {
        VoiceTestServer.start().use { server ->
            val grant = server.grant("1", "2", "alice")
            RawVoiceClient.connect(server).use { it.handshake(grant); server.session("1", "alice")!!.dropConnection() }
            RawVoiceClient.connect(server).use { c ->
                c.expect(8)
                c.send(7, resumeOf(grant, -1))
                listOf(c.next().op, c.next().op, c.next().op) shouldContainExactly listOf(2, 4, 9)
            }
        }
    }

    test("Resume fails with 4006 when the missed messages left the replay buffer, the window expired, or the session is unknown") {
        VoiceTestServer.start(TestServerConfig(replayBufferSize = 2, resumeWindow = 150.milliseconds)).use { server ->
            val grant = server.grant("1", "2", "alice")
            RawVoiceClient.connect(server).use { c ->
                c.handshake(grant)
                server.channel("1", "2").addMember("m1")
                server.channel("1", "2").addMember("m2") // Ready and op 4 are evicted now
                c.expect(5)
                server.session("1", "alice")!!.dropConnection()
            }
            RawVoiceClient.connect(server).use { c ->
                c.expect(8)
                c.send(7, resumeOf(grant, 1))
                c.awaitClose().shouldNotBeNull().code shouldBe 4006
            }
            server.session("1", "alice").shouldBeNull()

            val grant2 = server.grant("1", "2", "carol")
            RawVoiceClient.connect(server).use { c -> c.handshake(grant2); server.session("1", "carol")!!.dropConnection() }
            delay(400)
            server.session("1", "carol").shouldBeNull()
            RawVoiceClient.connect(server).use { c ->
                c.expect(8)
                c.send(7, resumeOf(grant2, 2))
                c.awaitClose().shouldNotBeNull().code shouldBe 4006
            }
        }
    }

    test("Resume with the wrong token closes with 4004 and leaves the session resumable") {
        VoiceTestServer.start().use { server ->
            val grant = server.grant("1", "2", "alice")
            RawVoiceClient.connect(server).use { it.handshake(grant); server.session("1", "alice")!!.dropConnection() }
            RawVoiceClient.connect(server).use { c ->
                c.expect(8)
                c.send(7, resumeOf(grant, 2, token = "wrong"))
                c.awaitClose().shouldNotBeNull().code shouldBe 4004
            }
            RawVoiceClient.connect(server).use { c ->
                c.expect(8)
                c.send(7, resumeOf(grant, 2))
                c.expect(9)
            }
        }
    }

    test("closing codes decide: 4015 and client 1001 stay resumable, 4014 and client 1000 end the session") {
        VoiceTestServer.start().use { server ->
            val g = server.grant("1", "2", "alice")
            RawVoiceClient.connect(server).use { witness ->
                witness.handshake(server.grant("1", "2", "witness"))

                RawVoiceClient.connect(server).use { c ->
                    c.handshake(g)
                    witness.expect(11)
                    server.session("1", "alice")!!.closeConnection(4015, "voice server crashed")
                    c.awaitClose().shouldNotBeNull().code shouldBe 4015
                }
                server.session("1", "alice").shouldNotBeNull().isEnded shouldBe false

                RawVoiceClient.connect(server).use { c ->
                    c.expect(8)
                    c.send(7, resumeOf(g, 2))
                    c.expect(9)
                    c.closeWith(1001)
                    c.awaitClose()
                }
                delay(50)
                server.session("1", "alice").shouldNotBeNull().isConnected shouldBe false

                RawVoiceClient.connect(server).use { c ->
                    c.expect(8)
                    c.send(7, resumeOf(g, 2))
                    c.expect(9)
                    server.disconnect("1", "alice")
                    c.awaitClose().shouldNotBeNull().code shouldBe 4014
                }
                witness.expect(13).d["user_id"]!!.jsonPrimitive.content shouldBe "alice"
                server.session("1", "alice").shouldBeNull()

                // A fresh Identify with the same grant works after the end, and 1000 from the client is a leave.
                RawVoiceClient.connect(server).use { c ->
                    c.handshake(g)
                    witness.expect(11)
                    c.closeWith(1000)
                    witness.expect(13)
                }
                server.session("1", "alice").shouldBeNull()
            }
        }
    }

    test("a second Identify for the same user replaces the old session, whose socket gets 4006") {
        VoiceTestServer.start().use { server ->
            val g = server.grant("1", "2", "alice")
            RawVoiceClient.connect(server).use { old ->
                val first = old.handshake(g)
                RawVoiceClient.connect(server).use { c ->
                    val second = c.handshake(g)
                    old.awaitClose().shouldNotBeNull().code shouldBe 4006
                    (second.ssrc != first.ssrc) shouldBe true
                    server.session("1", "alice")!!.ssrc shouldBe second.ssrc
                }
            }
        }
    }

    test("sendMessage delivers any opcode with the next seq, and a Resume replays it") {
        // Without DAVE: no binary op 25 takes a sequence number after Session Description.
        VoiceTestServer.start(TestServerConfig(daveProtocolVersion = 0)).use { server ->
            val grant = server.grant("1", "2", "alice")
            RawVoiceClient.connect(server).use { c ->
                c.handshake(grant)
                val session = server.session("1", "alice")!!
                session.sendMessage(15, buildJsonObject { put("any", 100) })
                val m = c.expect(15)
                m.seq shouldBe 3
                m.d["any"]!!.jsonPrimitive.int shouldBe 100
                session.dropConnection()
                session.sendMessage(12, buildJsonObject { put("user_id", "x"); put("audio_ssrc", 5) })
            }
            RawVoiceClient.connect(server).use { c ->
                c.expect(8)
                c.send(7, resumeOf(grant, 3))
                c.next().let { it.op shouldBe 12; it.seq shouldBe 4 }
                c.expect(9)
            }
        }
    }
})
