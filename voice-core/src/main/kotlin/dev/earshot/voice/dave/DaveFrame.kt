package dev.earshot.voice.dave

import dev.earshot.voice.codec.OpusPacketInfo

/**
 * The layout of a DAVE protocol frame (docs/dave.md §1.5, docs/protocol.md §6.6; libdave `InboundFrameProcessor::ParseFrame`).
 *
 * ```
 *  0                          I = len - S                                            len-3  len-2  len
 *  +--------------------------+-----------+-----------------+---------------------+------+-------------+
 *  | interleaved media frame  | GCM tag   | truncated nonce | unencrypted ranges  | S    | FA FA       |
 *  | (ciphertext + clear      | 8 bytes   | ULEB128, 1..5 B | (ULEB128 offset,    | 1 B  | magic       |
 *  |  ranges; all ciphertext  |           |                 |  ULEB128 length)*   |      | marker      |
 *  |  for Opus)               |           |                 |  none for Opus      |      |             |
 *  +--------------------------+-----------+-----------------+---------------------+------+-------------+
 *                             |<--------------------------- S = supplemental size ---------------------->|
 *  S = TAG_LENGTH + |nonce| + |ranges| + SIZE_BYTE_LENGTH + MARKER_LENGTH, so 11 <= S <= 255 and S <= len.
 * ```
 * Range offsets are relative to the frame start and must lie inside the interleaved part `[0, I)`, ascending and
 * non-overlapping. The clear range bytes are the AES-GCM additional data (concatenated in order); everything else
 * in `[0, I)` is ciphertext. The 12-byte GCM nonce is `00 x 8 || LE32(truncated nonce)`.
 */
internal object DaveFrame {
    const val TAG_LENGTH: Int = 8
    const val MARKER_LENGTH: Int = 2
    const val SIZE_BYTE_LENGTH: Int = 1
    const val MARKER_BYTE: Byte = 0xFA.toByte()

    /** Tag + the shortest nonce would be 12, but libdave's bound is tag + size byte + marker = 11. */
    const val MIN_SUPPLEMENTAL_SIZE: Int = TAG_LENGTH + SIZE_BYTE_LENGTH + MARKER_LENGTH

    /** The supplemental size is one byte. */
    const val MAX_SUPPLEMENTAL_SIZE: Int = 0xFF

    /** Offset of the size byte from the frame end, and of the marker. */
    const val SIZE_BYTE_FROM_END: Int = MARKER_LENGTH + SIZE_BYTE_LENGTH
    const val MARKER_FROM_END: Int = MARKER_LENGTH

    /** Supplemental bytes an Opus frame adds at most: tag, a 5-byte nonce, size byte, marker. */
    const val MAX_OPUS_OVERHEAD: Int = TAG_LENGTH + Leb128.MAX_BYTES + SIZE_BYTE_LENGTH + MARKER_LENGTH

    /** Each range takes at least two bytes, so no frame can list more. */
    const val MAX_RANGES: Int = (MAX_SUPPLEMENTAL_SIZE - MIN_SUPPLEMENTAL_SIZE - 1) / 2

    /** The generation is the truncated nonce's top byte. */
    const val GENERATION_SHIFT: Int = 24
}

/** True only for the Opus silence frame `F8 FF FE`, which DAVE never encrypts. */
internal fun isSilenceFrame(buf: ByteArray, off: Int, len: Int): Boolean = OpusPacketInfo.isSilenceFrame(buf, off, len)

/**
 * A reusable, allocation-free view of one parsed DAVE frame: [parse] fills it and returns whether the frame passes
 * every protocol-frame check. Positions are absolute indices into the array given to [parse].
 * One instance per decryptor; not thread-safe.
 */
internal class DaveFrameView {
    /** Index of the frame's first byte. */
    var frameOffset: Int = 0
        private set

    /** Length of the interleaved part (the decrypted frame's length). */
    var interleavedLength: Int = 0
        private set

