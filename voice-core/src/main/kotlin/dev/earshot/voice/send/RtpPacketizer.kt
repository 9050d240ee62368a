package dev.earshot.voice.send

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.rtp.HeaderExtensions
import dev.earshot.voice.rtp.RtpWriter
import kotlin.random.Random

/**
 * Builds Discord voice datagrams from Opus frames: the RTP header (payload type 120), optional RFC 8285 one-byte
 * header-extension elements, and transport encryption in the rtpsize layout (header and extension preamble in the
 * clear as AAD; elements, payload, tag and the 4-byte nonce counter after it). Sequence, timestamp and nonce advance
 * with every packet and wrap. Used by the sending side and by tests that play the part of Discord. Not thread-safe.
 *
 * @param ssrc our SSRC (from Ready).
 * @param cipher the session's transport cipher.
 * @param sequence first RTP sequence number (random by default, as RFC 3550 asks).
 * @param timestamp first RTP timestamp (random by default).
 * @param nonce first nonce counter value (random by default).
 */
public class RtpPacketizer(
    public val ssrc: Long,
    private val cipher: TransportCipher,
    sequence: Int = Random.nextInt(0, 0x10000),
    timestamp: Long = Random.nextLong(0, 0x1_0000_0000L),
    nonce: Int = Random.nextInt(),
) {
    /** The sequence number of the next packet (16-bit). */
    public var sequence: Int = sequence and 0xFFFF
        private set
    /** The RTP timestamp of the next packet (32-bit). */
    public var timestamp: Long = timestamp and 0xFFFF_FFFFL
        private set
    /** The nonce counter of the next packet. */
    public var nonce: Int = nonce
        private set

    private val header = ByteArray(HEADER_MAX)
    private val plain = ByteArray(VoiceConstants.MAX_DATAGRAM)

    /**
     * Writes the datagram for one Opus frame of [samples] 48 kHz samples per channel into [out] and returns its length.
     * [extensionElements] are one-byte-form element bytes (a multiple of 4 long), or null for no extension.
     */
    public fun packetize(
        opus: ByteArray,
        offset: Int = 0,
        length: Int = opus.size,
        out: ByteArray,
        samples: Int = VoiceConstants.SAMPLES_PER_FRAME,
        extensionElements: ByteArray? = null,
        marker: Boolean = false,
    ): Int {
        val extWords = if (extensionElements == null) 0 else {
            require(extensionElements.size % 4 == 0) { "extension elements must be padded to 32-bit words" }
            extensionElements.size / 4
        }
        val headerLength = RtpWriter.writeHeader(
            header, 0, sequence, timestamp, ssrc, marker,
            extensionProfile = if (extensionElements == null) -1 else HeaderExtensions.PROFILE_ONE_BYTE,
            extensionLengthWords = extWords,
        )
        var plainLength = 0
        if (extensionElements != null) {
            extensionElements.copyInto(plain, 0)
            plainLength = extensionElements.size
        }
        opus.copyInto(plain, plainLength, offset, offset + length)
        plainLength += length
        val n = cipher.encrypt(header, 0, headerLength, plain, 0, plainLength, nonce, out, 0)
        sequence = (sequence + 1) and 0xFFFF
        timestamp = (timestamp + samples) and 0xFFFF_FFFFL
        nonce++
        return n
    }

    /** Moves the timestamp on without sending, as a sender does across a pause. */
    public fun skip(samples: Int) {
        timestamp = (timestamp + samples) and 0xFFFF_FFFFL
    }

    private companion object {
        // 12 fixed + 15 CSRCs + extension preamble.
        const val HEADER_MAX = 12 + 15 * 4 + 4
    }
}
