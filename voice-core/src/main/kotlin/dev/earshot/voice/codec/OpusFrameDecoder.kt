package dev.earshot.voice.codec

/**
 * A stateful Opus decoder for one SSRC. Not thread-safe.
 *
 * Output is interleaved 16-bit PCM in [format], written to `out` from index 0. `out` should hold
 * [PcmFormat.maxBufferSize] shorts (120 ms); a packet or loss longer than `out` holds is refused with -1.
 * No method throws on malformed network input.
 */
public interface OpusFrameDecoder : AutoCloseable {
    /** The PCM format this decoder produces. */
    public val format: PcmFormat

    /** Decodes one packet; returns samples per channel written to out (from index 0), or -1 if corrupt. */
    public fun decode(packet: ByteArray, offset: Int, length: Int, out: ShortArray): Int

    /**
     * Recovers the *previous, lost* frame from the in-band FEC (LBRR) in [packet] (the packet after the loss);
     * [samples48k] is the lost duration at 48 kHz. Returns samples per channel, or -1. Callers check
     * [OpusPacketInfo.hasLbrr] first; without LBRR data this would only conceal. Decode [packet] itself
     * normally afterwards.
     */
    public fun decodeFec(packet: ByteArray, offset: Int, length: Int, samples48k: Int, out: ShortArray): Int

    /**
     * Packet-loss concealment for a missing frame of [samples48k] (at 48 kHz); returns samples per channel,
     * or -1 if [samples48k] is not a positive multiple of 120 (2.5 ms) up to 5760 (120 ms).
     */
    public fun conceal(samples48k: Int, out: ShortArray): Int

    /** Forget all state (new SSRC or new talk spurt). */
    public fun reset()
}

/** Creates decoders; the seam where a native libopus backend plugs in later. */
public fun interface OpusDecoderFactory {
    /** Returns a new decoder with fresh state that produces [format]. */
    public fun create(format: PcmFormat): OpusFrameDecoder
}

/**
 * The pure-JVM decoder factory, backed by Concentus 1.0.2 (a Java port of libopus).
 *
 * [PcmFormat.STEREO_48K] is decoded directly. [PcmFormat.MONO_16K] is decoded at 48 kHz mono and decimated
 * (flat to 6 kHz, 60 dB down from 8 kHz, 1.25 ms extra delay), because Concentus decodes hybrid SILK+CELT
 * packets to silence when created at 16 kHz (lostromb/concentus#67).
 */
public object ConcentusDecoderFactory : OpusDecoderFactory {
    override fun create(format: PcmFormat): OpusFrameDecoder = ConcentusFrameDecoder(format)
}
