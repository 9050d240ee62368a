package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import io.github.jaredmdobson.concentus.OpusDecoder
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.doubles.shouldBeBetween
import io.kotest.matchers.shouldBe
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.serialization.json.jsonPrimitive

class ScriptedMemberSpec : FunSpec({
    test("a scripted member's packets decrypt for every client, in its mode, and match the file byte for byte") {
        val speech = TestAudio.stream("speech.opus").packets
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { a ->
                RawVoiceClient.connect(server).use { b ->
                    val ha = a.handshake(server.grant("1", "2", "a"), EncryptionMode.AEAD_AES256_GCM_RTPSIZE)
                    val hb = b.handshake(server.grant("1", "2", "b"), EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE)
                    val member = server.channel("1", "2").addMember("speaker", MemberScript {
                        play(TestAudio.file("speech.opus"), from = 1000.milliseconds, duration = 600.milliseconds)
                        pause(100.milliseconds)
                        leave()
                    })
                    a.expect(5).d["ssrc"]!!.jsonPrimitive.content.toLong() shouldBe member.ssrc
                    val (gotA, gotB) = coroutineScope {
                        val ra = async(Dispatchers.IO) { a.receiveRtp(TransportCipher.create(ha.mode, ha.key), 35) }
                        val rb = async(Dispatchers.IO) { b.receiveRtp(TransportCipher.create(hb.mode, hb.key), 35) }
                        ra.await() to rb.await()
                    }
                    member.awaitFinished(2000.milliseconds)
                    a.expect(13).d["user_id"]!!.jsonPrimitive.content shouldBe "speaker"

                    val sent = member.sent
                    sent.size shouldBe 35
                    sent.filter { !it.isSilence }.map { it.opus.toList() } shouldContainExactly speech.subList(50, 80).map { it.toList() }
                    for (got in listOf(gotA, gotB)) {
                        got.map { it.opus.toList() } shouldContainExactly sent.map { it.opus.toList() }
                        got.map { it.view.sequence } shouldContainExactly sent.map { it.sequence }
                        got.map { it.view.timestamp } shouldContainExactly sent.map { it.timestamp }
                        got.map { it.view.extension } shouldContainExactly sent.map { it.hasExtension }
                        got.all { it.view.ssrc == member.ssrc } shouldBe true
                    }
                    gotA.first().view.marker shouldBe true
                    server.channel("1", "2").members shouldBe emptyList()
                }
            }
        }
    }

    test("a tone decodes to a sine of its frequency") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { a ->
                val ha = a.handshake(server.grant("1", "2", "a"))
                server.channel("1", "2").addMember("tone", MemberScript { tone(440.0, 300.milliseconds, amplitude = 0.3) })
                val got = a.receiveRtp(TransportCipher.create(ha.mode, ha.key), 20)
                val decoder = OpusDecoder(48_000, 2)
                val pcm = ShortArray(960 * 2)
                val mono = ArrayList<Short>()
                for (p in got.filter { it.opus.size > 3 }) {
                    val n = decoder.decode(p.opus, 0, p.opus.size, pcm, 0, 960, false)
                    for (i in 0 until n) mono += pcm[2 * i]
                }
                // Skip the codec's start-up, then count zero crossings: a 440 Hz sine crosses 880 times a second.
                val steady = mono.drop(960 * 3)
                val crossings = steady.zipWithNext().count { (x, y) -> (x < 0) != (y < 0) }
                val hz = crossings / 2.0 / (steady.size / 48_000.0)
                hz.shouldBeBetween(430.0, 450.0, 0.0)
                val peak = steady.maxOf { kotlin.math.abs(it.toInt()) } / 32768.0
                peak.shouldBeBetween(0.25, 0.35, 0.0)
            }
        }
    }

    test("a client that connects while a member talks gets op 11 and op 5 right after Ready, then the audio from there on") {
        VoiceTestServer.start().use { server ->
            val member = server.channel("1", "2").addMember("early", MemberScript { tone(300.0, 2000.milliseconds) }, startDelay = 0.milliseconds)
            kotlinx.coroutines.delay(200)
            RawVoiceClient.connect(server).use { a ->
                a.expect(8)
                a.identify(server.grant("1", "2", "late"))
                val ready = a.expect(2).d
                a.next().userIds() shouldContainExactly listOf("early")
                a.next().d["ssrc"]!!.jsonPrimitive.content.toLong() shouldBe member.ssrc
                val hs = a.select(ready)
                val got = a.receiveRtp(TransportCipher.create(hs.mode, hs.key), 5)
                got.size shouldBe 5
                got.all { it.view.ssrc == member.ssrc } shouldBe true
                // It joined mid-spurt: the first packet it sees is not the spurt's first.
                (got.first().view.sequence != member.sent.first().sequence) shouldBe true
                member.leave()
            }
        }
    }

    test("awaitFinished reports a script that fails, and returns after leave()") {
        VoiceTestServer.start().use { server ->
            val channel = server.channel("1", "2")
            val broken = channel.addMember("broken", MemberScript { play(java.nio.file.Path.of("/nonexistent/file.opus")) }, startDelay = 0.milliseconds)
            io.kotest.assertions.throwables.shouldThrow<java.nio.file.NoSuchFileException> { broken.awaitFinished(2000.milliseconds) }
            val talker = channel.addMember("talker", MemberScript { tone(200.0, 5000.milliseconds) })
            talker.leave()
            talker.awaitFinished(1000.milliseconds)
            talker.isPresent shouldBe false
            talker.isFinished shouldBe true
        }
    }
})
