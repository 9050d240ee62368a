package dev.earshot.voice.rtp

import dev.earshot.voice.model.ReportBlock
import dev.earshot.voice.model.RtcpPacket
import dev.earshot.voice.model.SdesChunk
import dev.earshot.voice.model.SdesItem

/*
 * RTCP common header (RFC 3550 section 6.4); every packet in a compound datagram starts with it:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |V=2|P|  count  |      PT       |      length (words - 1)       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * "count" is RC (reports), SC (sources), subtype (APP) or FMT (feedback) depending on PT.
 *
 * SR (200): SSRC, NTP timestamp (64), RTP timestamp, packet count, octet count (24 bytes), then RC report blocks,
 *           then an optional profile-specific extension.
 * RR (201): SSRC, then RC report blocks, then an optional profile-specific extension.
 * Report block (24 bytes):
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 SSRC_n (source identifier)                    |
 *   | fraction lost |       cumulative number of packets lost       |  (signed 24-bit)
 *   |           extended highest sequence number received           |
 *   |                      interarrival jitter                      |
 *   |                         last SR (LSR)                         |
 *   |                   delay since last SR (DLSR)                  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * SDES (202): SC chunks; chunk = SSRC/CSRC, items (type 8 bits, length 8 bits, text), a 0 type ends the list,
 *             then zero bytes up to the next 32-bit boundary.
 * BYE (203):  SC SSRC/CSRCs, then optionally a reason (length 8 bits, text), padded to 32 bits.
 * APP (204):  SSRC, 4-character name, application data.
 * RTPFB (205) / PSFB (206), RFC 4585: sender SSRC, media SSRC, feedback control information (FCI).
 */

private const val HEADER_SIZE = 4
private const val VERSION_SHIFT = 6
private const val PADDING_BIT = 0x20
private const val COUNT_MASK = 0x1F
private const val OFF_TYPE = 1
private const val OFF_LENGTH = 2
private const val WORD = 4
private const val SENDER_INFO_SIZE = 24 // SSRC + NTP(8) + RTP ts + packets + octets
private const val REPORT_BLOCK_SIZE = 24
private const val SDES_END = 0

/** Why an RTCP datagram was rejected; carried by [RtcpParseResult.Malformed]. */
public enum class RtcpError {
    /** `offset`/`length` do not describe a range inside the buffer. */
    OUT_OF_BOUNDS,

    /** The datagram is empty, or fewer than 4 bytes remain where a packet header should start (trailing garbage). */
    TRUNCATED_HEADER,

    /** A packet's version field is not 2. */
    BAD_VERSION,

    /** A packet's length field points past the end of the datagram. */
    LENGTH_OVERRUN,

    /** P is set but the padding count is 0 or longer than the packet body. */
    BAD_PADDING,

    /** SR/RR: the sender info or the RC report blocks do not fit in the packet. */
    REPORT_OVERRUN,

    /** SDES: a chunk or item runs past the packet, or fewer chunks than SC are present. */
    BAD_SDES,

    /** BYE: the SC sources or the reason run past the packet. */
    BAD_BYE,

    /** APP: shorter than SSRC + name. */
    BAD_APP,

    /** RTPFB/PSFB: shorter than the two SSRCs. */
    BAD_FEEDBACK,
}

/** The outcome of [RtcpParser.parse]. */
public sealed class RtcpParseResult {
    /** Every byte of the datagram formed well-formed packets, listed in wire order. */
    public data class Ok(
        /** The packets, at least one. */
        val packets: List<RtcpPacket>,
    ) : RtcpParseResult()

    /**
     * Something in the datagram is not well formed. [parsed] holds the packets that were complete and valid before
     * the problem, so a caller may still use them (a partial parse); [offset] is where the bad packet starts,
     * relative to the start of the datagram.
     */
    public data class Malformed(
        /** What was wrong. */
        val reason: RtcpError,
        /** Offset of the offending packet (or of the trailing bytes) from the datagram start. */
        val offset: Int,
        /** Packets parsed before the problem, possibly empty. */
        val parsed: List<RtcpPacket>,
    ) : RtcpParseResult()
}

