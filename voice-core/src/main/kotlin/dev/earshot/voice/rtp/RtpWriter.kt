package dev.earshot.voice.rtp

import dev.earshot.voice.base.VoiceConstants

/**
 * Writes RTP headers (the layout drawn in `RtpView.kt`) for sending and for building test packets.
 *
 * [writeHeader] is allocation-free and never throws: bad arguments or too little room give -1.
 * [oneByteElements] is a convenience for tests and one-off senders: it allocates and throws on bad input.
 */
public object RtpWriter {
    /**
     * Writes a version-2 RTP header at `out[offset]`: fixed header, then [csrcs] (at most 15), then, when
     * [extensionProfile] is not -1, the 4-byte extension preamble (profile 0..0xFFFF, [extensionLengthWords]
     * 0..0xFFFF). The extension elements, payload and any padding are the caller's to write after it.
     *
     * [sequence] keeps its low 16 bits, [timestamp] and [ssrc] and each CSRC their low 32 bits, so callers may let
     * counters run past the wrap. [payloadType] defaults to 120 (Opus) and must be 0..127.
     *
     * Returns the bytes written, `12 + 4 * csrcs.size + (extension ? 4 : 0)`, or -1 (nothing written) when an
     * argument is out of range, [extensionLengthWords] is non-zero without a profile, or `out` has too little room.
     */
    @JvmOverloads
    public fun writeHeader(
        out: ByteArray,
        offset: Int,
        sequence: Int,
        timestamp: Long,
        ssrc: Long,
        marker: Boolean = false,
        payloadType: Int = VoiceConstants.RTP_PAYLOAD_TYPE_OPUS,
        csrcs: LongArray? = null,
        extensionProfile: Int = -1,
        extensionLengthWords: Int = 0,
    ): Int {
        val cc = csrcs?.size ?: 0
        val hasExtension = extensionProfile != -1
        if (payloadType !in 0..0x7F || cc > RtpView.MAX_CSRC_COUNT) return -1
        if (extensionProfile !in -1..0xFFFF || extensionLengthWords !in 0..0xFFFF) return -1
        if (!hasExtension && extensionLengthWords != 0) return -1
        val size = RtpView.FIXED_HEADER_LENGTH + cc * 4 + (if (hasExtension) 4 else 0)
        if (!Wire.inBounds(out, offset, size)) return -1

        out[offset] = ((RtpView.VERSION shl 6) or (if (hasExtension) 0x10 else 0) or cc).toByte()
        out[offset + 1] = ((if (marker) 0x80 else 0) or payloadType).toByte()
        Wire.put16(out, offset + 2, sequence)
        Wire.put32(out, offset + 4, timestamp)
        Wire.put32(out, offset + 8, ssrc)
        var p = offset + RtpView.FIXED_HEADER_LENGTH
        for (i in 0 until cc) {
            Wire.put32(out, p, csrcs!![i])
            p += 4
        }
        if (hasExtension) {
            Wire.put16(out, p, extensionProfile)
            Wire.put16(out, p + 2, extensionLengthWords)
            p += 4
        }
        return p - offset
    }

    /**
     * **Test/sending convenience (allocates).** Builds RFC 8285 one-byte extension elements, in the given order,
     * zero-padded to a multiple of 4 bytes; its `size / 4` is the `extensionLengthWords` to pass to [writeHeader]
     * with profile [HeaderExtensions.PROFILE_ONE_BYTE].
     *
     * @throws IllegalArgumentException when an id is not 1..14 or a data size is not 1..16.
     */
    public fun oneByteElements(vararg idAndData: Pair<Int, ByteArray>): ByteArray {
        var size = 0
        for ((id, data) in idAndData) {
            require(id in 1..14) { "one-byte element id must be 1..14, was $id" }
            require(data.size in 1..16) { "one-byte element data must be 1..16 bytes, was ${data.size}" }
            size += 1 + data.size
        }
        val out = ByteArray((size + 3) / 4 * 4)
        var p = 0
        for ((id, data) in idAndData) {
            out[p] = ((id shl 4) or (data.size - 1)).toByte()
            data.copyInto(out, p + 1)
            p += 1 + data.size
        }
        return out
    }
}
