package dev.earshot.voice.codec

import io.github.jaredmdobson.concentus.OpusApplication
import io.github.jaredmdobson.concentus.OpusEncoder
import io.github.jaredmdobson.concentus.OpusException

/**
 * [OpusFrameEncoder] on Concentus, with the settings [ConcentusEncoderFactory] documents.
 *
 * Unlike the decoder (see [ConcentusFrameDecoder]), the encoder runs at the format's own rate: a 16 kHz encoder
 * makes wideband SILK packets, which every decoder (Concentus at 48 kHz included) plays correctly.
 */
internal class ConcentusFrameEncoder(
    override val format: PcmFormat,
    bitrate: Int,
    complexity: Int,
    fec: Boolean,
    expectedLossPercent: Int,
) : OpusFrameEncoder {
    private val encoder = OpusEncoder(format.sampleRate, format.channels, OpusApplication.OPUS_APPLICATION_AUDIO).apply {
        this.bitrate = bitrate
        this.complexity = complexity
        useInbandFEC = fec
        packetLossPercent = expectedLossPercent
    }

    override fun encode(pcm: ShortArray, offset: Int, samplesPerChannel: Int, out: ByteArray): Int {
        require(isFrameLength(samplesPerChannel)) {
            "an Opus frame is 2.5, 5, 10, 20, 40 or 60 ms; $samplesPerChannel samples at ${format.sampleRate} Hz is not"
        }
        val shorts = samplesPerChannel * format.channels
        require(offset >= 0 && offset <= pcm.size - shorts) {
            "pcm[$offset until ${offset + shorts}] is outside an array of ${pcm.size}"
        }
        require(out.size >= MIN_OUT_BYTES) { "out must hold at least $MIN_OUT_BYTES bytes, has ${out.size}" }
        return try {
            encoder.encode(pcm, offset, samplesPerChannel, out, 0, minOf(out.size, MAX_PACKET_BYTES))
        } catch (e: OpusException) {
            // The arguments are checked above, so this is the port refusing something we did not foresee.
            throw IllegalStateException("Concentus could not encode the frame: ${e.message}", e)
        }
    }

    /** Concentus holds no native memory; a native backend releases its encoder here. */
    override fun close() {}

    private fun isFrameLength(samples: Int): Boolean {
        // 2.5 ms is samplesPerFrame / 8; the valid lengths are 1, 2, 4, 8, 16 and 24 times that.
        val unit = format.samplesPerFrame / 8
        if (samples <= 0 || samples % unit != 0) return false
        return when (samples / unit) {
            1, 2, 4, 8, 16, 24 -> true
            else -> false
        }
    }

    private companion object {
        /** A TOC byte and one byte of frame: below this libopus cannot even signal a lost frame. */
        const val MIN_OUT_BYTES = 2

        /** libopus's recommended ceiling for one packet (`max_data_bytes` = 4000 in its documentation). */
        const val MAX_PACKET_BYTES = 4000
    }
}