/**
 * Parses RTCP compound datagrams (RFC 3550; RFC 4585 feedback kept undecoded) that are already decrypted.
 *
 * For Discord's `*_rtpsize` modes, pass the 8 cleartext header bytes followed by the decrypted rest, tag and nonce
 * removed. Every length field is checked against the datagram before use; the parser never throws. It does not
 * enforce the RFC 3550 compound rules (first packet SR/RR, SDES CNAME present), because reduced-size RTCP (RFC 5506)
 * and Discord's lone receiver reports break them. Padding (P) is accepted on any packet as long as its count is sane.
 * Trailing bytes that do not form a packet make the result [RtcpParseResult.Malformed], keeping what came before.
 */
public object RtcpParser {
    /** Parses the datagram at `buf[offset until offset + length]`. */
    public fun parse(buf: ByteArray, offset: Int, length: Int): RtcpParseResult {
        if (!Wire.inBounds(buf, offset, length)) return RtcpParseResult.Malformed(RtcpError.OUT_OF_BOUNDS, 0, emptyList())
        val packets = ArrayList<RtcpPacket>(2)
        val end = offset + length
        var pos = offset
        do {
            val at = pos - offset
            if (end - pos < HEADER_SIZE) return malformed(RtcpError.TRUNCATED_HEADER, at, packets)
            val first = Wire.u8(buf, pos)
            if (first ushr VERSION_SHIFT != RtpView.VERSION) return malformed(RtcpError.BAD_VERSION, at, packets)
            val count = first and COUNT_MASK
            val type = Wire.u8(buf, pos + OFF_TYPE)
            val size = (Wire.u16(buf, pos + OFF_LENGTH) + 1) * WORD
            if (size > end - pos) return malformed(RtcpError.LENGTH_OVERRUN, at, packets)
            var bodyEnd = pos + size
            if (first and PADDING_BIT != 0) {
                val pad = Wire.u8(buf, bodyEnd - 1)
                if (pad == 0 || pad > size - HEADER_SIZE) return malformed(RtcpError.BAD_PADDING, at, packets)
                bodyEnd -= pad
            }
            val packet = parseBody(type, count, buf, pos + HEADER_SIZE, bodyEnd)
                ?: return malformed(errorFor(type), at, packets)
            packets.add(packet)
            pos += size
        } while (pos < end)
        return RtcpParseResult.Ok(packets)
    }

    private fun malformed(reason: RtcpError, at: Int, packets: List<RtcpPacket>): RtcpParseResult =
        RtcpParseResult.Malformed(reason, at, packets)

    private fun errorFor(type: Int): RtcpError = when (type) {
        RtcpPacket.TYPE_SR, RtcpPacket.TYPE_RR -> RtcpError.REPORT_OVERRUN
        RtcpPacket.TYPE_SDES -> RtcpError.BAD_SDES
        RtcpPacket.TYPE_BYE -> RtcpError.BAD_BYE
        RtcpPacket.TYPE_APP -> RtcpError.BAD_APP
        else -> RtcpError.BAD_FEEDBACK
    }

    /** Parses one packet body `buf[start until end]` (header and padding excluded); null when it does not fit. */
    private fun parseBody(type: Int, count: Int, buf: ByteArray, start: Int, end: Int): RtcpPacket? = when (type) {
        RtcpPacket.TYPE_SR -> senderReport(count, buf, start, end)
        RtcpPacket.TYPE_RR -> receiverReport(count, buf, start, end)
        RtcpPacket.TYPE_SDES -> sourceDescription(count, buf, start, end)
        RtcpPacket.TYPE_BYE -> goodbye(count, buf, start, end)
        RtcpPacket.TYPE_APP -> app(count, buf, start, end)
        RtcpPacket.TYPE_RTPFB, RtcpPacket.TYPE_PSFB -> feedback(type, count, buf, start, end)
        else -> RtcpPacket.Unknown(type, count, buf.copyOfRange(start, end))
    }

