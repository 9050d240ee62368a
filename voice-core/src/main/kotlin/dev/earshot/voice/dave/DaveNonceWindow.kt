package dev.earshot.voice.dave

/**
 * Replay protection for one key ratchet, as libdave's `CryptorManager` (`CanProcessNonce`/`ReportCryptorSuccess`):
 * a nonce is accepted if it is newer than the newest one decrypted, or one of the up to [MAX_MISSING] older nonces
 * skipped on the way there (so reordered frames still decrypt, each exactly once).
 *
 * Nonces are "big nonces": the unwrapped generation above the low 24 bits of the truncated nonce, so they keep
 * growing after the 32-bit truncated nonce wraps. The missing set is a 1024-bit ring indexed by `nonce mod 1024`;
 * only nonces in `[newest - 1000, newest)` ever have a bit set, so no two live nonces share one. Allocation-free.
 */
internal class DaveNonceWindow {
    private var newest = NONE
    private val missing = LongArray(RING_BITS / Long.SIZE_BITS)

    /** True if a frame with [bigNonce] has not been accepted yet and is not too old to tell. */
    fun canAccept(bigNonce: Long): Boolean = newest == NONE || bigNonce > newest || isMissing(bigNonce)

    /** Records that [bigNonce] decrypted; call only after [canAccept] said yes and the tag checked out. */
    fun accept(bigNonce: Long) {
        val previous = newest
        when {
            previous == NONE -> newest = bigNonce
            bigNonce > previous -> {
                // Nonces leaving the window: [previous - 1000, bigNonce - 1000).
                val leaveFrom = maxOf(previous - MAX_MISSING, 0L)
                val leaveTo = bigNonce - MAX_MISSING
                if (leaveTo - leaveFrom >= RING_BITS) {
                    missing.fill(0)
                } else {
                    var n = leaveFrom
                    while (n < leaveTo) clear(n++)
                }
                var n = maxOf(previous + 1, bigNonce - MAX_MISSING, 0L)
                while (n < bigNonce) set(n++)
                newest = bigNonce
            }
            else -> clear(bigNonce)
        }
    }

    private fun isMissing(n: Long): Boolean {
        if (n < 0 || n >= newest || n < newest - MAX_MISSING) return false
        val i = (n and RING_MASK).toInt()
        return missing[i ushr 6] and (1L shl i) != 0L
    }

    private fun set(n: Long) {
        val i = (n and RING_MASK).toInt()
        missing[i ushr 6] = missing[i ushr 6] or (1L shl i)
    }

    private fun clear(n: Long) {
        val i = (n and RING_MASK).toInt()
        missing[i ushr 6] = missing[i ushr 6] and (1L shl i).inv()
    }

    companion object {
        /** libdave's `kMaxMissingNonces`. */
        const val MAX_MISSING: Long = 1000
        private const val RING_BITS = 1024
        private const val RING_MASK = (RING_BITS - 1).toLong()
        private const val NONE = -1L

        /** The big nonce of a frame: unwrapped [generation] above the low 24 bits of [truncatedNonce]. */
        fun bigNonce(generation: Int, truncatedNonce: Int): Long =
            (generation.toLong() shl DaveFrame.GENERATION_SHIFT) or (truncatedNonce.toLong() and LOW_BITS)

        private const val LOW_BITS = (1L shl DaveFrame.GENERATION_SHIFT) - 1
    }
}
