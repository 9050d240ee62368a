package dev.earshot.voice.dave

/**
 * Replay protection for one key ratchet, as libdave's `CryptorManager` (`CanProcessNonce`/`ReportCryptorSuccess`):
 * a nonce is accepted if it is newer than the newest one decrypted, or one of the older nonces skipped on the way
 * there (so reordered frames still decrypt, each exactly once). One deliberate difference: the nonces below the first
 * one a ratchet decrypts count as skipped too (up to [MAX_MISSING] of them), where libdave refuses them. A sender's
 * first frames under a new key often arrive out of order at a transition (reordered by the network, or held until
 * the receiver has processed the commit while a later frame already opened); libdave loses them, this window plays
 * them, and replay protection is unchanged: each nonce still opens at most once.
 *
 * The skipped ("missing") nonces are kept by count, as libdave keeps them: the newest [MAX_MISSING] of them, however
 * far behind the newest nonce they are (one frame lost early in a long, otherwise gapless stream stays acceptable).
 * A jump of more than [MAX_MISSING] records only the [MAX_MISSING] nonces right below the new one.
 *
 * Nonces are "big nonces": the unwrapped generation above the low 24 bits of the truncated nonce, so they keep
 * growing after the 32-bit truncated nonce wraps. The missing nonces are a ring of [MAX_MISSING] longs in ascending
 * order (each batch added lies above every earlier one), so a look-up is a binary search; removing one from the middle
 * shifts the rest, which only reordered frames cost. Allocation-free.
 */
internal class DaveNonceWindow {
    private var newest = NONE
    private val ring = LongArray(MAX_MISSING.toInt())
    private var head = 0
    private var count = 0

    /** Missing nonces kept now (for tests). */
    val missingCount: Int get() = count

    /** True if a frame with [bigNonce] has not been accepted yet and is not too old to tell. */
    fun canAccept(bigNonce: Long): Boolean = newest == NONE || bigNonce > newest || indexOf(bigNonce) >= 0

    /** Records that [bigNonce] decrypted; call only after [canAccept] said yes and the tag checked out. */
    fun accept(bigNonce: Long) {
        val previous = newest
        when {
            bigNonce > previous -> {
                // The first nonce of a ratchet counts as having skipped the ones below it: libdave refuses those, so a
                // sender's first frames under a new key, reordered on the way or held until the key arrived, would be
                // lost at every transition. Each is still accepted at most once.
                val added = minOf(if (previous == NONE) bigNonce else bigNonce - previous - 1, MAX_MISSING).toInt()
                // The oldest missing nonces make room, as libdave pops the front of its deque.
                val drop = minOf(count, maxOf(0, count + added - ring.size))
                head = wrap(head + drop)
                count -= drop
                var at = wrap(head + count)
                var n = bigNonce - added
                while (n < bigNonce) {
                    ring[at] = n++
                    if (++at == ring.size) at = 0
                }
                count += added
                newest = bigNonce
            }
            else -> {
                val i = indexOf(bigNonce)
                if (i >= 0) removeAt(i)
            }
        }
    }

    /** Position (0 = oldest) of [n] among the missing nonces, or -1. */
    private fun indexOf(n: Long): Int {
        var lo = 0
        var hi = count - 1
        while (lo <= hi) {
            val mid = (lo + hi) ushr 1
            val v = ring[wrap(head + mid)]
            when {
                v < n -> lo = mid + 1
                v > n -> hi = mid - 1
                else -> return mid
            }
        }
        return -1
    }

    private fun removeAt(index: Int) {
        for (k in index until count - 1) ring[wrap(head + k)] = ring[wrap(head + k + 1)]
        count--
    }

    // Indices stay below twice the ring's size, so one subtraction replaces a division.
    private fun wrap(i: Int): Int = if (i >= ring.size) i - ring.size else i

    companion object {
        /** libdave's `kMaxMissingNonces`. */
        const val MAX_MISSING: Long = 1000
        private const val NONE = -1L

        /** The big nonce of a frame: unwrapped [generation] above the low 24 bits of [truncatedNonce]. */
        fun bigNonce(generation: Int, truncatedNonce: Int): Long =
            (generation.toLong() shl DaveFrame.GENERATION_SHIFT) or (truncatedNonce.toLong() and LOW_BITS)

        private const val LOW_BITS = (1L shl DaveFrame.GENERATION_SHIFT) - 1
    }
}
