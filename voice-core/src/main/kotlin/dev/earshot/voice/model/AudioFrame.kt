package dev.earshot.voice.model

/** How the audio of an [AudioFrame] came to be. */
public enum class FrameKind {
    /** Decoded from a received packet (or, without decoding, the packet itself). */
    DECODED,
    /** The packet was lost or late; Opus packet-loss concealment filled the slot. */
    CONCEALED,
    /** The packet was lost and rebuilt from the in-band FEC of the packet after it. */
    FEC_RECOVERED,
    /** The packet was lost and decoding is off, so nothing fills the slot ([AudioFrame.pcm] is null). */
    MISSING,
    /** Generated silence filling a tick in which the speaker said nothing, so that an aligned track stays continuous. */
    SILENCE,
}

/**
 * One speaker's 20 ms of audio in one receive-clock tick. Its fields never change once it is built, but it is not
 * deeply immutable: [pcm], [opus] and [extraOpus]'s arrays are handed out as they are, without a copy per collector
 * (a copy per frame and collector would cost more than the rest of the fan-out). They are the frame's own (the
 * pipeline never reuses them) and every flow, sink and collector of the tick sees the same arrays, so treat them as
 * read-only and copy before changing one (`pcm.copyOf()`); a sink that modifies one changes it for all others.
 *
 * @property ssrc the RTP synchronisation source (unsigned 32-bit, held in a Long).
 * @property userId the Discord user id when known, else null.
 * @property tick index of the receive-clock tick this frame belongs to (20 ms per tick from the receiver's start).
 * @property sequence RTP sequence number (16-bit) of the packet that produced this audio, or of the lost packet.
 * @property rtpTimestamp RTP timestamp (32-bit, 48 kHz) of the first sample of this frame; the frame keeps the low 32
 *   bits of the value it is built with (0 to 2^32 - 1).
 * @property pcm interleaved 16-bit PCM in the receiver's decode format (one tick's worth), or null when decoding is off.
 * @property opus the Opus packet whose playout starts in this tick, exactly as sent (after decryption); null for a
 *   concealed or missing slot and for the later ticks of a 40 or 60 ms packet.
 * @property extraOpus further packets starting in this tick, in order; empty unless the sender uses packets shorter
 *   than 20 ms.
 * @property kind whether the audio was decoded, concealed or recovered by FEC.
 * @property audioLevel RFC 6464 audio level of the packet (0 loudest .. 127 silent, bit 7 = voice activity), or -1.
 * @property speakerFlags Discord's speaker header extension (0x01 priority, 0x02 voice, 0x04 soundshare), or -1.
 */
public class AudioFrame(
    public val ssrc: Long,
    public val userId: Long?,
    public val tick: Long,
    public val sequence: Int,
    rtpTimestamp: Long,
    public val pcm: ShortArray?,
    public val opus: ByteArray?,
    public val kind: FrameKind,
    public val audioLevel: Int = -1,
    public val speakerFlags: Int = -1,
    public val extraOpus: List<ByteArray> = emptyList(),
) {
    // 32 bits by definition (RFC 3550 §5.1); an Int field keeps the frame at 64 bytes instead of 72, and the pipeline
    // makes one frame per speaker and tick.
    private val rtpTimestamp32: Int = rtpTimestamp.toInt()

    public val rtpTimestamp: Long get() = rtpTimestamp32.toLong() and 0xFFFF_FFFFL

    override fun toString(): String =
        "AudioFrame(ssrc=$ssrc, user=$userId, tick=$tick, seq=$sequence, ts=$rtpTimestamp, kind=$kind, " +
            "pcm=${pcm?.size ?: "none"}, opus=${opus?.size ?: "none"})"
}
