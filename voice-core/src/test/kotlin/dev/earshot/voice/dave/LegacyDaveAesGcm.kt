package dev.earshot.voice.dave

import dev.earshot.voice.crypto.LegacyGcmCore

/**
 * DaveAesGcm as it was before GcmCore's GHASH was sped up, on [LegacyGcmCore]; kept unchanged for the old-against-new
 * rows of `GcmBenchmark`. Not used by main code.
 *
 * AES-128-GCM with DAVE's 8-byte tag and 12-byte nonce `00 x 8 || LE32(truncated nonce)`, for one key.
 *
 * The JDK's GCM refuses tags shorter than 96 bits, so this runs on [LegacyGcmCore]: the JDK's AES (AES-NI) in ECB mode for
 * the key stream and the tag mask, GHASH in Kotlin, and the truncated tag compared in constant time. Key schedule and
 * GHASH tables are built once per instance, so keep one instance per key; a warm frame allocates nothing.
 * An operation is [begin], any [aad] calls, then [process] calls, then [finishEncrypt] or [finishDecrypt].
 * Not thread-safe.
 */
internal class LegacyDaveAesGcm(key: ByteArray) {
    private val gcm: LegacyGcmCore
    private val nonce = ByteArray(NONCE_LENGTH)
    private var encrypting = false
    private var written = 0

    // Decrypting, the last TAG_LENGTH bytes fed to process are the tag; they are held here until more data or finish.
    private val held = ByteArray(DaveFrame.TAG_LENGTH)
    private var heldLength = 0

    init {
        require(key.size >= DaveKeyRatchet.KEY_LENGTH) { "AES-128 needs a 16-byte key" }
        gcm = LegacyGcmCore(key, 0, DaveKeyRatchet.KEY_LENGTH)
    }

    /** Starts an operation with the nonce expanded from [truncatedNonce]. */
    fun begin(forEncryption: Boolean, truncatedNonce: Int) {
        nonce[TRUNCATED_OFFSET] = truncatedNonce.toByte()
        nonce[TRUNCATED_OFFSET + 1] = (truncatedNonce ushr 8).toByte()
        nonce[TRUNCATED_OFFSET + 2] = (truncatedNonce ushr 16).toByte()
        nonce[TRUNCATED_OFFSET + 3] = (truncatedNonce ushr 24).toByte()
        gcm.start(nonce, 0)
        encrypting = forEncryption
        written = 0
        heldLength = 0
    }

    /** Feeds additional authenticated data; all of it must come before the first [process]. */
    fun aad(buf: ByteArray, off: Int, len: Int) {
        gcm.aad(buf, off, len)
    }

    /**
     * Feeds plaintext (encrypting) or ciphertext followed by the 8-byte tag (decrypting). Output goes to
     * `out[outOff + bytes produced so far ...]`; decrypting, the last 8 bytes fed are held back as the tag.
     */
    fun process(buf: ByteArray, off: Int, len: Int, out: ByteArray, outOff: Int) {
        if (encrypting) {
            gcm.encrypt(buf, off, len, out, outOff + written)
            written += len
            return
        }
        val tagLength = DaveFrame.TAG_LENGTH
        if (len >= tagLength) {
            // Everything held so far is ciphertext; the new input's last 8 bytes become the held tag.
            if (heldLength > 0) decryptText(held, 0, heldLength, out, outOff)
            decryptText(buf, off, len - tagLength, out, outOff)
            System.arraycopy(buf, off + len - tagLength, held, 0, tagLength)
            heldLength = tagLength
        } else {
            // Short input: the oldest held bytes that no longer fit in the tag window are ciphertext.
            val spill = maxOf(0, heldLength + len - tagLength)
            if (spill > 0) {
                decryptText(held, 0, spill, out, outOff)
                System.arraycopy(held, spill, held, 0, heldLength - spill)
                heldLength -= spill
            }
            System.arraycopy(buf, off, held, heldLength, len)
            heldLength += len
        }
    }

    private fun decryptText(buf: ByteArray, off: Int, len: Int, out: ByteArray, outOff: Int) {
        if (len == 0) return
        gcm.decrypt(buf, off, len, out, outOff + written)
        written += len
    }

    /** Completes an encryption: the rest of the ciphertext, then the 8-byte tag. Returns the total bytes written. */
    fun finishEncrypt(out: ByteArray, outOff: Int): Int {
        gcm.finish()
        gcm.copyTag(out, outOff + written, DaveFrame.TAG_LENGTH)
        written += DaveFrame.TAG_LENGTH
        return written
    }

    /**
     * Completes a decryption and checks the tag. Returns the plaintext length, or -1 if the tag is wrong or fewer than
     * 8 bytes were fed (the output then holds unauthenticated bytes that must be discarded). Never throws.
     */
    fun finishDecrypt(out: ByteArray, outOff: Int): Int {
        if (heldLength < DaveFrame.TAG_LENGTH) return -1
        gcm.finish()
        return if (gcm.tagMatches(held, 0, DaveFrame.TAG_LENGTH)) written else -1
    }

    override fun toString(): String = "LegacyDaveAesGcm"

    companion object {
        const val NONCE_LENGTH: Int = 12
        private const val TRUNCATED_OFFSET = 8
    }
}
