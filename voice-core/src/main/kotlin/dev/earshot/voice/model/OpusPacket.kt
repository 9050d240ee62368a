package dev.earshot.voice.model

/**
 * One received Opus packet after transport (and end-to-end) decryption, as sent by the speaker.
 *
 * @property ssrc the sender's RTP SSRC.
 * @property userId the Discord user id when known, else null.
 * @property sequence RTP sequence number (16-bit).
 * @property rtpTimestamp RTP timestamp (32-bit, 48 kHz clock).
 * @property opus the Opus packet bytes (a private copy; do not modify).
 * @property samples duration in samples per channel at 48 kHz (960 for 20 ms), from the packet's TOC.
 */
public class OpusPacket(
    public val ssrc: Long,
    public val userId: Long?,
    public val sequence: Int,
    public val rtpTimestamp: Long,
    public val opus: ByteArray,
    public val samples: Int,
) {
    /** Whether this is the 3-byte Opus silence frame `F8 FF FE`. */
    public val isSilence: Boolean
        get() = opus.size == 3 && opus[0] == 0xF8.toByte() && opus[1] == 0xFF.toByte() && opus[2] == 0xFE.toByte()

    override fun toString(): String = "OpusPacket(ssrc=$ssrc, user=$userId, seq=$sequence, ts=$rtpTimestamp, bytes=${opus.size})"
}
