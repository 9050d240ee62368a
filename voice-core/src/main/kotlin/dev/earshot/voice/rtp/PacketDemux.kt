package dev.earshot.voice.rtp

import dev.earshot.voice.base.VoiceConstants

/*
 * What can land on a Discord voice UDP socket (docs/protocol.md sections 3.1-3.3, 8):
 *
 *   IP discovery response, 74 bytes:  00 02 | 00 46 | SSRC (4) | address, NUL-padded (64) | port (2)
 *   keepalive echo, 8 bytes:          uint32 LE counter + 4 zero bytes (discord.js), or uint64 BE counter (discord.py)
 *   UDP ping, 8 bytes:                13 37 CA FE (request) or 13 37 F0 0D (response) + uint32 sequence
 *   JDA keepalive, 9 bytes:           C9 00 00 00 00 00 00 00 00
 *   RTCP (RFC 5761):                  version 2, second byte 192..223 (the whole byte: no marker bit in RTCP)
 *   RTP:                              version 2, second byte = M | PT; Opus audio is PT 120
 */

private const val DISCOVERY_LENGTH = 74
private const val DISCOVERY_RESPONSE_TYPE = 0x0002
private const val DISCOVERY_BODY_LENGTH = 70
private const val PING_LENGTH = 8
private const val PING_REQUEST = 0x1337CAFEL
private const val PING_RESPONSE = 0x1337F00DL
private const val JDA_KEEPALIVE_LENGTH = 9
private const val JDA_KEEPALIVE_FIRST = 0xC9
private const val RTCP_TYPE_MIN = 192
private const val RTCP_TYPE_MAX = 223
private const val RTCP_MIN_LENGTH = 8 // header + sender SSRC: also the cleartext AAD of rtpsize RTCP

/** What a datagram received on the voice UDP socket is, as decided by [PacketDemux.classify]. */
public enum class PacketKind {
    /** RTP with payload type 120 (Opus) and at least one byte after the fixed header. */
    RTP_AUDIO,

    /** RTP with another payload type (video, probes with PT 96, ...), at least 12 bytes. */
    RTP_OTHER,

    /** RTCP: version 2 and a second byte of 192..223 (RFC 5761), at least 8 bytes. */
    RTCP,

    /** The 74-byte IP discovery response (type 0x0002, length 70). */
    IP_DISCOVERY,

    /** A keepalive echo or UDP ping (the 8-byte counter and 0x1337CAFE/0x1337F00D forms, JDA's 9-byte form). */
    KEEPALIVE,

    /** Anything else, including empty datagrams, wrong versions and headers cut short. */
    MALFORMED,
}

/**
 * Sorts datagrams from the voice UDP socket by looking at their first bytes only; allocation-free, never throws.
 *
 * It is the cheap first cut of the receive path: it does not validate CSRC or extension lengths (that is
 * [RtpView.wrap]'s job) and cannot tell whether a packet will decrypt.
 */
public object PacketDemux {
    /** Classifies the datagram at `buf[offset until offset + length]`; a range outside [buf] is [PacketKind.MALFORMED]. */
    public fun classify(buf: ByteArray, offset: Int, length: Int): PacketKind {
        if (!Wire.inBounds(buf, offset, length) || length == 0) return PacketKind.MALFORMED
        when (length) {
            DISCOVERY_LENGTH -> if (isDiscoveryResponse(buf, offset)) return PacketKind.IP_DISCOVERY
            PING_LENGTH -> if (isEightByteKeepalive(buf, offset)) return PacketKind.KEEPALIVE
            JDA_KEEPALIVE_LENGTH -> if (isJdaKeepalive(buf, offset)) return PacketKind.KEEPALIVE
        }
        if (Wire.u8(buf, offset) ushr 6 != RtpView.VERSION || length < 2) return PacketKind.MALFORMED
        val second = Wire.u8(buf, offset + 1)
        if (second in RTCP_TYPE_MIN..RTCP_TYPE_MAX) {
            return if (length >= RTCP_MIN_LENGTH) PacketKind.RTCP else PacketKind.MALFORMED
        }
        if (length < RtpView.FIXED_HEADER_LENGTH) return PacketKind.MALFORMED
        return if (second and 0x7F == VoiceConstants.RTP_PAYLOAD_TYPE_OPUS) {
            // A bare 12-byte header cannot carry audio (nor, encrypted, an AEAD tag).
            if (length > RtpView.FIXED_HEADER_LENGTH) PacketKind.RTP_AUDIO else PacketKind.MALFORMED
        } else {
            PacketKind.RTP_OTHER
        }
    }

    private fun isDiscoveryResponse(buf: ByteArray, offset: Int): Boolean =
        Wire.u16(buf, offset) == DISCOVERY_RESPONSE_TYPE && Wire.u16(buf, offset + 2) == DISCOVERY_BODY_LENGTH

    private fun isEightByteKeepalive(buf: ByteArray, offset: Int): Boolean {
        val head = Wire.u32(buf, offset)
        val tail = Wire.u32(buf, offset + 4)
        // Ping magic; a little-endian uint32 counter (tail zero); or a big-endian uint64 counter below 2^32 (head zero).
        return head == PING_REQUEST || head == PING_RESPONSE || tail == 0L || head == 0L
    }

    private fun isJdaKeepalive(buf: ByteArray, offset: Int): Boolean {
        if (Wire.u8(buf, offset) != JDA_KEEPALIVE_FIRST) return false
        for (i in 1 until JDA_KEEPALIVE_LENGTH) if (buf[offset + i].toInt() != 0) return false
        return true
    }
}
