package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.EncryptionMode
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.nulls.shouldNotBeNull
import io.kotest.matchers.shouldBe
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import kotlinx.serialization.json.put
import kotlinx.coroutines.launch

/** One way to make the server close: what the client does after Hello, and the code it must get. */
private class CloseCase(
    val name: String,
    val code: Short,
    val config: TestServerConfig = TestServerConfig(),
    val act: suspend RawVoiceClient.(VoiceTestServer, VoiceGrant) -> Unit,
)

private fun selectProtocol(protocol: String = "udp", mode: String = "aead_aes256_gcm_rtpsize") = buildJsonObject {
    put("protocol", protocol)
    put("data", buildJsonObject { put("address", "127.0.0.1"); put("port", 5000); put("mode", mode) })
}

private suspend fun RawVoiceClient.identified(grant: VoiceGrant) {
    identify(grant)
    expect(2)
}

class CloseCodeSpec : FunSpec({
    context("each protocol error closes with its code") {
        withData(
            nameFn = { it.name },
            CloseCase("JSON garbage: 4002", 4002) { _, _ -> sendRaw("{not json") },
            CloseCase("a JSON array: 4002", 4002) { _, _ -> sendRaw("[1,2,3]") },
            CloseCase("no op: 4002", 4002) { _, _ -> sendRaw("""{"d":{}}""") },
            CloseCase("op as a string: 4002", 4002) { _, _ -> sendRaw("""{"op":"0","d":{}}""") },
            CloseCase("Identify without a token: 4002", 4002) { _, g ->
                send(0, buildJsonObject { put("server_id", g.guildId); put("user_id", g.userId); put("session_id", g.sessionId) })
            },
            CloseCase("JSON garbage after Identify: 4002", 4002) { _, g -> identified(g); sendRaw("\u0000\u0001") },
            CloseCase("Select Protocol before Identify: 4003", 4003) { _, _ -> send(1, selectProtocol()) },
            CloseCase("Speaking before Identify: 4003", 4003) { _, _ ->
                send(5, buildJsonObject { put("speaking", 1); put("delay", 0); put("ssrc", 1) })
            },
            CloseCase("a wrong token: 4004", 4004) { s, g ->
                send(0, buildJsonObject {
                    put("server_id", g.guildId); put("user_id", g.userId); put("session_id", g.sessionId); put("token", "nope")
                })
            },
            CloseCase("another user's grant: 4004", 4004) { s, g ->
                val other = s.grant("1", "2", "999")
                send(0, buildJsonObject {
                    put("server_id", g.guildId); put("user_id", g.userId); put("session_id", other.sessionId); put("token", other.token)
                })
            },
            CloseCase("a wrong guild: 4004", 4004) { _, g ->
                send(0, buildJsonObject {
                    put("server_id", "42"); put("user_id", g.userId); put("session_id", g.sessionId); put("token", g.token)
                })
            },
            CloseCase("a second Identify: 4005", 4005) { _, g -> identified(g); identify(g) },
            CloseCase("Resume after Identify: 4005", 4005) { _, g ->
                identified(g)
                send(7, buildJsonObject { put("server_id", g.guildId); put("session_id", g.sessionId); put("token", g.token); put("seq_ack", 1) })
            },
            CloseCase("Resume of an unknown session: 4006", 4006) { _, g ->
                send(7, buildJsonObject { put("server_id", g.guildId); put("session_id", "unknown"); put("token", g.token); put("seq_ack", 0) })
            },
            CloseCase("protocol other than udp: 4012", 4012) { _, g -> identified(g); send(1, selectProtocol(protocol = "webrtc")) },
            CloseCase("an unknown mode: 4016", 4016) { _, g -> identified(g); send(1, selectProtocol(mode = "xsalsa20_poly1305")) },
            CloseCase(
                "an offered but unimplemented mode: 4016", 4016,
                TestServerConfig(extraModes = listOf("xsalsa20_poly1305_lite")),
            ) { _, g -> identified(g); send(1, selectProtocol(mode = "xsalsa20_poly1305_lite")) },
            CloseCase(
                "a mode the server does not offer: 4016", 4016,
                TestServerConfig(modes = listOf(EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE)),
            ) { _, g -> identified(g); send(1, selectProtocol(mode = "aead_aes256_gcm_rtpsize")) },
            CloseCase("DAVE required, max version 0: 4017", 4017, TestServerConfig(requireDave = true)) { _, g -> identify(g, maxDave = 0) },
            CloseCase("DAVE required, max version absent: 4017", 4017, TestServerConfig(requireDave = true)) { _, g -> identify(g, maxDave = null) },
        ) { case ->
            VoiceTestServer.start(case.config).use { server ->
                val grant = server.grant("1", "2", "3")
                RawVoiceClient.connect(server).use { c ->
                    c.expect(8)
                    c.(case.act)(server, grant)
                    c.awaitClose().shouldNotBeNull().code shouldBe case.code
                }
                // A session that hit a protocol error is over: the user is no longer in the channel.
                server.session("1", "3") shouldBe null
                server.channel("1", "2").clients shouldBe emptyList()
            }
        }
    }

    test("DAVE required and Identify offering version 1: accepted, Session Description says version 1") {
        VoiceTestServer.start(TestServerConfig(requireDave = true)).use { server ->
            RawVoiceClient.connect(server).use { c ->
                val hs = c.handshake(server.grant("1", "2", "3"))
                server.session("1", "3").shouldNotBeNull().maxDaveProtocolVersion shouldBe 1
                hs.key.size shouldBe 32
                c.seen.last { it.op == 4 }.d["dave_protocol_version"]!!.jsonPrimitive.long shouldBe 1
            }
        }
    }

    test("no heartbeat for two intervals closes with 4009 and ends the session; heartbeating keeps it open") {
        // 300 ms, beats every 50 ms: a stall of this shared machine shorter than half a second cannot end the
        // beating session by accident.
        val config = TestServerConfig(heartbeatInterval = 300.milliseconds)
        VoiceTestServer.start(config).use { server ->
            // The server's clock for the silent session starts with its Hello, so measure from before it connects.
            val started = System.nanoTime()
            val silent = RawVoiceClient.connect(server)
            val beating = RawVoiceClient.connect(server)
            silent.use {
                beating.use {
                    silent.expect(8)
                    silent.identify(server.grant("1", "2", "silent"))
                    silent.expect(2)
                    beating.expect(8)
                    beating.identify(server.grant("1", "2", "beating"))
                    val beats = launch {
                        while (true) {
                            beating.heartbeat()
                            kotlinx.coroutines.delay(50)
                        }
                    }
                    val reason = silent.awaitClose().shouldNotBeNull()
                    reason.code shouldBe 4009
                    ((System.nanoTime() - started) / 1_000_000 >= 450) shouldBe true
                    server.session("1", "silent") shouldBe null
                    server.session("1", "beating").shouldNotBeNull().isConnected shouldBe true
                    beats.cancel()
                }
            }
        }
    }

    test("heartbeat enforcement can be switched off") {
        VoiceTestServer.start(TestServerConfig(heartbeatInterval = 30.milliseconds, enforceHeartbeatTimeout = false)).use { server ->
            RawVoiceClient.connect(server).use { c ->
                c.expect(8)
                c.identify(server.grant("1", "2", "3"))
                c.expect(2)
                kotlinx.coroutines.delay(200)
                c.heartbeat(1)
                c.expect(6).d["t"] shouldBe JsonPrimitive(1)
            }
        }
    }
})
