package dev.earshot.voice.send

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.codec.SpeechFixtures
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.datagram.DatagramSink
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.Pcm
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.asFlow
import kotlinx.coroutines.test.TestScope
import kotlinx.coroutines.test.runTest

private const val SSRC = 31337L
private const val USER = 555L

/**
 * The player's output fed into a [dev.earshot.voice.VoiceReceiver] (as Discord would forward it, minus the header
 * extension), with our SSRC mapped to a user: what the receiver decodes must be what a decoder makes of the
 * packets directly.
 */
@OptIn(ExperimentalCoroutinesApi::class)
class PlayerLoopbackSpec : FunSpec({

    /** Plays [source] into a receiver; returns the user's frames and the datagrams sent. */
    suspend fun TestScope.loopBack(source: OpusAudioSource): Pair<List<AudioFrame>, List<ByteArray>> {
        val h = ReceiverHarness(this, ssrcs = SsrcDirectory().apply { map(SSRC, USER) })
        val sent = ArrayList<ByteArray>()
        val sink = object : DatagramSink {
            override fun send(buffer: ByteArray, offset: Int, length: Int): Boolean {
                val d = buffer.copyOfRange(offset, offset + length)
                sent += d
                h.source.offer(d)
                return true
            }
        }
        val player = AudioPlayer(backgroundScope, {}, NanoClock { testScheduler.currentTime * 1_000_000L })
        player.attach(sink, SSRC, TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, h.key))
        player.play(source).await()
        delay(300)
        h.source.close()
        return h.ticks.await().mapNotNull { it.frameOf(USER) } to sent
    }

    /** Every frame's PCM, concatenated, and the SNR of it against [direct] (interleaved stereo). */
    fun snrAgainst(frames: List<AudioFrame>, direct: List<ShortArray>): Double {
        val ours = frames.take(direct.size).flatMap { it.pcm!!.toList() }.toShortArray()
        val theirs = direct.flatMap { it.toList() }.toShortArray()
        return Pcm.snrDb(theirs, 0, ours, 0, theirs.size)
    }

    test("an Ogg Opus file played into a receiver decodes exactly as the file's packets do") {
        runTest {
            val packets = SpeechFixtures.speech.packets
            val (frames, sent) = loopBack(AudioSources.oggOpus(SpeechFixtures.speech))
            sent.size shouldBe packets.size + 5
            // The five silence frames end the talk spurt in the receiver; they produce no frames of their own.
            val audio = frames.filter { it.opus != null }
            audio.map { it.opus!!.toList() } shouldBe packets.map { it.toList() }
            audio.forEach { it.kind shouldBe FrameKind.DECODED }
            audio.forEach { it.userId shouldBe USER }
            // Lossless and in order, so the receiver's decoder sees what a direct decode sees: bit-exact.
            val snr = snrAgainst(audio, Speech.decodeAll(packets))
            println("loop-back (file): SNR against the direct decode %.1f dB".format(snr))
            snr shouldBe 200.0 // Pcm.snrDb's value for identical signals
        }
    }

    test("PCM encoded by the player's source comes back as the speech: exact against a direct decode, above 12 dB against the input") {
        runTest {
            val speech = SpeechFixtures.reference48k
            val frames = (0 until speech.size / 960).map { f -> ShortArray(1920) { speech[f * 960 + it / 2] } }
            val (received, sent) = loopBack(AudioSources.pcm(frames.asFlow()))
            // ReceiverHarness's default key.
            val cipher = TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, FakeSpeaker.key(1))
            val payloads = sent.map { open(Seen.Datagram(0, it), cipher)!!.payload }
            payloads.size shouldBe frames.size + 5
            payloads.takeLast(5).forEach { it.toList() shouldBe SILENCE.toList() }
            val audio = received.filter { it.opus != null }
            audio.map { it.opus!!.toList() } shouldBe payloads.dropLast(5).map { it.toList() }
            snrAgainst(audio, Speech.decodeAll(payloads.dropLast(5))) shouldBe 200.0
            // Against the PCM that went in, after the encoder's 312-sample lookahead (measured: 14.8 dB).
            val left = Pcm.channel(audio.take(frames.size).flatMap { it.pcm!!.toList() }.toShortArray(), 2, 0)
            val snr = Pcm.snrDb(speech, 0, left, 310, speech.size - 960)
            println("loop-back (PCM): SNR against the input %.1f dB".format(snr))
            snr shouldBeGreaterThan 12.0
        }
    }
})
