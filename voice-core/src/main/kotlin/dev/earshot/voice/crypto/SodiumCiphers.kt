package dev.earshot.voice.crypto

import com.sun.jna.Memory
import com.sun.jna.Pointer
import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.crypto.RtpsizeLayout.NONCE_SUFFIX_LENGTH
import dev.earshot.voice.crypto.RtpsizeLayout.OVERHEAD
import dev.earshot.voice.crypto.RtpsizeLayout.TAG_LENGTH

/**
 * Shared body of the libsodium ciphers: copies AAD, ciphertext, tag and nonce suffix into reusable native buffers,
 * runs the detached AEAD call on the message buffer in place, and copies the plaintext back only on success.
 * The packet is therefore untouched when authentication fails, and a warm call allocates nothing.
 */
internal abstract class SodiumTransportCipher(
    final override val mode: EncryptionMode,
    protected val sodium: SodiumBindings,
    nonceLength: Int,
) : TransportCipher {
    // The cipher nonce is the 4-byte wire suffix followed by zeros; only the first 4 bytes ever change.
    protected val nonce: Memory = Memory(nonceLength.toLong()).also { it.clear() }
    protected val tag: Memory = Memory(TAG_LENGTH.toLong())
    // Sized for the largest datagram we read; grown (rarely) if a caller passes something bigger.
    protected var ad: Memory = Memory(INITIAL_AAD_CAPACITY)
    protected var message: Memory = Memory(VoiceConstants.MAX_DATAGRAM.toLong())

    protected abstract fun nativeDecrypt(cipherLength: Int, aadLength: Int): Int

    protected abstract fun nativeEncrypt(plainLength: Int, aadLength: Int): Int

    final override fun decrypt(packet: ByteArray, offset: Int, length: Int, aadLength: Int): Int {
        if (!RtpsizeLayout.isValidPacket(packet.size, offset, length, aadLength)) return -1
        val cipherLength = length - aadLength - OVERHEAD
        ensureCapacity(aadLength, cipherLength)
        val end = offset + length
        ad.write(0, packet, offset, aadLength)
        message.write(0, packet, offset + aadLength, cipherLength)
        tag.write(0, packet, end - OVERHEAD, TAG_LENGTH)
        nonce.write(0, packet, end - NONCE_SUFFIX_LENGTH, NONCE_SUFFIX_LENGTH)
        if (nativeDecrypt(cipherLength, aadLength) != 0) return -1
        message.read(0, packet, offset + aadLength, cipherLength)
        return cipherLength
    }

    final override fun encrypt(
        aad: ByteArray, aadOffset: Int, aadLength: Int,
        plain: ByteArray, plainOffset: Int, plainLength: Int,
        nonce: Int, out: ByteArray, outOffset: Int,
    ): Int {
        val total = checkEncryptRanges(aad, aadOffset, aadLength, plain, plainOffset, plainLength, out, outOffset)
        ensureCapacity(aadLength, plainLength)
        // Inputs go to native memory before anything is written to out, so out may alias aad or plain.
        ad.write(0, aad, aadOffset, aadLength)
        message.write(0, plain, plainOffset, plainLength)
        for (i in 0 until NONCE_SUFFIX_LENGTH) this.nonce.setByte(i.toLong(), (nonce ushr (24 - 8 * i)).toByte())
        check(nativeEncrypt(plainLength, aadLength) == 0) { "libsodium encryption failed" }
        System.arraycopy(aad, aadOffset, out, outOffset, aadLength)
        var at = outOffset + aadLength
        message.read(0, out, at, plainLength)
        at += plainLength
        tag.read(0, out, at, TAG_LENGTH)
        this.nonce.read(0, out, at + TAG_LENGTH, NONCE_SUFFIX_LENGTH)
        return total
    }

    private fun ensureCapacity(aadLength: Int, messageLength: Int) {
        if (aadLength > ad.size()) ad = Memory(aadLength.toLong())
        if (messageLength > message.size()) message = Memory(messageLength.toLong())
    }

    override fun toString(): String = "TransportCipher(${mode.wireName}, libsodium)"

    private companion object {
        // An RTP rtpsize header is at most 12 + 15 x 4 + 4 = 76 bytes.
        const val INITIAL_AAD_CAPACITY = 128L
    }
}

