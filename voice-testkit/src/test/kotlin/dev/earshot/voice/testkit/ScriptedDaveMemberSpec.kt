package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.e2ee.FrameDecryptor
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.ints.shouldBeInRange
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout

/**
 * Scripted members as DAVE clients: they form the channel's MLS group among themselves (and with real clients), end
 * to end encrypt their frames, send unencrypted only before their first key (as discord.js does), and leave the group
 * when they leave the channel. The wire is read by a raw client that offers DAVE but never joins the group, so it
 * sees exactly what the SFU relays; another member's DAVE session decrypts it.
 */
class ScriptedDaveMemberSpec : FunSpec({
    test("two scripted members form one group; a joiner sends in the clear until its key, then DAVE frames only") {
        VoiceTestServer.start().use { server ->
            val channel = server.channel("1", "2")
            RawVoiceClient.connect(server).use { raw ->
                val h = raw.handshake(server.grant("1", "2", "3"))
                // Alone, a member is in its own pending group and has no key: it sends in the clear, as discord.js does.
                val first = channel.addMember("10", MemberScript { tone(300.0, 200.milliseconds) }, startDelay = Duration.ZERO)
                val alone = withContext(Dispatchers.IO) { raw.receiveRtp(TransportCipher.create(h.mode, h.key), 15, timeoutMs = 5000) }
                first.awaitFinished(5.seconds)
                awaitTrue { channel.daveMembers == listOf("10") }
                channel.daveProtocolVersion shouldBe 1
                first.daveSession!!.protocolVersion shouldBe 1
                first.daveSession!!.privacyCode shouldBe null
                first.sent.none { it.daveEncrypted } shouldBe true
                alone.map { it.opus.toList() } shouldContainExactly first.sent.map { it.opus.toList() }

                val joiner = channel.addMember("11", MemberScript { tone(440.0, 1.seconds) }, startDelay = Duration.ZERO)
                val got = withContext(Dispatchers.IO) { raw.receiveRtp(TransportCipher.create(h.mode, h.key), 55, timeoutMs = 5000) }
                joiner.awaitFinished(5.seconds)

                channel.daveMembers.toSet() shouldBe setOf("10", "11")
                val code = joiner.daveSession!!.privacyCode
                code shouldNotBe null
                code shouldBe first.daveSession!!.privacyCode
                first.daveSession!!.epoch shouldBe 1L
                channel.daveRejected shouldBe 0L

                val sent = joiner.sent
                val audio = sent.filter { !it.isSilence }
                audio.size shouldBe 50
                // The joiner sends in the clear until its first transition (how many frames depends on this machine's
                // speed); once its key is in force every audio frame is a DAVE frame, and it never goes back.
                val firstDave = audio.indexOfFirst { it.daveEncrypted }
                firstDave shouldBeInRange 0..45
                audio.drop(firstDave).all { it.daveEncrypted } shouldBe true
                sent.filter { it.isSilence }.none { it.daveEncrypted } shouldBe true

                // On the wire: DAVE frames (12-16 bytes longer, ending FA FA) that the other member's session decrypts
                // back to exactly the plaintext the joiner recorded; the rest is the plaintext itself.
                got.map { it.view.sequence } shouldContainExactly sent.map { it.sequence }
                var decrypted = 0
                for ((frame, wire) in sent.zip(got)) {
                    if (!frame.daveEncrypted) {
                        wire.opus.toList() shouldBe frame.opus.toList()
                        continue
                    }
                    (wire.opus.size - frame.opus.size) shouldBeInRange 12..16
                    wire.opus.takeLast(2) shouldBe listOf(0xFA.toByte(), 0xFA.toByte())
                    val buf = wire.opus.copyOf()
                    val n = first.daveSession!!.decrypt(11, buf, 0, buf.size)
                    n shouldNotBe FrameDecryptor.DROP
                    buf.copyOf(n).toList() shouldBe frame.opus.toList()
                    decrypted++
                }
                decrypted shouldBeGreaterThan 0
                first.daveSession!!.stats().decryptFailures shouldBe 0L

                // Leaving the channel leaves the group: the last member is reset to a group of its own.
                joiner.leave()
                awaitTrue { channel.daveMembers == listOf("10") }
                channel.daveProtocolVersion shouldBe 1

                // A member that waits for its key (awaitDave) sends nothing in the clear; its RTP timestamp moves on by
                // the wait, like after a pause.
                val patient = channel.addMember("12", MemberScript { awaitDave(); tone(440.0, 200.milliseconds) }, startDelay = Duration.ZERO)
                patient.awaitFinished(10.seconds)
                val patientAudio = patient.sent.filter { !it.isSilence }
                patientAudio.size shouldBe 10
                patientAudio.all { it.daveEncrypted } shouldBe true
                patient.daveSession!!.privacyCode shouldBe first.daveSession!!.privacyCode
            }
        }
    }

    test("a member whose user id is not a snowflake cannot run DAVE: it is transport-only and the channel downgrades") {
        VoiceTestServer.start().use { server ->
            val channel = server.channel("1", "2")
            channel.addMember("10").daveSession shouldNotBe null
            channel.daveProtocolVersion shouldBe 1
            val named = channel.addMember("speaker", MemberScript { awaitDave(); tone(440.0, 100.milliseconds) }, startDelay = Duration.ZERO)
            named.daveSession shouldBe null
            channel.daveProtocolVersion shouldBe 0
            named.awaitFinished(2.seconds) // nothing to wait for
            named.sent.count { !it.isSilence } shouldBe 5
            named.leave()
            channel.daveProtocolVersion shouldBe 1
        }
    }

    test("on a server without DAVE, members are transport-only") {
        VoiceTestServer.start(TestServerConfig(daveProtocolVersion = 0)).use { server ->
            server.channel("1", "2").addMember("10").daveSession shouldBe null
        }
    }
})

private suspend fun awaitTrue(timeout: Duration = 10.seconds, condition: () -> Boolean) {
    withTimeout(timeout) { while (!condition()) delay(10.milliseconds) }
}
