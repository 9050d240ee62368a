package dev.earshot.voice.codec

import dev.earshot.voice.testing.Pcm
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.plusOrMinus
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.doubles.shouldBeLessThan
import io.kotest.matchers.shouldBe
import kotlin.math.PI
import kotlin.math.log10
import kotlin.math.sin
import kotlin.math.sqrt

private fun sine(hz: Double, samples: Int, amplitude: Double = 10_000.0): ShortArray =
    ShortArray(samples) { (amplitude * sin(2 * PI * hz * it / 48_000)).toInt().toShort() }

/** Decimates [input] in blocks of [block] samples and returns the whole 16 kHz output. */
private fun decimate(input: ShortArray, block: Int): ShortArray {
    val decimator = Decimator()
    val out = ShortArray(input.size / 3)
    val chunk = ShortArray(block)
    val chunkOut = ShortArray(block / 3)
    for (start in input.indices step block) {
        input.copyInto(chunk, 0, start, start + block)
        val n = decimator.process(chunk, block, chunkOut)
        chunkOut.copyInto(out, start / 3, 0, n)
    }
    return out
}

class DecimatorSpec : FunSpec({
    test("passes 1 kHz unchanged in level and 1.25 ms late") {
        val out = decimate(sine(1000.0, 48_000), 960)
        val expected = ShortArray(out.size) { (10_000.0 * sin(2 * PI * 1000.0 * (it - 20) / 16_000)).toInt().toShort() }
        // Skip the filter's start-up; compare one second minus that against an ideal 16 kHz sine delayed 20 samples.
        Pcm.snrDb(expected, 200, out, 200, out.size - 200) shouldBeGreaterThan 60.0
        Pcm.rms(out, 200, out.size - 200) shouldBe (10_000.0 / sqrt(2.0) plusOrMinus 10.0)
    }

    test("removes tones above 8 kHz instead of folding them into the band") {
        for (hz in listOf(8_500.0, 10_000.0, 15_000.0, 20_000.0)) {
            val out = decimate(sine(hz, 48_000), 960)
            val db = 20 * log10(Pcm.rms(out, 200, out.size - 200) / (10_000.0 / sqrt(2.0)))
            db shouldBeLessThan -55.0
        }
    }

    test("block size does not change the output, and reset forgets the history") {
        val speechLike = ShortArray(5760 * 4) { ((it * 7919) % 20_001 - 10_000).toShort() }
        decimate(speechLike, 960) shouldBe decimate(speechLike, 5760)
        val d = Decimator()
        val out = ShortArray(1920)
        d.process(speechLike, 5760, out)
        d.reset()
        d.process(ShortArray(5760), 5760, out)
        out.all { it == 0.toShort() } shouldBe true
    }
})
