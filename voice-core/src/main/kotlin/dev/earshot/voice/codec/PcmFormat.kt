package dev.earshot.voice.codec

import dev.earshot.voice.base.VoiceConstants

// File-level: an enum's companion is not yet initialised while its entries are constructed.
private const val FRAMES_PER_SECOND = 50
private const val MAX_PACKET_FRAMES = 6

/**
 * A PCM output format of [OpusFrameDecoder]: interleaved signed 16-bit samples at a rate Opus decodes natively.
 *
 * [STEREO_48K] is what Discord sends; [MONO_16K] is the usual input rate of speech recognisers. Opus decodes
 * natively at 8, 12, 16, 24 and 48 kHz, so libopus needs no resampler for either; the Concentus backend
 * still decimates 16 kHz from 48 kHz to work around a Concentus bug (see [ConcentusDecoderFactory]).
 */
public enum class PcmFormat(
    /** Output sample rate in Hz. */
    public val sampleRate: Int,
    /** Interleaved output channels. */
    public val channels: Int,
) {
    /** 48 kHz, 2 channels (left, right). */
    STEREO_48K(48_000, 2),

    /** 16 kHz, 1 channel; a stereo stream is downmixed by the Opus decoder itself. */
    MONO_16K(16_000, 1);

    /** Samples per channel in 20 ms. */
    public val samplesPerFrame: Int = sampleRate / FRAMES_PER_SECOND

    /** Samples per channel in the longest Opus packet (120 ms). */
    public val maxSamplesPerChannel: Int = samplesPerFrame * MAX_PACKET_FRAMES

    /** Length in shorts of an output buffer that holds any packet (120 ms, all channels interleaved). */
    public val maxBufferSize: Int = maxSamplesPerChannel * channels

    /** Converts a duration in samples per channel at 48 kHz (the RTP clock) to samples per channel in this format. */
    public fun samplesFrom48k(samples48k: Int): Int = samples48k / (VoiceConstants.SAMPLE_RATE / sampleRate)
}
