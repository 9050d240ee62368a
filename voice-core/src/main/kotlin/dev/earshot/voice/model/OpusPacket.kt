package dev.earshot.voice.model

/**
 * One received Opus packet after transport (and end-to-end) decryption, as sent by the speaker.
 *
 * @property ssrc the sender's RTP SSRC.
 * @property userId the Discord user id when known, else null.
 * @property sequence RTP sequence number (16-bit) of the tick's first packet.
 * @property rtpTimestamp RTP timestamp (32-bit, 48 kHz clock) of the tick's first packet.
 * @property tick the receive-clock tick in which the packet started playing.
 * @property opus the Opus packet bytes (shared with the [AudioFrame] it came from; do not modify).
 */
public class OpusPacket(
    public val ssrc: Long,
    public val userId: Long?,
    public val sequence: Int,
    public val rtpTimestamp: Long,
    public val tick: Long,
    public val opus: ByteArray,
) {
    /** Whether this is the 3-byte Opus silence frame `F8 FF FE`. */
    public val isSilence: Boolean
        // Compared here rather than through codec/OpusPacketInfo, so that the model depends on no codec.
        get() = opus.size == 3 && opus[0] == 0xF8.toByte() && opus[1] == 0xFF.toByte() && opus[2] == 0xFE.toByte()

    override fun toString(): String = "OpusPacket(ssrc=$ssrc, user=$userId, seq=$sequence, ts=$rtpTimestamp, bytes=${opus.size})"

    public companion object {
        /** The Opus packets of [frame], in order (none for a concealed or missing slot). */
        public fun of(frame: AudioFrame): List<OpusPacket> {
            val first = frame.opus ?: return emptyList()
            val all = listOf(first) + frame.extraOpus
            return all.map { OpusPacket(frame.ssrc, frame.userId, frame.sequence, frame.rtpTimestamp, frame.tick, it) }
        }
    }
}
