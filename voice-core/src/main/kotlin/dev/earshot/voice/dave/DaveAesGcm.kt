package dev.earshot.voice.dave

import org.bouncycastle.crypto.InvalidCipherTextException
import org.bouncycastle.crypto.engines.AESEngine
import org.bouncycastle.crypto.modes.GCMBlockCipher
import org.bouncycastle.crypto.modes.GCMModeCipher
import org.bouncycastle.crypto.params.AEADParameters
import org.bouncycastle.crypto.params.KeyParameter

/**
 * AES-128-GCM with DAVE's 8-byte tag and 12-byte nonce `00 x 8 || LE32(truncated nonce)`, for one key.
 *
 * The JDK's GCM refuses tags shorter than 96 bits, so this uses BouncyCastle's lightweight GCM. The key schedule and
 * GHASH tables are built once per instance (BC reuses them when later inits pass no key), so keep one instance per
 * key. An operation is [begin], any [aad] calls, then [process] calls, then [finishEncrypt] or [finishDecrypt].
 * Not thread-safe.
 */
internal class DaveAesGcm(key: ByteArray) {
    private val cipher: GCMModeCipher = GCMBlockCipher.newInstance(AESEngine.newInstance())
    private var keyParameter: KeyParameter? = KeyParameter(key, 0, DaveKeyRatchet.KEY_LENGTH)
    private val nonce = ByteArray(NONCE_LENGTH)
    private var written = 0

    init {
        require(key.size >= DaveKeyRatchet.KEY_LENGTH) { "AES-128 needs a 16-byte key" }
    }

    /** Starts an operation with the nonce expanded from [truncatedNonce]. */
    fun begin(forEncryption: Boolean, truncatedNonce: Int) {
        nonce[TRUNCATED_OFFSET] = truncatedNonce.toByte()
        nonce[TRUNCATED_OFFSET + 1] = (truncatedNonce ushr 8).toByte()
        nonce[TRUNCATED_OFFSET + 2] = (truncatedNonce ushr 16).toByte()
        nonce[TRUNCATED_OFFSET + 3] = (truncatedNonce ushr 24).toByte()
        // After the first init BC keeps the key schedule and GHASH tables when the key parameter is null.
        cipher.init(forEncryption, AEADParameters(keyParameter, TAG_BITS, nonce))
        keyParameter = null
        written = 0
    }

    /** Feeds additional authenticated data; all of it must come before the first [process]. */
    fun aad(buf: ByteArray, off: Int, len: Int) {
        cipher.processAADBytes(buf, off, len)
    }

    /**
     * Feeds plaintext (encrypting) or ciphertext followed by the 8-byte tag (decrypting). Output goes to
     * `out[outOff + bytes produced so far ...]`; BC may hold back up to a block until the next call or finish.
     */
    fun process(buf: ByteArray, off: Int, len: Int, out: ByteArray, outOff: Int) {
        written += cipher.processBytes(buf, off, len, out, outOff + written)
    }

    /** Completes an encryption: the rest of the ciphertext, then the 8-byte tag. Returns the total bytes written. */
    fun finishEncrypt(out: ByteArray, outOff: Int): Int {
        written += cipher.doFinal(out, outOff + written)
        return written
    }

    /**
     * Completes a decryption and checks the tag. Returns the plaintext length, or -1 if the tag is wrong (the output
     * then holds unauthenticated bytes that must be discarded). Never throws.
     */
    fun finishDecrypt(out: ByteArray, outOff: Int): Int = try {
        written += cipher.doFinal(out, outOff + written)
        written
    } catch (e: InvalidCipherTextException) {
        -1
    }

    override fun toString(): String = "DaveAesGcm"

    companion object {
        const val NONCE_LENGTH: Int = 12
        private const val TRUNCATED_OFFSET = 8
        private const val TAG_BITS = DaveFrame.TAG_LENGTH * 8
    }
}