/** AES-256-GCM through libsodium's AES-NI code, with the key schedule expanded once ("beforenm"). */
internal class SodiumAesGcmCipher(sodium: SodiumBindings, secretKey: ByteArray) :
    SodiumTransportCipher(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, sodium, AES_GCM_NONCE_LENGTH) {

    // crypto_aead_aes256gcm_state is 512 bytes and must be 16-byte aligned (the AES-NI code uses aligned loads).
    private val state: Pointer = Memory(STATE_LENGTH + STATE_ALIGNMENT).align(STATE_ALIGNMENT.toInt())

    init {
        Memory(TransportCipher.KEY_LENGTH.toLong()).use { key ->
            key.write(0, secretKey, 0, TransportCipher.KEY_LENGTH)
            val rc = sodium.crypto_aead_aes256gcm_beforenm(state, key)
            key.clear()
            check(rc == 0) { "crypto_aead_aes256gcm_beforenm failed" }
        }
    }

    override fun nativeDecrypt(cipherLength: Int, aadLength: Int): Int =
        sodium.crypto_aead_aes256gcm_decrypt_detached_afternm(
            message, null, message, cipherLength.toLong(), tag, ad, aadLength.toLong(), nonce, state,
        )

    override fun nativeEncrypt(plainLength: Int, aadLength: Int): Int =
        sodium.crypto_aead_aes256gcm_encrypt_detached_afternm(
            message, tag, null, message, plainLength.toLong(), ad, aadLength.toLong(), null, nonce, state,
        )

    private companion object {
        const val AES_GCM_NONCE_LENGTH = 12
        const val STATE_LENGTH = 512L
        const val STATE_ALIGNMENT = 16L
    }
}

/** XChaCha20-Poly1305 (IETF) through libsodium. */
internal class SodiumXChaChaCipher(sodium: SodiumBindings, secretKey: ByteArray) :
    SodiumTransportCipher(EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE, sodium, XCHACHA_NONCE_LENGTH) {

    private val key: Memory = Memory(TransportCipher.KEY_LENGTH.toLong()).also {
        it.write(0, secretKey, 0, TransportCipher.KEY_LENGTH)
    }

    override fun nativeDecrypt(cipherLength: Int, aadLength: Int): Int =
        sodium.crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
            message, null, message, cipherLength.toLong(), tag, ad, aadLength.toLong(), nonce, key,
        )

    override fun nativeEncrypt(plainLength: Int, aadLength: Int): Int =
        sodium.crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
            message, tag, null, message, plainLength.toLong(), ad, aadLength.toLong(), null, nonce, key,
        )

    private companion object {
        const val XCHACHA_NONCE_LENGTH = 24
    }
}

/**
 * Validates [TransportCipher.encrypt]'s ranges (a caller bug, so it throws) and returns the output length.
 * Long arithmetic keeps huge lengths from overflowing into a false "fits".
 */
internal fun checkEncryptRanges(
    aad: ByteArray, aadOffset: Int, aadLength: Int,
    plain: ByteArray, plainOffset: Int, plainLength: Int,
    out: ByteArray, outOffset: Int,
): Int {
    require(aadOffset >= 0 && aadLength >= 0 && aadOffset <= aad.size - aadLength) { "AAD range out of bounds" }
    require(plainOffset >= 0 && plainLength >= 0 && plainOffset <= plain.size - plainLength) { "plaintext range out of bounds" }
    val total = aadLength.toLong() + plainLength + OVERHEAD
    require(outOffset >= 0 && outOffset + total <= out.size) { "output needs $total bytes at $outOffset, array has ${out.size}" }
    return total.toInt()
}
