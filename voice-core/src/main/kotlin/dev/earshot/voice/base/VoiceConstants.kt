package dev.earshot.voice.base

/** Discord voice constants shared by every stage; units are in the names. */
public object VoiceConstants {
    /** Opus RTP clock and Discord's decode rate, in Hz. */
    public const val SAMPLE_RATE: Int = 48_000
    /** Channels Discord sends and Earshot decodes by default. */
    public const val CHANNELS: Int = 2
    /** Length of one receive-clock tick and of Discord's usual Opus frame, in milliseconds. */
    public const val FRAME_MS: Int = 20
    /** Samples per channel in a 20 ms frame at 48 kHz; also the RTP timestamp step per frame. */
    public const val SAMPLES_PER_FRAME: Int = 960
    /** Largest Opus packet duration (120 ms) in samples per channel at 48 kHz. */
    public const val MAX_OPUS_FRAME_SAMPLES: Int = 5760
    /** RTP payload type of Opus audio on Discord. */
    public const val RTP_PAYLOAD_TYPE_OPUS: Int = 120
    /** Largest datagram Earshot reads, in bytes; longer ones are truncated and counted malformed. */
    public const val MAX_DATAGRAM: Int = 2048
}
