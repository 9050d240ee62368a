package dev.earshot.voice.audio

import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlin.math.abs
import kotlin.math.roundToLong
import kotlin.random.Random

/**
 * The reference the mixer must match: per input `floor((s * q + 2^15) / 2^16)` with `q = round(gain * 2^16)` (the
 * documented Q16 rule; unity adds `s` itself), summed in a Long, clamped once at the end.
 */
private fun reference(frames: List<ShortArray?>, gains: List<Float?>, size: Int): ShortArray {
    val sum = LongArray(size)
    for ((i, f) in frames.withIndex()) {
        if (f == null) continue
        val g = gains.getOrNull(i) ?: 1f
        val q = if (g.isNaN() || g <= 0f) 0L else (minOf(g, 8f).toDouble() * 65536).roundToLong()
        for (j in 0 until minOf(f.size, size)) sum[j] += Math.floorDiv(f[j] * q + 32768, 65536L)
    }
    return ShortArray(size) { sum[it].coerceIn(-32768L, 32767L).toInt().toShort() }
}

private fun noise(random: Random, size: Int, amplitude: Int = 32768): ShortArray =
    ShortArray(size) { random.nextInt(-amplitude, amplitude).toShort() }

private fun frame(userId: Long?, pcm: ShortArray?) =
    AudioFrame(ssrc = userId ?: 999, userId = userId, tick = 0, sequence = 0, rtpTimestamp = 0, pcm = pcm, opus = null, kind = FrameKind.DECODED)

class PcmMixerSpec : FunSpec({
    val stereo = PcmFormat.STEREO_48K
    val size = 1920

    context("random inputs equal the clamped Long sum") {
        withData(
            nameFn = { (users, gains) -> "$users users, gains ${gains?.toList() ?: "none"}" },
            1 to null,
            2 to null,
            10 to null,
            100 to null,
            3 to floatArrayOf(1f, 0.5f, 2f),
            4 to floatArrayOf(0.3f, 1.7f, 0.001f, 7.9f),
            5 to floatArrayOf(0.25f), // shorter than the inputs: the rest at unity
        ) { (users, gains) ->
            val random = Random(users * 31 + (gains?.size ?: 0))
            val frames = List(users) { noise(random, size) }
            val out = ShortArray(size)
            PcmMixer(stereo).mix(frames, gains, out) shouldBe users
            out shouldBe reference(frames, gains?.toList() ?: emptyList(), size)
        }
    }

    test("clamps at both ends when the sum overflows 16 bits") {
        val loud = List(5) { ShortArray(size) { if (it % 2 == 0) 30_000 else -30_000 } }
        val out = ShortArray(size)
        PcmMixer(stereo).mix(loud, null, out)
        out shouldBe reference(loud, emptyList(), size)
        out[0] shouldBe Short.MAX_VALUE
        out[1] shouldBe Short.MIN_VALUE
        // Extremes of the 16-bit range at the largest gain, many inputs: no wrap-around in the 32-bit sum.
        val extremes = List(300) { ShortArray(size) { if (it % 2 == 0) Short.MIN_VALUE else Short.MAX_VALUE } }
        PcmMixer(stereo).mix(extremes, FloatArray(300) { 8f }, out)
        out[0] shouldBe Short.MIN_VALUE
        out[1] shouldBe Short.MAX_VALUE
    }

    test("opposite signals cancel before the clamp, not after") {
        val a = ShortArray(size) { 30_000 }
        val b = ShortArray(size) { 30_000 }
        val c = ShortArray(size) { -30_000 }
        val out = ShortArray(size)
        PcmMixer(stereo).mix(listOf(a, b, c), null, out)
        out.all { it == 30_000.toShort() } shouldBe true
    }

    test("gain scales each input as the real-valued product does, within rounding") {
        val random = Random(7)
        val frames = List(6) { noise(random, size, 4000) }
        val gains = floatArrayOf(0.1f, 0.5f, 0.9f, 1.3f, 2.5f, 3.7f)
        val out = ShortArray(size)
        PcmMixer(stereo).mix(frames, gains, out)
        for (j in 0 until size) {
            val exact = frames.indices.sumOf { frames[it][j] * gains[it].toDouble() }.coerceIn(-32768.0, 32767.0)
            abs(out[j] - exact).toInt() shouldBeLessThanOrEqual frames.size
        }
    }

    test("zero, negative and NaN gains mute; gains above 8 are capped at 8") {
        val random = Random(3)
        val frames = List(4) { noise(random, size, 2000) }
        val out = ShortArray(size)
        PcmMixer(stereo).mix(frames, floatArrayOf(0f, -1f, Float.NaN, 100f), out) shouldBe 1
        out shouldBe reference(listOf(null, null, null, frames[3]), listOf(null, null, null, 8f), size)
    }

    test("nothing to mix gives silence, overwriting what the buffer held") {
        val mixer = PcmMixer(stereo)
        val out = ShortArray(size) { 123 }
        mixer.mix(emptyList<ShortArray?>(), null, out) shouldBe 0
        out.all { it == 0.toShort() } shouldBe true
        out.fill(55)
        mixer.mix(listOf(null, null), null, out) shouldBe 0
        out.all { it == 0.toShort() } shouldBe true
    }

    test("the accumulator is cleared between calls") {
        val mixer = PcmMixer(stereo)
        val out = ShortArray(size)
        val a = ShortArray(size) { 1000 }
        mixer.mix(listOf(a, a), null, out)
        mixer.mix(listOf(a), null, out)
        out.all { it == 1000.toShort() } shouldBe true
    }

    test("short and long frames contribute what fits, and a small output buffer is refused") {
        val mixer = PcmMixer(PcmFormat.MONO_16K)
        val short = ShortArray(100) { 7 }
        val long = ShortArray(1000) { 5 }
        val out = ShortArray(320)
        mixer.mix(listOf(short, long), null, out)
        out shouldBe reference(listOf(short, long), emptyList(), 320)
        shouldThrow<IllegalArgumentException> { mixer.mix(listOf(short), null, ShortArray(319)) }
    }

    test("policy: excluded users are left out, gains apply per user, unknown users follow their flag") {
        val random = Random(11)
        val pcm = List(4) { noise(random, size) }
        val frames = listOf(frame(1, pcm[0]), frame(2, pcm[1]), frame(3, pcm[2]), frame(null, pcm[3]), frame(4, null))
        val policy = MixPolicy()
        policy.exclude(2)
        policy.setGain(3, 0.5f)
        val out = ShortArray(size)
        val mixer = PcmMixer(stereo)
        mixer.mix(frames, policy, out) shouldBe 3
        out shouldBe reference(listOf(pcm[0], null, pcm[2], pcm[3]), listOf(1f, null, 0.5f, 1f), size)

        policy.include(2)
        policy.gainOf(2) shouldBe 1f
        policy.gainOf(3) shouldBe 0.5f
        mixer.mix(frames, policy, out) shouldBe 4
        out shouldBe reference(pcm, listOf(1f, 1f, 0.5f, 1f), size)

        val onlyListed = MixPolicy(includeByDefault = false)
        onlyListed.include(3)
        onlyListed.isIncluded(1) shouldBe false
        onlyListed.isIncluded(null) shouldBe false
        mixer.mix(frames, onlyListed, out) shouldBe 1
        out shouldBe reference(listOf(null, null, pcm[2]), emptyList(), size)

        onlyListed.reset(3)
        mixer.mix(frames, onlyListed, out) shouldBe 0
        out.all { it == 0.toShort() } shouldBe true
    }
})