    /** Index of the 8-byte GCM tag (= frameOffset + interleavedLength). */
    var tagOffset: Int = 0
        private set

    /** The truncated nonce, an unsigned 32-bit value. */
    var truncatedNonce: Int = 0
        private set

    /** Supplemental size S, 11..255. */
    var supplementalSize: Int = 0
        private set

    /** Number of unencrypted ranges (0 for Opus). */
    var rangeCount: Int = 0
        private set

    /** Bytes of ciphertext: the interleaved part minus the clear ranges. */
    var ciphertextLength: Int = 0
        private set

    private val rangeStarts = IntArray(DaveFrame.MAX_RANGES)
    private val rangeLengths = IntArray(DaveFrame.MAX_RANGES)

    /** Start of clear range [i], relative to [frameOffset]. */
    fun rangeStart(i: Int): Int = rangeStarts[i]

    /** Length of clear range [i]. */
    fun rangeLength(i: Int): Int = rangeLengths[i]

    /** The ratchet generation in the nonce's top byte, 0..255 (not yet unwrapped). */
    val generationByte: Int get() = truncatedNonce ushr DaveFrame.GENERATION_SHIFT

    /**
     * Parses `frame[off, off + len)`. Returns false, leaving the fields meaningless, when the bytes are not a DAVE
     * protocol frame or the window lies outside [frame]. Never throws.
     */
    fun parse(frame: ByteArray, off: Int, len: Int): Boolean {
        if (off < 0 || len < 0 || off > frame.size - len) return false
        if (len < DaveFrame.MIN_SUPPLEMENTAL_SIZE) return false
        val end = off + len
        if (frame[end - DaveFrame.MARKER_FROM_END] != DaveFrame.MARKER_BYTE ||
            frame[end - DaveFrame.MARKER_FROM_END + 1] != DaveFrame.MARKER_BYTE
        ) return false
        val s = frame[end - DaveFrame.SIZE_BYTE_FROM_END].toInt() and 0xFF
        if (s < DaveFrame.MIN_SUPPLEMENTAL_SIZE || s > len) return false

        val interleaved = len - s
        val tag = off + interleaved
        val fieldsEnd = end - DaveFrame.SIZE_BYTE_FROM_END
        val nonce = Leb128.read(frame, tag + DaveFrame.TAG_LENGTH, fieldsEnd)
        if (nonce == Leb128.INVALID) return false
        var pos = tag + DaveFrame.TAG_LENGTH + Leb128.length(nonce)

        var count = 0
        var previousEnd = 0
        var clearBytes = 0
        while (pos < fieldsEnd) {
            val start = Leb128.read(frame, pos, fieldsEnd)
            if (start == Leb128.INVALID) return false
            pos += Leb128.length(start)
            val size = Leb128.read(frame, pos, fieldsEnd)
            if (size == Leb128.INVALID) return false
            pos += Leb128.length(size)
            // A range beyond 32 bits lies outside any frame (libdave's range check refuses it too); below that,
            // anything past Int.MAX_VALUE is negative here and refused by the checks that follow.
            if (!Leb128.fits32(start) || !Leb128.fits32(size)) return false
            val rangeStart = Leb128.value(start)
            val rangeLength = Leb128.value(size)
            if (rangeStart < previousEnd || rangeLength < 0 || rangeStart > interleaved - rangeLength) return false
            if (count == DaveFrame.MAX_RANGES) return false
            rangeStarts[count] = rangeStart
            rangeLengths[count] = rangeLength
            count++
            previousEnd = rangeStart + rangeLength
            clearBytes += rangeLength
        }

        frameOffset = off
        interleavedLength = interleaved
        tagOffset = tag
        truncatedNonce = Leb128.value(nonce)
        supplementalSize = s
        rangeCount = count
        ciphertextLength = interleaved - clearBytes
        return true
    }
}