    private fun senderReport(count: Int, buf: ByteArray, start: Int, end: Int): RtcpPacket? {
        val blocksStart = start + SENDER_INFO_SIZE
        if (SENDER_INFO_SIZE + count * REPORT_BLOCK_SIZE > end - start) return null
        val ntp = (Wire.u32(buf, start + 4) shl 32) or Wire.u32(buf, start + 8)
        return RtcpPacket.SenderReport(
            ssrc = Wire.u32(buf, start),
            ntpTimestamp = ntp,
            rtpTimestamp = Wire.u32(buf, start + 12),
            packetCount = Wire.u32(buf, start + 16),
            octetCount = Wire.u32(buf, start + 20),
            reports = reportBlocks(count, buf, blocksStart),
            extension = buf.copyOfRange(blocksStart + count * REPORT_BLOCK_SIZE, end),
        )
    }

    private fun receiverReport(count: Int, buf: ByteArray, start: Int, end: Int): RtcpPacket? {
        val blocksStart = start + 4
        if (4 + count * REPORT_BLOCK_SIZE > end - start) return null
        return RtcpPacket.ReceiverReport(
            ssrc = Wire.u32(buf, start),
            reports = reportBlocks(count, buf, blocksStart),
            extension = buf.copyOfRange(blocksStart + count * REPORT_BLOCK_SIZE, end),
        )
    }

    private fun reportBlocks(count: Int, buf: ByteArray, start: Int): List<ReportBlock> = List(count) { n ->
        val p = start + n * REPORT_BLOCK_SIZE
        val lost = Wire.u24(buf, p + 5)
        ReportBlock(
            ssrc = Wire.u32(buf, p),
            fractionLost = Wire.u8(buf, p + 4),
            cumulativeLost = (lost shl 8) shr 8, // sign-extend 24 bits
            highestSequence = Wire.u32(buf, p + 8),
            jitter = Wire.u32(buf, p + 12),
            lastSenderReport = Wire.u32(buf, p + 16),
            delaySinceLastSenderReport = Wire.u32(buf, p + 20),
        )
    }

    private fun sourceDescription(count: Int, buf: ByteArray, start: Int, end: Int): RtcpPacket? {
        val chunks = ArrayList<SdesChunk>(count)
        var p = start
        repeat(count) {
            if (end - p < 4) return null
            val source = Wire.u32(buf, p)
            p += 4
            val items = ArrayList<SdesItem>(2)
            while (true) {
                if (p >= end) return null // the list must end with a 0 type
                val itemType = Wire.u8(buf, p)
                if (itemType == SDES_END) break
                if (end - p < 2) return null
                val len = Wire.u8(buf, p + 1)
                if (len > end - p - 2) return null
                items.add(SdesItem(itemType, String(buf, p + 2, len, Charsets.UTF_8)))
                p += 2 + len
            }
            // Skip the terminating 0 and the zero bytes up to the next 32-bit boundary (packets start word-aligned).
            p += 1
            p += (WORD - (p - start) % WORD) % WORD
            if (p > end) return null
            chunks.add(SdesChunk(source, items))
        }
        return RtcpPacket.SourceDescription(chunks)
    }

    private fun goodbye(count: Int, buf: ByteArray, start: Int, end: Int): RtcpPacket? {
        if (count * 4 > end - start) return null
        val sources = List(count) { Wire.u32(buf, start + it * 4) }
        val p = start + count * 4
        var reason: String? = null
        if (p < end) {
            val len = Wire.u8(buf, p)
            if (len > end - p - 1) return null
            reason = String(buf, p + 1, len, Charsets.UTF_8)
        }
        return RtcpPacket.Goodbye(sources, reason)
    }

    private fun app(subtype: Int, buf: ByteArray, start: Int, end: Int): RtcpPacket? {
        if (end - start < 8) return null
        return RtcpPacket.App(
            subtype = subtype,
            ssrc = Wire.u32(buf, start),
            name = String(buf, start + 4, 4, Charsets.ISO_8859_1),
            data = buf.copyOfRange(start + 8, end),
        )
    }

    private fun feedback(type: Int, format: Int, buf: ByteArray, start: Int, end: Int): RtcpPacket? {
        if (end - start < 8) return null
        return RtcpPacket.Feedback(
            type = type,
            format = format,
            senderSsrc = Wire.u32(buf, start),
            mediaSsrc = Wire.u32(buf, start + 4),
            fci = buf.copyOfRange(start + 8, end),
        )
    }
}
