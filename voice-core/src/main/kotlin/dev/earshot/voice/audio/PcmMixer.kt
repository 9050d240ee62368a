package dev.earshot.voice.audio

import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.AudioFrame

/**
 * A mixer that sums one tick of several speakers' PCM into one frame of [format]: 32-bit accumulation, per-input
 * gain in Q16 fixed point (so the result is the same on every machine), and a clamp to the 16-bit range at the end.
 * Not thread-safe; allocation-free per call (the accumulator is reused).
 *
 * An input contributes `round(sample * gainQ16 / 65536)` per sample, where `gainQ16 = round(gain * 65536)` (unity
 * adds the sample unchanged); gains at or below 0 or NaN mute the input, gains above 8.0 are capped at 8.0. A frame
 * shorter than one tick contributes the samples it has, a longer one its first tick. At most [MAX_INPUTS] inputs
 * are mixed per call (further ones are ignored), which keeps the 32-bit sum from overflowing.
 */
public class PcmMixer(public val format: PcmFormat) {
    /** Interleaved shorts in one output frame (20 ms, all channels). */
    public val frameSize: Int = format.samplesPerFrame * format.channels

    private val acc = IntArray(frameSize)

    /**
     * Mixes [frames] (null entries contribute nothing), each scaled by the gain at the same index of [gains]
     * (1.0 when [gains] is null or shorter), into `out[0 until frameSize]`; all zeros when nothing contributes.
     * Returns how many frames were mixed.
     */
    public fun mix(frames: List<ShortArray?>, gains: FloatArray?, out: ShortArray): Int {
        requireOut(out)
        acc.fill(0)
        var mixed = 0
        for (i in frames.indices) {
            if (mixed == MAX_INPUTS) break
            val pcm = frames[i] ?: continue
            val gain = if (gains != null && i < gains.size) Gain.toQ16(gains[i]) else Gain.UNITY_Q16
            if (add(pcm, gain)) mixed++
        }
        return finish(out, mixed)
    }

    /**
     * Mixes the PCM of [frames] (one tick of one receiver, as in `VoiceTick.speaking`) into `out[0 until
     * frameSize]`, taking each user's inclusion and gain from [policy]; frames without PCM contribute nothing.
     * Returns how many frames were mixed.
     */
    public fun mix(frames: List<AudioFrame>, policy: MixPolicy, out: ShortArray): Int {
        requireOut(out)
        acc.fill(0)
        var mixed = 0
        for (i in frames.indices) {
            if (mixed == MAX_INPUTS) break
            val frame = frames[i]
            val pcm = frame.pcm ?: continue
            if (add(pcm, policy.gainQ16(frame.userId))) mixed++
        }
        return finish(out, mixed)
    }

    private fun requireOut(out: ShortArray) {
        require(out.size >= frameSize) { "output buffer holds ${out.size} shorts, a $format frame needs $frameSize" }
    }

    /** Adds [pcm] scaled by [gainQ16]; false when the gain mutes it. */
    private fun add(pcm: ShortArray, gainQ16: Int): Boolean {
        if (gainQ16 == 0) return false
        val n = minOf(pcm.size, frameSize)
        if (gainQ16 == Gain.UNITY_Q16) {
            for (i in 0 until n) acc[i] += pcm[i]
        } else if (gainQ16 < Gain.UNITY_Q16) {
            // Attenuation: the product stays within 32 bits, so Int arithmetic gives the same result faster.
            for (i in 0 until n) acc[i] += (pcm[i] * gainQ16 + HALF.toInt()) shr 16
        } else {
            // Amplification needs up to 35 bits for the product; the shifted result fits an Int again.
            for (i in 0 until n) acc[i] += ((pcm[i] * gainQ16.toLong() + HALF) shr 16).toInt()
        }
        return true
    }

    private fun finish(out: ShortArray, mixed: Int): Int {
        if (mixed == 0) {
            out.fill(0, 0, frameSize)
            return 0
        }
        for (i in 0 until frameSize) {
            val s = acc[i]
            out[i] = (if (s > Short.MAX_VALUE) Short.MAX_VALUE.toInt() else if (s < Short.MIN_VALUE) Short.MIN_VALUE.toInt() else s).toShort()
        }
        return mixed
    }

    public companion object {
        /** Most inputs mixed in one call: 8192 inputs at the largest gain still fit the 32-bit sum. */
        public const val MAX_INPUTS: Int = 8192
        private const val HALF = 1L shl 15
    }
}
