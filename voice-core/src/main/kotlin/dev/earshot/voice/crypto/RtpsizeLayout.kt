package dev.earshot.voice.crypto

/**
 * Byte layout of Discord's rtpsize transport encryption (docs/protocol.md §5.2); lengths are in bytes.
 *
 * ```
 * |<------------------ AAD (cleartext) ------------------>|<-------- ciphertext -------->|<- tag 16 ->|<- nonce 4 ->|
 * | 12-byte fixed header | CC x 4 CSRC | 0xBEDE + len (if X) | ext elements | payload | pad | AEAD tag   | uint32 BE   |
 *
 *  0                   1                   2                   3      RTP fixed header (RFC 3550 §5.1)
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * |                           timestamp                           |
 * |                             SSRC                              |
 * |                    CSRC list (CC x 32 bits)                   |
 * |      0xBEDE (if X)            |     extension length (words)  |
 * ```
 * RTCP packets use the first [RTCP_AAD_LENGTH] bytes (V/P/RC, PT, length, sender SSRC) as AAD.
 */
public object RtpsizeLayout {
    /** Length of the AEAD authentication tag that follows the ciphertext. */
    public const val TAG_LENGTH: Int = 16

    /** Length of the nonce suffix (a uint32 big-endian counter) at the very end of the packet. */
    public const val NONCE_SUFFIX_LENGTH: Int = 4

    /** Bytes an encrypted packet carries beyond AAD and plaintext: tag plus nonce suffix. */
    public const val OVERHEAD: Int = TAG_LENGTH + NONCE_SUFFIX_LENGTH

    /** AAD length of an RTCP packet: its 8-byte common header including the sender SSRC. */
    public const val RTCP_AAD_LENGTH: Int = 8

    /** Length of the RTP fixed header before CSRCs. */
    public const val RTP_FIXED_HEADER_LENGTH: Int = 12

    /** Length of the header-extension preamble (profile + length) that stays cleartext when X is set. */
    public const val EXTENSION_PREAMBLE_LENGTH: Int = 4

    private const val CSRC_LENGTH = 4
    private const val CC_MASK = 0x0F
    private const val X_BIT = 0x10

    /**
     * The AAD length of the RTP packet in `packet[offset, offset+length)`: 12 + 4 x CC, plus 4 if X is set.
     * Returns -1 if the range is invalid or shorter than that header plus [OVERHEAD]. Never throws.
     */
    public fun rtpAadLength(packet: ByteArray, offset: Int, length: Int): Int {
        if (offset < 0 || length < RTP_FIXED_HEADER_LENGTH || offset > packet.size - length) return -1
        val b0 = packet[offset].toInt()
        val aad = RTP_FIXED_HEADER_LENGTH + CSRC_LENGTH * (b0 and CC_MASK) +
            (if (b0 and X_BIT != 0) EXTENSION_PREAMBLE_LENGTH else 0)
        return if (length - aad >= OVERHEAD) aad else -1
    }

    /** True if `[offset, offset+length)` lies in an array of [size] bytes and leaves room for [aadLength] plus [OVERHEAD]. */
    internal fun isValidPacket(size: Int, offset: Int, length: Int, aadLength: Int): Boolean =
        offset >= 0 && length >= 0 && aadLength >= 0 && offset <= size - length && length - aadLength >= OVERHEAD

    /**
     * Writes a sealed packet to out[outOffset ...]: aad[aadOffset, +aadLength), then sealed[0, sealedLength) (ciphertext
     * and tag), then [nonce] as the big-endian suffix. The sealed bytes must already be out of the caller's inputs, so
     * out may alias aad.
     */
    internal fun writeSealed(
        aad: ByteArray, aadOffset: Int, aadLength: Int, sealed: ByteArray, sealedLength: Int, nonce: Int,
        out: ByteArray, outOffset: Int,
    ) {
        System.arraycopy(aad, aadOffset, out, outOffset, aadLength)
        val at = outOffset + aadLength
        System.arraycopy(sealed, 0, out, at, sealedLength)
        for (i in 0 until NONCE_SUFFIX_LENGTH) out[at + sealedLength + i] = (nonce ushr (24 - 8 * i)).toByte()
    }
}
