package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.EncryptionMode
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import kotlin.time.Duration.Companion.seconds

/**
 * The testkit's fidelity, checked with a client we did not write: @discordjs/voice 0.19.2 (interop/). One
 * scripted member plays speech.opus to it while it plays speech-nofec.opus to the testkit, once per transport mode.
 */
class DiscordJsInteropSpec : FunSpec({
    for (mode in EncryptionMode.entries) {
        test("discord.js completes the handshake and exchanges byte-identical Opus in ${mode.wireName}")
            .config(enabledOrReasonIf = { DiscordJsMember.enabledOrReason }, timeout = 60.seconds) {
                val toDiscordJs = TestAudio.stream("speech.opus").packets
                val fromDiscordJs = TestAudio.stream("speech-nofec.opus").packets
                VoiceTestServer.start(TestServerConfig(tls = true, modes = listOf(mode))).use { server ->
                    val grant = server.grant("1001", "2002", "3003")
                    DiscordJsMember.start(grant, play = TestAudio.file("speech-nofec.opus"), subscribe = listOf("4004")).use { djs ->
                        val session = server.awaitSession("1001", "3003", timeout = 20.seconds)
                        session.mode shouldBe mode
                        session.maxDaveProtocolVersion shouldBe 1 // davey is loaded: discord.js offers DAVE
                        djs.awaitConnection("ready")

                        // A transport-only member: the call downgrades, so both directions are plain Opus the testkit can
                        // compare byte for byte (DAVE with discord.js is DaveDiscordJsSpec's and DiscordJsDaveE2eSpec's).
                        val member = server.channel("1001", "2002").addMember("4004", MemberScript { play(TestAudio.file("speech.opus")) }, dave = false)
                        member.awaitFinished(20.seconds)
                        djs.awaitEvent(20.seconds) { it["event"].toString() == "\"player\"" && it["to"].toString() == "\"idle\"" }
                        djs.leave() shouldBe 0

                        // The testkit got every Opus frame discord.js played, byte for byte, in order.
                        val captured = session.received
                        captured.filter { !it.isSilence }.map { it.opus.toList() } shouldContainExactly fromDiscordJs.map { it.toList() }
                        // discord.js 0.19.2 ends with four silence frames, not five: its AudioPlayer prepares the fifth,
                        // then goes idle and never dispatches it.
                        captured.drop(fromDiscordJs.size).map { it.isSilence } shouldContainExactly List(4) { true }
                        captured.map { it.sequence }.zipWithNext().all { (a, b) -> b == (a + 1) and 0xFFFF } shouldBe true
                        session.speakingUpdates.first().speaking shouldBe 1

                        // discord.js got every frame of the scripted member, byte for byte, in order.
                        val heard = djs.received("4004")
                        heard.filter { it.size != 3 }.map { it.toList() } shouldContainExactly toDiscordJs.map { it.toList() }
                        heard.map { it.toList() } shouldContainExactly member.sent.map { it.opus.toList() }
                    }
                }
            }
    }
})
