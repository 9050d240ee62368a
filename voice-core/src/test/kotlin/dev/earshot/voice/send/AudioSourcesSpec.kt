package dev.earshot.voice.send

import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.codec.SpeechFixtures
import dev.earshot.voice.files.MalformedOggException
import dev.earshot.voice.files.OggOpusStream
import dev.earshot.voice.testing.Pcm
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.ints.shouldBeInRange
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.asFlow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.onCompletion
import kotlinx.coroutines.test.runTest
import java.nio.file.Files
import kotlin.time.Duration.Companion.milliseconds

/** Drains [source]: every frame until it ends. */
private suspend fun OpusAudioSource.drain(): List<ByteArray> = buildList { while (true) add(nextFrame() ?: break) }

private fun oneChannelStream(vararg packets: ByteArray) = OggOpusStream(1, 0, 0, packets.toList())

/** Opus frame-length bytes (RFC 6716 §3.2.1). */
private fun lengthBytes(n: Int): ByteArray =
    if (n < 252) byteArrayOf(n.toByte()) else byteArrayOf((252 + (n - 252) % 4).toByte(), ((n - 252) / 4).toByte())

class AudioSourcesSpec : FunSpec({
    val speech = SpeechFixtures.speech

    test("oggOpus plays a file's packets in order, unchanged, then ends") {
        runTest {
            val file = Files.createTempFile("speech", ".opus")
            try {
                Files.write(file, javaClass.getResourceAsStream("/audio/speech.opus")!!.use { it.readBytes() })
                val frames = AudioSources.oggOpus(file).drain()
                frames.map { it.toList() } shouldBe speech.packets.map { it.toList() }
            } finally {
                Files.delete(file)
            }
        }
    }

    test("oggOpus refuses 40 and 60 ms SILK frames, more than two channels, invalid packets and non-Ogg files") {
        val forty = shouldThrow<IllegalArgumentException> { AudioSources.oggOpus(SpeechFixtures.stereo40) }
        forty.message shouldContain "packet 0 of ${SpeechFixtures.stereo40.packets.size} holds 40.0 ms frames"
        forty.message shouldContain "--framesize 20"
        shouldThrow<IllegalArgumentException> { AudioSources.oggOpus(SpeechFixtures.stereo60) }.message shouldContain "60.0 ms"
        shouldThrow<IllegalArgumentException> { AudioSources.oggOpus(OggOpusStream(6, 0, 0, speech.packets)) }
        shouldThrow<IllegalArgumentException> { AudioSources.oggOpus(oneChannelStream(speech.packets[0], ByteArray(0))) }
            .message shouldContain "packet 1 of 2 is not a valid Opus packet"
        // 10 ms CELT frame (config 30): a valid packet, but not a 20 ms one.
        shouldThrow<IllegalArgumentException> { AudioSources.oggOpus(oneChannelStream(byteArrayOf(0xF0.toByte(), 0xFF.toByte(), 0xFE.toByte()))) }
            .message shouldContain "10.0 ms"
        val notOgg = Files.createTempFile("not", ".opus")
        try {
            Files.write(notOgg, ByteArray(100) { it.toByte() })
            shouldThrow<MalformedOggException> { AudioSources.oggOpus(notOgg) }
        } finally {
            Files.delete(notOgg)
        }
    }

    test("oggOpus splits packets of several 20 ms frames (codes 1, 2 and 3) into single-frame packets") {
        runTest {
            // Two real frames of the same TOC config, and a made-up 300-byte one for two-byte length coding.
            val (a, b) = speech.packets.zipWithNext().first { (x, y) -> x[0] == y[0] && x.size != y.size }
            val toc = a[0].toInt() and 0xFC
            val fa = a.copyOfRange(1, a.size)
            val fb = b.copyOfRange(1, b.size)
            val big = ByteArray(300) { (it * 7).toByte() }
            fun single(frame: ByteArray) = byteArrayOf(toc.toByte()) + frame
            val code1 = byteArrayOf((toc or 1).toByte()) + fa + fa
            val code2 = byteArrayOf((toc or 2).toByte()) + lengthBytes(fa.size) + fa + fb
            val code2Long = byteArrayOf((toc or 2).toByte()) + lengthBytes(big.size) + big + fb
            // Code 3, VBR, with padding: count byte v=1 p=1 M=3, padding 260 bytes (255 = 254 and more, then 6).
            val code3 = byteArrayOf((toc or 3).toByte(), (0x80 or 0x40 or 3).toByte(), 255.toByte(), 6) +
                lengthBytes(fb.size) + lengthBytes(big.size) + fb + big + fa + ByteArray(260)
            // Code 3, CBR, 2 frames, no padding.
            val code3Cbr = byteArrayOf((toc or 3).toByte(), 2) + fb + fb
            // All well-formed by the decoder's own framing rules: 40 ms each, 60 ms for the three-frame one.
            listOf(code1, code2, code2Long, code3, code3Cbr).map { OpusPacketInfo.samplesPerChannel48k(it, 0, it.size) } shouldBe
                listOf(1920, 1920, 1920, 2880, 1920)
            val frames = AudioSources.oggOpus(oneChannelStream(code1, code2, code2Long, code3, code3Cbr)).drain()
            frames.map { it.toList() } shouldBe listOf(fa, fa, fa, fb, big, fb, fb, big, fa, fb, fb).map { single(it).toList() }
            // Splitting changes no audio: the two halves decode exactly as the packet did.
            val d1 = ConcentusDecoderFactory.create(PcmFormat.STEREO_48K)
            val d2 = ConcentusDecoderFactory.create(PcmFormat.STEREO_48K)
            val whole = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
            val part = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
            d1.decode(code2, 0, code2.size, whole) shouldBe 1920
            d2.decode(frames[2], 0, frames[2].size, part) shouldBe 960
            part.copyOf(1920).toList() shouldBe whole.copyOf(1920).toList()
            d2.decode(frames[3], 0, frames[3].size, part) shouldBe 960
            part.copyOf(1920).toList() shouldBe whole.copyOfRange(1920, 3840).toList()
        }
    }

    test("opusFrames from a flow: frames in order, the flow's failure surfaces, close cancels the collector") {
        runTest {
            AudioSources.opusFrames(speech.packets.take(5).asFlow()).drain().size shouldBe 5
            val failing = AudioSources.opusFrames(flow {
                emit(speech.packets[0])
                throw IllegalStateException("decoder process died")
            })
            failing.nextFrame()!!.toList() shouldBe speech.packets[0].toList()
            shouldThrow<IllegalStateException> { failing.nextFrame() }.message shouldBe "decoder process died"
            var cause: Throwable? = null
            var completed = false
            val endless = AudioSources.opusFrames(flow { while (true) { emit(speech.packets[0]); delay(20) } }
                .onCompletion { cause = it; completed = true })
            endless.nextFrame()
            endless.nextFrame()
            endless.close()
            delay(100)
            completed shouldBe true
            (cause is kotlinx.coroutines.CancellationException) shouldBe true
        }
    }

    test("opusFrames from a channel: frames until it closes; a close with a cause fails; close cancels the channel") {
        runTest {
            val ch = Channel<ByteArray>(10)
            ch.send(speech.packets[0]); ch.send(speech.packets[1]); ch.close()
            AudioSources.opusFrames(ch).drain().size shouldBe 2
            val failed = Channel<ByteArray>(10)
            failed.close(IllegalStateException("stream lost"))
            shouldThrow<IllegalStateException> { AudioSources.opusFrames(failed).nextFrame() }.message shouldBe "stream lost"
            val open = Channel<ByteArray>(10)
            AudioSources.opusFrames(open).close()
            open.trySend(speech.packets[0]).isClosed shouldBe true
        }
    }

    test("pcm encodes 20 ms frames as they come, in either format; a frame of the wrong size fails") {
        runTest {
            val ref = SpeechFixtures.reference48k
            val stereo = (100 until 110).map { f -> ShortArray(1920) { ref[f * 960 + it / 2] } }
            val packets = AudioSources.pcm(stereo.asFlow()).drain()
            packets.size shouldBe 10
            packets.forEach { OpusPacketInfo.samplesPerChannel48k(it, 0, it.size) shouldBe 960 }
            val mono = (100 until 110).map { f -> SpeechFixtures.reference16k.copyOfRange(f * 320, f * 320 + 320) }
            val monoPackets = AudioSources.pcm(mono.asFlow(), PcmFormat.MONO_16K).drain()
            monoPackets.forEach { (it[0].toInt() and 0xFF) shr 3 shouldBe 9 } // SILK wideband 20 ms
            val wrong = AudioSources.pcm(listOf(ShortArray(960)).asFlow())
            shouldThrow<IllegalArgumentException> { wrong.nextFrame() }.message shouldContain "1920 shorts, was 960"
        }
    }

    test("tone: whole 20 ms frames, and it decodes to the frequency asked for") {
        runTest {
            val packets = AudioSources.tone(440.0, 1010.milliseconds).drain()
            packets.size shouldBe 51
            val decoder = ConcentusDecoderFactory.create(PcmFormat.STEREO_48K)
            val out = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
            val left = packets.flatMap { p -> decoder.decode(p, 0, p.size, out); Pcm.channel(out.copyOf(1920), 2, 0).toList() }
            // Count rising zero crossings in the steady middle second: 440 per second.
            val middle = left.subList(4800, 4800 + 38_400)
            val crossings = middle.zipWithNext().count { (x, y) -> x < 0 && y >= 0 }
            crossings shouldBeInRange 350..354 // 440 Hz × 0.8 s = 352
            Pcm.rms(middle.toShortArray(), 0, middle.size) shouldBeGreaterThan 0.25 * 32767 / 1.414 * 0.8
            shouldThrow<IllegalArgumentException> { AudioSources.tone(30_000.0, 1.milliseconds) }
            AudioSources.tone(440.0, 0.milliseconds).drain().size shouldBe 0
        }
    }
})
