package dev.earshot.voice.sink

import dev.earshot.voice.codec.ConcentusEncoderFactory
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.files.WavParser
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.doubles.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runTest
import java.nio.file.Files
import java.nio.file.Path
import kotlin.math.PI
import kotlin.math.abs
import kotlin.math.cos
import kotlin.math.sin
import kotlin.math.sqrt

private fun wav(path: Path): Pair<Int, ShortArray> {
    val bytes = Files.readAllBytes(path)
    val w = WavParser.parse(bytes)
    return w.sampleRate.toInt() to WavParser.samples(bytes, w)
}

/** Power of [hz] in the first channel of [pcm] (interleaved, [channels]) over [from] until [to] frames: Goertzel. */
private fun power(pcm: ShortArray, channels: Int, rate: Int, hz: Double, from: Int, to: Int): Double {
    val k = 2 * cos(2 * PI * hz / rate)
    var s1 = 0.0
    var s2 = 0.0
    for (i in from until to) {
        val s = pcm[i * channels] + k * s1 - s2
        s2 = s1
        s1 = s
    }
    return (s1 * s1 + s2 * s2 - k * s1 * s2) / (to - from).toDouble() / (to - from)
}

private fun rms(pcm: ShortArray, channels: Int, from: Int, to: Int): Double =
    sqrt((from until to).sumOf { val v = pcm[it * channels].toDouble(); v * v } / (to - from))

/**
 * Several formats from one connection: the receiver decodes once (48 kHz stereo) and converts per sink and flow, so
 * a 48 kHz stereo recording and a 16 kHz mono one (for a speech recogniser) run side by side.
 */
class FormatsSpec : FunSpec({

    test("a 1 kHz tone recorded at 48 kHz stereo and 16 kHz mono from one connection is in both, equally long") {
        val dir = Files.createTempDirectory("earshot-formats")
        runTest {
            val ssrcs = SsrcDirectory().apply { map(1, 101) }
            val h = ReceiverHarness(this, ssrcs = ssrcs)
            h.receiver.listen(RecordingSinks.perUserWav(dir.resolve("48k")))
            h.receiver.listen(RecordingSinks.perUserWav(dir.resolve("16k"), PcmFormat.MONO_16K))
            h.receiver.listen(RecordingSinks.mixedWav(dir.resolve("mixed16k.wav"), PcmFormat.MONO_16K))
            val flow16 = async(start = CoroutineStart.UNDISPATCHED) { h.receiver.frames(101, PcmFormat.MONO_16K).toList() }
            launch {
                val encoder = ConcentusEncoderFactory.create(PcmFormat.STEREO_48K)
                val speaker = FakeSpeaker(1, h.key)
                val out = ByteArray(1500)
                delay(50)
                for (f in 0 until 100) {
                    val pcm = ShortArray(1920) { i -> (8000 * sin(2 * PI * 1000 * (f * 960 + i / 2) / 48_000)).toInt().toShort() }
                    val n = encoder.encode(pcm, 0, 960, out)
                    h.source.offer(speaker.datagram(out.copyOf(n)))
                    delay(20)
                }
                repeat(5) { h.source.offer(speaker.datagram(FakeSpeaker.SILENCE)); delay(20) }
                delay(100)
                h.source.close()
            }
            val ticks = h.ticks.await()
            h.receiver.awaitSinks()

            val (rate48, s48) = wav(dir.resolve("48k/user-101.wav"))
            val (rate16, s16) = wav(dir.resolve("16k/user-101.wav"))
            val (rateMix, mix16) = wav(dir.resolve("mixed16k.wav"))
            rate48 shouldBe 48_000
            rate16 shouldBe 16_000
            rateMix shouldBe 16_000
            // One frame per tick in both: 960 stereo pairs and 320 mono samples.
            s48.size shouldBe ticks.size * 1920
            s16.size shouldBe ticks.size * 320
            mix16.contentEquals(s16) shouldBe true
            // The tone, in the middle of the speech (ticks 20-80), dominates both, with the same level.
            val p48 = power(s48, 2, 48_000, 1000.0, 20 * 960, 80 * 960)
            val p16 = power(s16, 1, 16_000, 1000.0, 20 * 320, 80 * 320)
            p48 shouldBeGreaterThan 1000.0 * power(s48, 2, 48_000, 3100.0, 20 * 960, 80 * 960)
            p16 shouldBeGreaterThan 1000.0 * power(s16, 1, 16_000, 3100.0, 20 * 320, 80 * 320)
            println("two formats from one connection: 48 kHz stereo ${s48.size / 1920} ticks, 16 kHz mono ${s16.size / 320} ticks; " +
                "1 kHz tone to 3.1 kHz ratio %.0f / %.0f; RMS 16k/48k %.3f".format(
                    p48 / power(s48, 2, 48_000, 3100.0, 20 * 960, 80 * 960), p16 / power(s16, 1, 16_000, 3100.0, 20 * 320, 80 * 320),
                    rms(s16, 1, 20 * 320, 80 * 320) / rms(s48, 2, 20 * 960, 80 * 960)))
            abs(rms(s16, 1, 20 * 320, 80 * 320) / rms(s48, 2, 20 * 960, 80 * 960) - 1) shouldBeLessThan 0.05
            // The flow converts the same way, tick for tick.
            val frames = flow16.await()
            frames.size shouldBe 100
            frames.all { it.pcm!!.size == 320 } shouldBe true
            val first = frames.first()
            s16.copyOfRange((first.tick * 320).toInt(), (first.tick * 320 + 320).toInt()).contentEquals(first.pcm) shouldBe true
        }
    }

    test("a format that cannot be made from the decoded one is refused with the setting to change") {
        runTest {
            val h = ReceiverHarness(this) { decode = PcmFormat.MONO_16K }
            val e = shouldThrow<IllegalArgumentException> { h.receiver.listen(RecordingSinks.perUserWav(Files.createTempDirectory("x"))) }
            e.message shouldContain "ReceiveConfig { decode = PcmFormat.STEREO_48K }"
            h.source.close()
        }
    }
})
