package dev.earshot.voice.codec

/**
 * A stateful Opus encoder for one outgoing stream. Not thread-safe.
 *
 * Input is interleaved 16-bit PCM in [format]. Each call encodes one Opus packet of one frame; the sending side
 * uses 20 ms ([PcmFormat.samplesPerFrame] samples per channel), Discord's frame length.
 */
public interface OpusFrameEncoder : AutoCloseable {
    /** The PCM format this encoder takes. */
    public val format: PcmFormat

    /**
     * Encodes `samplesPerChannel` samples per channel of interleaved PCM starting at `pcm[offset]` into one Opus
     * packet written to [out] from index 0, and returns its length in bytes. [samplesPerChannel] must be an Opus
     * frame length in [format] (2.5, 5, 10, 20, 40 or 60 ms). An [out] of 1276 bytes holds any 20 ms packet; a
     * smaller one makes the encoder lower the bitrate of this packet to fit.
     *
     * @throws IllegalArgumentException for a frame length Opus does not have, a range outside [pcm], or an [out]
     *   too small for any packet.
     */
    public fun encode(pcm: ShortArray, offset: Int, samplesPerChannel: Int, out: ByteArray): Int
}

/** Creates encoders; the seam where a native libopus backend plugs in later. */
public fun interface OpusEncoderFactory {
    /** Returns a new encoder with fresh state that takes [format]. */
    public fun create(format: PcmFormat): OpusFrameEncoder
}

/**
 * The pure-JVM encoder factory, backed by Concentus 1.0.2 (a fixed-point Java port of libopus 1.1.2).
 *
 * Settings: application `AUDIO` (full band, music as well as speech), [DEFAULT_BITRATE] (64 kb/s, variable),
 * in-band FEC on with [DEFAULT_EXPECTED_LOSS_PERCENT] (10 %) expected loss so that receivers can rebuild a lost
 * packet from the next one's low-bitrate copy (with FEC on and that much loss, libopus keeps to SILK or hybrid
 * mode, since CELT-only packets carry no LBRR), and complexity [DEFAULT_COMPLEXITY] (5 of 0..10). Concentus
 * costs several times what native libopus does; on the speech test data complexity 5 took about half the CPU of
 * 10 (best of 25 runs on a loaded 2-core build machine: 0.5 against 1.2 ms per 20 ms stereo frame) for the same SNR. Use [configured]
 * for other settings.
 */
public object ConcentusEncoderFactory : OpusEncoderFactory {
    /** Default bitrate in bits per second (64 kb/s, variable). */
    public const val DEFAULT_BITRATE: Int = 64_000

    /** Default encoder complexity on libopus's scale of 0 (fastest) to 10 (best). */
    public const val DEFAULT_COMPLEXITY: Int = 5

    /** Default expected packet loss in percent, which sets how much in-band FEC the encoder adds. */
    public const val DEFAULT_EXPECTED_LOSS_PERCENT: Int = 10

    override fun create(format: PcmFormat): OpusFrameEncoder =
        ConcentusFrameEncoder(format, DEFAULT_BITRATE, DEFAULT_COMPLEXITY, fec = true, DEFAULT_EXPECTED_LOSS_PERCENT)

    /**
     * A factory with other settings: [bitrate] in bits per second (6 000 to 510 000), [complexity] 0 to 10,
     * [inbandFec] on or off, and [expectedLossPercent] 0 to 100 (FEC needs more than about 8 % to be used on
     * every kind of signal).
     * @throws IllegalArgumentException for a value out of range.
     */
    public fun configured(
        bitrate: Int = DEFAULT_BITRATE,
        complexity: Int = DEFAULT_COMPLEXITY,
        inbandFec: Boolean = true,
        expectedLossPercent: Int = DEFAULT_EXPECTED_LOSS_PERCENT,
    ): OpusEncoderFactory {
        require(bitrate in MIN_BITRATE..MAX_BITRATE) { "bitrate must be in $MIN_BITRATE..$MAX_BITRATE, was $bitrate" }
        require(complexity in 0..10) { "complexity must be in 0..10, was $complexity" }
        require(expectedLossPercent in 0..100) { "expectedLossPercent must be in 0..100, was $expectedLossPercent" }
        return OpusEncoderFactory { format ->
            ConcentusFrameEncoder(format, bitrate, complexity, inbandFec, expectedLossPercent)
        }
    }

    // libopus's OPUS_SET_BITRATE range.
    private const val MIN_BITRATE = 6_000
    private const val MAX_BITRATE = 510_000
}
