package dev.earshot.voice.testkit.internal

import io.github.jaredmdobson.concentus.OpusApplication
import io.github.jaredmdobson.concentus.OpusEncoder
import kotlin.math.PI
import kotlin.math.roundToInt
import kotlin.math.sin

/** Encodes a continuous sine into 20 ms 48 kHz stereo Opus packets with Concentus. Not thread-safe. */
internal class ToneEncoder(private val frequencyHz: Double, amplitude: Double) {
    private val encoder = OpusEncoder(SAMPLE_RATE, CHANNELS, OpusApplication.OPUS_APPLICATION_AUDIO).apply {
        bitrate = BITRATE
    }
    private val peak = amplitude * Short.MAX_VALUE
    private val pcm = ShortArray(FRAME_SAMPLES * CHANNELS)
    private val out = ByteArray(MAX_PACKET)
    private var sampleIndex = 0L

    /** The next 20 ms packet. */
    fun next(): ByteArray {
        for (i in 0 until FRAME_SAMPLES) {
            // The phase is computed from the absolute sample index so frames join without clicks.
            val v = (peak * sin(2 * PI * frequencyHz * (sampleIndex + i) / SAMPLE_RATE)).roundToInt().toShort()
            pcm[2 * i] = v
            pcm[2 * i + 1] = v
        }
        sampleIndex += FRAME_SAMPLES
        val n = encoder.encode(pcm, 0, FRAME_SAMPLES, out, 0, out.size)
        return out.copyOf(n)
    }

    companion object {
        const val SAMPLE_RATE = 48_000
        const val CHANNELS = 2
        const val FRAME_SAMPLES = 960
        const val BITRATE = 64_000
        const val MAX_PACKET = 1275
    }
}
