package dev.earshot.voice.rtp

/**
 * Finds the payload inside the *decrypted* part of an RTP packet without allocating.
 *
 * In Discord's `*_rtpsize` modes the plaintext is `[extension elements (4 * extLen bytes)][payload][padding]`:
 * the elements sit at the front (when X is set) and the padding at the end (when P is set; its last byte counts the
 * padding bytes including itself).
 */
public object RtpPayload {
    /**
     * Locates the payload in `plain[offset until offset + length]`.
     *
     * Returns the payload's absolute offset in [plain] and its length packed with [PackedRange] (read them back with
     * [payloadOffset] and [payloadLength]), or [PackedRange.NONE] (`-1L`) when the region is inconsistent: the range
     * is outside [plain], [extensionLengthWords] is outside `0..65535` or its elements are longer than the region,
     * or [hasPadding] is set and the padding count is 0 or longer than what follows the elements. An empty payload
     * (everything is elements and padding) is consistent and returns length 0.
     */
    public fun locate(
        plain: ByteArray,
        offset: Int,
        length: Int,
        hasPadding: Boolean,
        extensionLengthWords: Int,
    ): Long {
        if (!Wire.inBounds(plain, offset, length)) return PackedRange.NONE
        if (extensionLengthWords < 0 || extensionLengthWords > MAX_EXTENSION_WORDS) return PackedRange.NONE
        val elements = extensionLengthWords * 4
        if (elements > length) return PackedRange.NONE
        var pad = 0
        if (hasPadding) {
            if (length == 0) return PackedRange.NONE
            pad = Wire.u8(plain, offset + length - 1)
            if (pad == 0 || pad > length - elements) return PackedRange.NONE
        }
        return PackedRange.of(offset + elements, length - elements - pad)
    }

    /** The payload offset of a value returned by [locate]. */
    public fun payloadOffset(packed: Long): Int = PackedRange.offset(packed)

    /** The payload length of a value returned by [locate]. */
    public fun payloadLength(packed: Long): Int = PackedRange.length(packed)

    private const val MAX_EXTENSION_WORDS = 0xFFFF
}
