package dev.earshot.voice.dave

/**
 * Encrypts our own Opus frames for DAVE, as davey's and libdave's encryptor do for Opus: the whole frame is
 * ciphertext (no clear ranges, empty AAD), followed by the 8-byte tag, the ULEB128 truncated nonce, the
 * supplemental size byte and `FA FA` (layout in [DaveFrame]).
 *
 * The truncated nonce starts at 1 after each [setKeyRatchet] and grows by one per frame; its top byte (unwrapped)
 * is the ratchet generation whose key is used, so keys change every 2^24 frames. Keys of generations left behind
 * are erased. Silence frames `F8 FF FE` are copied unencrypted, as the SFU and discord.js expect.
 * Not thread-safe.
 */
internal class DaveEncryptor {
    private var ratchet: DaveKeyRatchet? = null
    private var cipher: DaveAesGcm? = null
    private var generation = 0
    private var truncatedNonce = 0

    /** Frames encrypted since creation. */
    var encrypted: Long = 0L
        private set

    /**
     * Encrypts with [ratchet] from now on (the encryptor owns it and closes it when replaced), restarting the nonce;
     * null means send frames unencrypted (transport-only calls, or before the first epoch).
     */
    fun setKeyRatchet(ratchet: DaveKeyRatchet?) {
        this.ratchet?.takeIf { it !== ratchet }?.close()
        this.ratchet = ratchet
        cipher = null
        generation = 0
        truncatedNonce = 0
    }

    /**
     * Makes [next] the truncated nonce of the next frame (unsigned; it must not go back within one ratchet).
     * For tests and benchmarks that need to reach a generation boundary without encrypting 2^24 frames.
     */
    internal fun skipToNonce(next: Int) {
        require(Integer.compareUnsigned(next - 1, truncatedNonce) >= 0) { "the nonce must not go back" }
        truncatedNonce = next - 1
    }

    /** Whether frames are encrypted (a ratchet is set). */
    val isEncrypting: Boolean get() = ratchet != null

    /** The largest output of [encryptOpus] for a [plainLength]-byte frame. */
    fun maxEncryptedSize(plainLength: Int): Int = plainLength + DaveFrame.MAX_OPUS_OVERHEAD

    /**
     * Writes the DAVE frame for `frame[offset, offset + length)` at `out[0 ...]` and returns its length, or
     * [FAILED] if the window is outside [frame], [out] is shorter than [maxEncryptedSize], or the ratchet has no key
     * for the next generation. [out] must not be [frame] unless [offset] is 0. Without a ratchet, and for silence
     * frames, the frame is copied unchanged.
     */
    fun encryptOpus(frame: ByteArray, offset: Int, length: Int, out: ByteArray): Int {
        if (offset < 0 || length < 0 || offset > frame.size - length) return FAILED
        val r = ratchet
        if (r == null || isSilenceFrame(frame, offset, length)) {
            if (out.size < length) return FAILED
            System.arraycopy(frame, offset, out, 0, length)
            return length
        }
        if (out.size < maxEncryptedSize(length)) return FAILED

        val nonce = truncatedNonce + 1
        val g = DaveCryptorManager.wrappedGeneration(generation, nonce ushr DaveFrame.GENERATION_SHIFT)
        var c = cipher
        if (c == null || g != generation) {
            val key = r.key(g) ?: return FAILED
            c = DaveAesGcm(key)
            if (g > 0) r.erase(g - 1)
            cipher = c
            generation = g
        }
        truncatedNonce = nonce

        c.begin(true, nonce)
        c.process(frame, offset, length, out, 0)
        var pos = c.finishEncrypt(out, 0) // ciphertext then tag
        pos += Leb128.write(nonce, out, pos)
        out[pos] = (pos + DaveFrame.SIZE_BYTE_FROM_END - length).toByte()
        pos++
        out[pos++] = DaveFrame.MARKER_BYTE
        out[pos++] = DaveFrame.MARKER_BYTE
        encrypted++
        return pos
    }

    override fun toString(): String = "DaveEncryptor(encrypting=$isEncrypting, generation=$generation, encrypted=$encrypted)"

    companion object {
        /** Returned by [encryptOpus] when it cannot encrypt. */
        const val FAILED: Int = -1
    }
}
