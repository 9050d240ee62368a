package dev.earshot.voice.javaapi;

/**
 * What audio a receiver decodes to, or a sink wants: interleaved signed 16-bit PCM in one of two formats, or the
 * Opus packets only. Frames are 20 ms.
 */
public enum AudioFormat {
    /** 48 kHz, 2 channels: what Discord sends (1920 shorts per 20 ms frame). The default. */
    STEREO_48K(48_000, 2),
    /** 16 kHz, 1 channel: the usual input of speech recognisers (320 shorts per 20 ms frame). */
    MONO_16K(16_000, 1),
    /** No decoding: frames carry the Opus packets only and {@link VoiceFrame#pcm()} is null. */
    OPUS_ONLY(0, 0);

    private final int sampleRate;
    private final int channels;

    AudioFormat(int sampleRate, int channels) {
        this.sampleRate = sampleRate;
        this.channels = channels;
    }

    /** Sample rate in Hz; 0 for {@link #OPUS_ONLY}. */
    public int sampleRate() {
        return sampleRate;
    }

    /** Interleaved channels; 0 for {@link #OPUS_ONLY}. */
    public int channels() {
        return channels;
    }

    /** Shorts in one 20 ms frame (all channels); 0 for {@link #OPUS_ONLY}. */
    public int shortsPerFrame() {
        return sampleRate / 50 * channels;
    }
}
