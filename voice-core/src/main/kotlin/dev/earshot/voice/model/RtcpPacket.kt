package dev.earshot.voice.model

/** One report block of an SR or RR (RFC 3550 section 6.4.1); all unsigned fields as non-negative [Long]s. */
public data class ReportBlock(
    /** The source this block reports on. */
    val ssrc: Long,
    /** Fraction lost since the previous report, in 1/256 units (0..255). */
    val fractionLost: Int,
    /** Cumulative packets lost, a signed 24-bit value (negative when duplicates outnumber losses). */
    val cumulativeLost: Int,
    /** Extended highest sequence number received (cycles << 16 | sequence). */
    val highestSequence: Long,
    /** Interarrival jitter in RTP timestamp units. */
    val jitter: Long,
    /** Middle 32 bits of the NTP timestamp of the last SR received, or 0. */
    val lastSenderReport: Long,
    /** Delay since that SR in 1/65536 seconds, or 0. */
    val delaySinceLastSenderReport: Long,
)

/** One SDES item (RFC 3550 section 6.5): [type] 1 CNAME .. 8 PRIV, with its bytes decoded as UTF-8 into [text]. */
public data class SdesItem(
    /** Item type, 1..255 (1 CNAME, 2 NAME, 3 EMAIL, 4 PHONE, 5 LOC, 6 TOOL, 7 NOTE, 8 PRIV). */
    val type: Int,
    /** The item text; invalid UTF-8 is replaced by U+FFFD rather than rejected. */
    val text: String,
)

/** One SDES chunk: the source and its items in wire order. */
public data class SdesChunk(
    /** The SSRC or CSRC the items describe. */
    val source: Long,
    /** The items, possibly empty. */
    val items: List<SdesItem>,
)

/**
 * One packet of an RTCP compound datagram. RTCP is rare (a few per second), so these are ordinary immutable objects.
 * Byte payloads are kept privately and handed out as fresh copies.
 */
public sealed class RtcpPacket {
    /** The packet type byte (200 SR, 201 RR, ...). */
    public abstract val type: Int

    /** Sender report (PT 200). */
    public class SenderReport internal constructor(
        /** The sender's SSRC. */
        public val ssrc: Long,
        /** The 64-bit NTP timestamp (seconds since 1900 in the high 32 bits, fraction in the low 32), as raw bits. */
        public val ntpTimestamp: Long,
        /** The RTP timestamp matching [ntpTimestamp], 0..2^32-1. */
        public val rtpTimestamp: Long,
        /** Packets sent since the start of transmission, 0..2^32-1. */
        public val packetCount: Long,
        /** Payload octets sent since the start of transmission, 0..2^32-1. */
        public val octetCount: Long,
        /** The RC report blocks. */
        public val reports: List<ReportBlock>,
        private val extension: ByteArray,
    ) : RtcpPacket() {
        override val type: Int get() = TYPE_SR

        /** A copy of the profile-specific extension after the report blocks (usually empty). */
        public fun profileExtension(): ByteArray = extension.copyOf()

        override fun toString(): String =
            "SenderReport(ssrc=$ssrc, ntp=$ntpTimestamp, rtp=$rtpTimestamp, packets=$packetCount, " +
                "octets=$octetCount, reports=$reports, extension=${extension.size} B)"
    }

    /** Receiver report (PT 201). */
    public class ReceiverReport internal constructor(
        /** The reporter's SSRC. */
        public val ssrc: Long,
        /** The RC report blocks. */
        public val reports: List<ReportBlock>,
        private val extension: ByteArray,
    ) : RtcpPacket() {
        override val type: Int get() = TYPE_RR

        /** A copy of the profile-specific extension after the report blocks (usually empty). */
        public fun profileExtension(): ByteArray = extension.copyOf()

        override fun toString(): String = "ReceiverReport(ssrc=$ssrc, reports=$reports, extension=${extension.size} B)"
    }

    /** Source description (PT 202). */
    public data class SourceDescription(
        /** The SC chunks. */
        val chunks: List<SdesChunk>,
    ) : RtcpPacket() {
        override val type: Int get() = TYPE_SDES
    }

    /** Goodbye (PT 203). */
    public data class Goodbye(
        /** The sources leaving. */
        val sources: List<Long>,
        /** The reason text (UTF-8, invalid bytes replaced), or null when the packet carries none. */
        val reason: String?,
    ) : RtcpPacket() {
        override val type: Int get() = TYPE_BYE
    }

    /** Application-defined (PT 204). */
    public class App internal constructor(
        /** The 5-bit subtype from the count field. */
        public val subtype: Int,
        /** The sender's SSRC. */
        public val ssrc: Long,
        /** The 4-character name, each byte read as ISO-8859-1. */
        public val name: String,
        private val data: ByteArray,
    ) : RtcpPacket() {
        override val type: Int get() = TYPE_APP

        /** Length of the application data in bytes. */
        public val dataLength: Int get() = data.size

        /** A copy of the application data. */
        public fun data(): ByteArray = data.copyOf()

        override fun toString(): String = "App(subtype=$subtype, ssrc=$ssrc, name=$name, data=${data.size} B)"
    }

    /** Transport-layer (PT 205, RTPFB) or payload-specific (PT 206, PSFB) feedback (RFC 4585), kept undecoded. */
    public class Feedback internal constructor(
        override val type: Int,
        /** FMT from the count field (e.g. 1 = generic NACK for 205, 1 = PLI for 206). */
        public val format: Int,
        /** SSRC of the packet sender. */
        public val senderSsrc: Long,
        /** SSRC of the media source the feedback is about. */
        public val mediaSsrc: Long,
        private val fci: ByteArray,
    ) : RtcpPacket() {
        /** Length of the feedback control information in bytes. */
        public val fciLength: Int get() = fci.size

        /** A copy of the feedback control information. */
        public fun fci(): ByteArray = fci.copyOf()

        override fun toString(): String =
            "Feedback(type=$type, format=$format, sender=$senderSsrc, media=$mediaSsrc, fci=${fci.size} B)"
    }

    /** Any other packet type (e.g. 207 XR), kept undecoded. */
    public class Unknown internal constructor(
        override val type: Int,
        /** The 5-bit count field. */
        public val count: Int,
        private val body: ByteArray,
    ) : RtcpPacket() {
        /** Length of the body (after the 4-byte header, padding removed) in bytes. */
        public val bodyLength: Int get() = body.size

        /** A copy of the body. */
        public fun body(): ByteArray = body.copyOf()

        override fun toString(): String = "Unknown(type=$type, count=$count, body=${body.size} B)"
    }

    /** RTCP packet type numbers. */
    public companion object {
        /** Sender report. */
        public const val TYPE_SR: Int = 200

        /** Receiver report. */
        public const val TYPE_RR: Int = 201

        /** Source description. */
        public const val TYPE_SDES: Int = 202

        /** Goodbye. */
        public const val TYPE_BYE: Int = 203

        /** Application-defined. */
        public const val TYPE_APP: Int = 204

        /** Transport-layer feedback (RFC 4585). */
        public const val TYPE_RTPFB: Int = 205

        /** Payload-specific feedback (RFC 4585). */
        public const val TYPE_PSFB: Int = 206
    }
}
