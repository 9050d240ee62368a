package dev.earshot.voice.dave

import dev.earshot.voice.crypto.GcmCore

/**
 * AES-128-GCM with DAVE's 8-byte tag and 12-byte nonce `00 x 8 || LE32(truncated nonce)`, for one key.
 *
 * The JDK's GCM refuses tags shorter than 96 bits, so this runs on [GcmCore]: the JDK's AES (AES-NI) in ECB mode for
 * the key stream and the tag mask, GHASH in Kotlin, and the truncated tag compared in constant time. Key schedule and
 * GHASH tables are built once per instance, so keep one instance per key; a warm frame allocates nothing. There is one
 * key per sender and generation, so the tables are 4-bit by default (8 KiB per key; [wideTables]: 8-bit, 64 KiB):
 * in `GcmBenchmark` the 8-bit ones were faster up to about 10 senders and slower from 50, when the keys' tables no
 * longer stay in the CPU's caches.
 * An operation is [begin], any [aad] calls, then [process] calls, then [finishEncrypt] or [finishDecrypt].
 * Decrypting, the plaintext is kept in a buffer of this instance and reaches the caller's output only once the tag
 * matches, so a forged frame leaves the output untouched. Not thread-safe.
 */
internal class DaveAesGcm(key: ByteArray, wideTables: Boolean = false) {
    private val gcm: GcmCore
    private val nonce = ByteArray(NONCE_LENGTH)
    private var encrypting = false
    private var written = 0

    // Decrypting, the last TAG_LENGTH bytes fed to process are the tag; they are held here until more data or finish.
    private val held = ByteArray(DaveFrame.TAG_LENGTH)
    private var heldLength = 0

    // Decrypting, the plaintext waits here for the tag check; grown on demand (frames are bounded by the datagram).
    private var plain = ByteArray(INITIAL_PLAIN)

    init {
        require(key.size >= DaveKeyRatchet.KEY_LENGTH) { "AES-128 needs a 16-byte key" }
        gcm = GcmCore(key, 0, DaveKeyRatchet.KEY_LENGTH, wideTables)
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
     * Feeds plaintext (encrypting) or ciphertext followed by the 8-byte tag (decrypting). Encrypting, output goes to
     * `out[outOff + bytes produced so far ...]`; decrypting, the last 8 bytes fed are held back as the tag and the
     * plaintext is held until [finishDecrypt] (which writes it to its own `out`), so [out] is not written here.
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
            if (heldLength > 0) decryptText(held, 0, heldLength)
            decryptText(buf, off, len - tagLength)
            System.arraycopy(buf, off + len - tagLength, held, 0, tagLength)
            heldLength = tagLength
        } else {
            // Short input: the oldest held bytes that no longer fit in the tag window are ciphertext.
            val spill = maxOf(0, heldLength + len - tagLength)
            if (spill > 0) {
                decryptText(held, 0, spill)
                System.arraycopy(held, spill, held, 0, heldLength - spill)
                heldLength -= spill
            }
            System.arraycopy(buf, off, held, heldLength, len)
            heldLength += len
        }
    }

    private fun decryptText(buf: ByteArray, off: Int, len: Int) {
        if (len == 0) return
        if (plain.size - written < len) plain = plain.copyOf(maxOf(2 * plain.size, written + len))
        gcm.decrypt(buf, off, len, plain, written)
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
     * Completes a decryption and checks the tag. If it matches, writes the plaintext to `out[outOff ...]` and returns
     * its length; returns -1 and leaves [out] untouched if the tag is wrong or fewer than 8 bytes were fed.
     * @throws IndexOutOfBoundsException if the plaintext does not fit in [out] at [outOff] (a caller bug).
     */
    fun finishDecrypt(out: ByteArray, outOff: Int): Int {
        if (heldLength < DaveFrame.TAG_LENGTH) return -1
        gcm.finish()
        if (!gcm.tagMatches(held, 0, DaveFrame.TAG_LENGTH)) return -1
        System.arraycopy(plain, 0, out, outOff, written)
        return written
    }

    override fun toString(): String = "DaveAesGcm"

    companion object {
        const val NONCE_LENGTH: Int = 12
        private const val TRUNCATED_OFFSET = 8
        private const val INITIAL_PLAIN = 2048
    }
}
