package dev.earshot.voice.e2ee

/**
 * The end-to-end (DAVE) decryption step of the receive pipeline, applied to each Opus frame after transport
 * decryption and SSRC-to-user resolution. The default, [PASSTHROUGH], hands frames on unchanged; the DAVE session
 * plugs in here.
 *
 * Implementations are called from one pipeline coroutine at a time and must never throw on frame input.
 */
public interface FrameDecryptor {
    /** Whether frames can only be decrypted once their sender's user id is known (true for DAVE). */
    public val requiresUser: Boolean

    /**
     * Decrypts the frame at `frame[offset, offset + length)` in place (the plaintext starts at [offset]) and returns
     * its length, or [DROP] to reject the frame, or [NOT_READY] when the sender's key is not there yet (the pipeline
     * then holds the frame briefly and retries). [userId] is -1 when unknown.
     */
    public fun decrypt(userId: Long, ssrc: Long, frame: ByteArray, offset: Int, length: Int): Int

    public companion object {
        /** Returned by [decrypt] to drop the frame (counted as an E2EE failure). */
        public const val DROP: Int = -1
        /** Returned by [decrypt] when the sender's key is not available yet. */
        public const val NOT_READY: Int = -2

        /** Hands every frame on unchanged: transport-only calls, and tests. */
        public val PASSTHROUGH: FrameDecryptor = object : FrameDecryptor {
            override val requiresUser: Boolean get() = false
            override fun decrypt(userId: Long, ssrc: Long, frame: ByteArray, offset: Int, length: Int): Int = length
            override fun toString(): String = "FrameDecryptor.PASSTHROUGH"
        }
    }
}
