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
     * its length, or [DROP] to reject the frame, or [NOT_READY] when no key held now decrypts it but one still to
     * come may (the sender's key is not there yet, or the sender has moved to an epoch this member has not processed
     * yet). A frame answered [NOT_READY] must be left unchanged: the pipeline holds it (bounded in time and count),
     * retries it when [onKeysChanged] says so (or with the next frame of its SSRC), and calls [dropped] if it gives up.
     * [userId] is -1 when unknown.
     */
    public fun decrypt(userId: Long, ssrc: Long, frame: ByteArray, offset: Int, length: Int): Int

    /**
     * Registers [listener], to be called (from any thread, without locks held that [decrypt] takes) whenever new keys
     * may open frames answered [NOT_READY]; returns a handle that unregisters it. The default returns null: this
     * decryptor never calls back, and the pipeline retries held frames whenever a new frame of their SSRC arrives.
     */
    public fun onKeysChanged(listener: Runnable): AutoCloseable? = null

    /**
     * The pipeline gave up on a frame of [userId] that was answered [NOT_READY]: no key opened it within the hold
     * time, or the hold queue was full. The pipeline counts it as an end-to-end failure; a decryptor that reacts to
     * failures (DAVE recovers its group after many in a row) counts it here. The default does nothing.
     */
    public fun dropped(userId: Long, ssrc: Long) {}

    public companion object {
        /** Returned by [decrypt] to drop the frame (counted as an E2EE failure). */
        public const val DROP: Int = -1
        /** Returned by [decrypt] when no key held now opens the frame, but one still to come may. */
        public const val NOT_READY: Int = -2

        /** Hands every frame on unchanged: transport-only calls, and tests. */
        public val PASSTHROUGH: FrameDecryptor = object : FrameDecryptor {
            override val requiresUser: Boolean get() = false
            override fun decrypt(userId: Long, ssrc: Long, frame: ByteArray, offset: Int, length: Int): Int = length
            override fun toString(): String = "FrameDecryptor.PASSTHROUGH"
        }
    }
}
