package dev.earshot.voice.crypto

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.crypto.RtpsizeLayout.OVERHEAD
import dev.earshot.voice.crypto.RtpsizeLayout.TAG_LENGTH

/**
 * XChaCha20-Poly1305 (IETF; draft-irtf-cfrg-xchacha §2.3) in Kotlin, the default for XChaCha20 (unless
 * `earshot.crypto.xchacha=libsodium`): HChaCha20 derives a subkey from the key and the first 16 nonce bytes, then
 * ChaCha20-Poly1305 (RFC 8439 §2.8) runs under it. Discord's 24-byte nonce is the 4-byte wire suffix followed by 20
 * zero bytes, so only the first HChaCha20 input word changes per packet and the inner 12-byte nonce is all zeros.
 * A warm call allocates nothing and no native library is involved; decryption checks the tag over the ciphertext
 * before decrypting in place, so a forged packet is left untouched.
 */
internal class JvmXChaChaCipher(secretKey: ByteArray) : TransportCipher {
    override val mode: EncryptionMode get() = EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE

    private val key = IntArray(KEY_WORDS) { ChaCha20.le32(secretKey, 4 * it) }
    private val subkey = IntArray(KEY_WORDS)
    private val block = IntArray(ChaCha20.BLOCK_WORDS)
    private val poly = Poly1305()
    // Encryption lands here first so that out may alias the inputs.
    private var scratch = ByteArray(VoiceConstants.MAX_DATAGRAM)

    override fun decrypt(packet: ByteArray, offset: Int, length: Int, aadLength: Int): Int {
        if (!RtpsizeLayout.isValidPacket(packet.size, offset, length, aadLength)) return -1
        val cipherLength = length - aadLength - OVERHEAD
        val text = offset + aadLength
        val tagAt = text + cipherLength
        startPacket(ChaCha20.le32(packet, tagAt + TAG_LENGTH))
        poly.padded(packet, offset, aadLength)
        poly.padded(packet, text, cipherLength)
        poly.lengths(aadLength, cipherLength)
        if (!poly.tagMatches(packet, tagAt)) return -1
        ChaCha20.xor(subkey, 1, 0, 0, 0, packet, text, cipherLength, packet, text, block)
        return cipherLength
    }

    override fun encrypt(
        aad: ByteArray, aadOffset: Int, aadLength: Int,
        plain: ByteArray, plainOffset: Int, plainLength: Int,
        nonce: Int, out: ByteArray, outOffset: Int,
    ): Int {
        val total = checkEncryptRanges(aad, aadOffset, aadLength, plain, plainOffset, plainLength, out, outOffset)
        val sealedLength = plainLength + TAG_LENGTH
        if (scratch.size < sealedLength) scratch = ByteArray(sealedLength)
        // The suffix goes on the wire big-endian; as the nonce's first little-endian word it is byte-reversed.
        startPacket(Integer.reverseBytes(nonce))
        ChaCha20.xor(subkey, 1, 0, 0, 0, plain, plainOffset, plainLength, scratch, 0, block)
        poly.padded(aad, aadOffset, aadLength)
        poly.padded(scratch, 0, plainLength)
        poly.lengths(aadLength, plainLength)
        poly.writeTag(scratch, plainLength)
        // Sealed bytes are in scratch before out is touched, so out may alias aad or plain.
        RtpsizeLayout.writeSealed(aad, aadOffset, aadLength, scratch, sealedLength, nonce, out, outOffset)
        return total
    }

    // Subkey for nonce word n0 (the other three HChaCha20 words are zero bytes), then the one-time Poly1305 key from
    // block 0 under the subkey with the all-zero inner nonce.
    private fun startPacket(n0: Int) {
        ChaCha20.hchacha(key, n0, 0, 0, 0, subkey, block)
        ChaCha20.block(subkey, 0, 0, 0, 0, block)
        poly.init(block)
    }

    override fun toString(): String = "TransportCipher(${mode.wireName}, JVM)"

    private companion object {
        const val KEY_WORDS = 8
    }
}
