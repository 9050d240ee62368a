package dev.earshot.voice.audio

import kotlin.math.roundToInt

/** Fixed-point gain shared by [PcmMixer] and [MixPolicy]: Q16, so 1.0 is 65536. */
internal object Gain {
    const val UNITY_Q16: Int = 1 shl 16

    /** Largest gain applied; bounds one input's contribution to 2^18 so 8192 inputs cannot overflow an Int. */
    const val MAX: Float = 8f

    /** [gain] in Q16, rounded; NaN and values at or below 0 mute, values above [MAX] are capped. */
    fun toQ16(gain: Float): Int = when {
        gain.isNaN() || gain <= 0f -> 0
        gain >= MAX -> (MAX * UNITY_Q16).toInt()
        else -> (gain * UNITY_Q16).roundToInt()
    }
}
