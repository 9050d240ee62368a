package dev.earshot.voice.dave

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.e2ee.FrameDecryptor
import java.util.concurrent.atomic.AtomicLong

/**
 * The DAVE layer of a receive-pipeline benchmark, for the benchmarks module (which cannot reach voice-core's internal
 * classes): one sender per user in [userIds], each with its own key ratchet and [DaveEncryptor], and receive-side
 * [FrameDecryptor]s that decrypt with one [DaveDecryptor] per user.
 *
 * The decryptor runs per frame the session's own step ([DaveUserDecryptors.decrypt], which [JvmDaveSession.decrypt]
 * calls), without the MLS group that installs the ratchets.
 */
class DaveReceiveBench(private val userIds: List<Long>) {
    private val bases = userIds.map { u -> ByteArray(16) { (it * 29 + u.toInt() * 7 + 3).toByte() } }
    private val encryptors = List(userIds.size) { s -> DaveEncryptor().apply { setKeyRatchet(DaveKeyRatchet(bases[s])) } }
    private val out = ByteArray(4096)

    /**
     * Encrypts [plain] as the next Opus frame of sender [index] (of [userIds]) and returns the DAVE frame. Frames of
     * one sender must be encrypted in the order they are later sent (the receiver rejects replayed nonces).
     */
    fun encrypt(index: Int, plain: ByteArray): ByteArray {
        val n = encryptors[index].encryptOpus(plain, 0, plain.size, out)
        check(n >= 0) { "DAVE encryption failed for sender $index" }
        return out.copyOf(n)
    }

    /**
     * A fresh receive-side decryptor (new per-user decryptors, so the frames can be replayed once more), with every
     * sender's ratchet installed. [decrypted] counts the frames it decrypted, [failed] those it dropped.
     */
    fun frameDecryptor(): Receiver = Receiver()

    /** The receive-side [FrameDecryptor] of [DaveReceiveBench]; see there. */
    inner class Receiver : FrameDecryptor {
        private val decryptors = DaveUserDecryptors(NanoClock.SYSTEM)
        private val failedCount = AtomicLong()

        init {
            userIds.forEachIndexed { s, u -> decryptors.getOrCreate(u).transitionToKeyRatchet(DaveKeyRatchet(bases[s])) }
        }

        /** Frames decrypted so far. */
        val decrypted: Long get() = decryptors.decrypted.get()

        /** Frames dropped so far (no decryptor for the user, or decryption failed). */
        val failed: Long get() = failedCount.get()

        override val requiresUser: Boolean get() = true

        // The session's own per-frame step ([JvmDaveSession.decrypt] is this call and its failure count).
        override fun decrypt(userId: Long, ssrc: Long, frame: ByteArray, offset: Int, length: Int): Int {
            val n = decryptors.decrypt(userId, frame, offset, length, transportOnly = false)
            if (n < 0) {
                failedCount.incrementAndGet()
                return FrameDecryptor.DROP
            }
            return n
        }
    }
}
