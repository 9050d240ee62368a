package dev.earshot.voice.audio

import dev.earshot.voice.testing.Pcm
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.plusOrMinus
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.doubles.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import kotlin.math.PI
import kotlin.math.sin
import kotlin.math.sqrt
import kotlin.random.Random

/** Interleaved 48 kHz stereo with [left] and [right] as functions of the sample index. */
private fun stereo(samples: Int, left: (Int) -> Double, right: (Int) -> Double): ShortArray =
    ShortArray(samples * 2) { i -> (if (i % 2 == 0) left(i / 2) else right(i / 2)).toInt().toShort() }

private fun sine(hz: Double, amplitude: Double): (Int) -> Double = { amplitude * sin(2 * PI * hz * it / 48_000) }

/** Converts [input] frame by frame (1920 shorts each) with one converter and joins the outputs. */
private fun byFrames(input: ShortArray): ShortArray {
    val converter = Mono16kConverter()
    val out = ShortArray(input.size / 6)
    val frameOut = ShortArray(320)
    for (f in 0 until input.size / 1920) {
        converter.convert(input.copyOfRange(f * 1920, f * 1920 + 1920), frameOut) shouldBe 320
        frameOut.copyInto(out, f * 320)
    }
    return out
}

class Mono16kConverterSpec : FunSpec({
    test("a 1 kHz tone crosses frame borders without clicks: matches an ideal 16 kHz tone 20 samples late") {
        val out = byFrames(stereo(48_000, sine(1000.0, 10_000.0), sine(1000.0, 10_000.0)))
        val ideal = ShortArray(out.size) { (10_000.0 * sin(2 * PI * 1000.0 * (it - 20) / 16_000)).toInt().toShort() }
        // A click at any of the 49 frame borders would pull this far below 50 dB.
        Pcm.snrDb(ideal, 200, out, 200, out.size - 200) shouldBeGreaterThan 50.0
    }

    test("the channels are averaged") {
        val half = byFrames(stereo(48_000, sine(500.0, 12_000.0), { 0.0 }))
        Pcm.rms(half, 200, half.size - 200) shouldBe (6_000.0 / sqrt(2.0) plusOrMinus 10.0)
        val cancelled = byFrames(stereo(48_000, sine(500.0, 12_000.0), sine(500.0, -12_000.0)))
        Pcm.rms(cancelled, 200, cancelled.size - 200) shouldBeLessThan 1.0
    }

    test("frames fed one by one equal the whole signal converted at once (longer than the filter's block)") {
        val noise = Random(5)
        val input = ShortArray(1920 * 20) { noise.nextInt(-20_000, 20_000).toShort() }
        Mono16kConverter().convert(input) shouldBe byFrames(input)
    }

    test("toMono16k converts one frame as a fresh converter does, and reset forgets the history") {
        val input = stereo(960, sine(700.0, 9_000.0), sine(300.0, 9_000.0))
        val single = Mono16kConverter.toMono16k(input)
        single.size shouldBe 320
        val converter = Mono16kConverter()
        converter.convert(input) shouldBe single
        // The second frame starts from the first one's history, not from silence.
        converter.convert(input) shouldNotBe single
        converter.reset()
        converter.convert(input) shouldBe single
    }

    test("odd lengths are trimmed to whole stereo pairs in multiples of 3, and a small output is refused") {
        Mono16kConverter.toMono16k(ShortArray(13) { 100 }).size shouldBe 2
        Mono16kConverter.toMono16k(ShortArray(0)).size shouldBe 0
        shouldThrow<IllegalArgumentException> { Mono16kConverter().convert(ShortArray(1920), ShortArray(319)) }
    }
})
