package dev.earshot.voice.dave

import dev.earshot.voice.base.NanoClock

/**
 * The ciphers, generation window and replay window of one key ratchet (one sender, one epoch), after libdave's
 * `CryptorManager`:
 * - a frame's generation byte is unwrapped relative to the oldest live generation;
 * - generations below the oldest live one, more than [MAX_GENERATION_GAP] beyond the newest that decrypted, or more
 *   than the ratchet's age allows at [MAX_FRAMES_PER_SECOND] are refused;
 * - once a newer generation decrypts, the ciphers of older ones expire [CIPHER_EXPIRY_NANOS] later (the earliest
 *   such deadline stands), and their keys are erased from the ratchet;
 * - the whole ratchet expires at the deadline the latest transition set ([expireBy]).
 * Owns [ratchet] and closes it in [close]. Not thread-safe.
 */
internal class DaveCryptorManager(private val clock: NanoClock, private val ratchet: DaveKeyRatchet) {
    private val createdAt = clock.nanoTime()
    private var hasExpiry = false
    private var expiresAt = 0L

    private var oldestGeneration = 0
    private var newestGeneration = 0
    private val window = DaveNonceWindow()

    // Live generations are few (usually one), so a short list beats a map; the last hit is checked first.
    private val entries = ArrayList<Entry>(2)
    private var lastHit: Entry? = null

    private class Entry(val generation: Int, val cipher: DaveAesGcm, var hasExpiry: Boolean, var expiresAt: Long)

    /**
     * Lets this ratchet live until [deadline] (nanoTime), replacing any earlier deadline, as libdave's `UpdateExpiry`
     * does at every transition: quick successive transitions keep an older ratchet usable for 10 s after the latest
     * one, so a sender still on it (members switch keys at slightly different moments) is not cut off.
     */
    fun expireBy(deadline: Long) {
        expiresAt = deadline
        hasExpiry = true
    }

    /** Whether the deadline has passed; reads [time] only when there is a deadline. */
    fun isExpired(time: FrameTime): Boolean = hasExpiry && time.get() - expiresAt >= 0

    /** The generation of a frame whose nonce carries [generationByte], unwrapped relative to the oldest live one. */
    fun unwrapGeneration(generationByte: Int): Int = wrappedGeneration(oldestGeneration, generationByte)

    /**
     * Decrypts the ciphertext of [view] (parsed from [frame]) into `out[0, view.ciphertextLength)`.
     * Returns [OK], [REPLAY], [GENERATION] or [AUTH]. On anything but [OK] no state changes except key expiry.
     * [time] is the frame's time, shared by all the decryptor's ratchets and read only when a check needs it.
     */
    fun decrypt(view: DaveFrameView, frame: ByteArray, out: ByteArray, time: FrameTime): Int {
        val nonce = view.truncatedNonce
        val generation = unwrapGeneration(view.generationByte)
        val big = DaveNonceWindow.bigNonce(generation, nonce)
        if (!window.canAccept(big)) return REPLAY
        val entry = cipherFor(generation, time) ?: return GENERATION
        if (!decryptWith(entry.cipher, view, frame, out)) return AUTH
        window.accept(big)
        if (generation > newestGeneration) {
            newestGeneration = generation
            val deadline = time.get() + CIPHER_EXPIRY_NANOS
            for (i in entries.indices) {
                val e = entries[i]
                // The earliest deadline stands (libdave takes the minimum): pushing it back at every new generation
                // would keep generation 0 alive while generations advance, so the oldest generation never moved,
                // the generation byte unwrapped against 0 after 256 generations, and every frame then failed as a replay.
                if (e.generation < generation && (!e.hasExpiry || deadline - e.expiresAt < 0)) {
                    e.hasExpiry = true
                    e.expiresAt = deadline
                }
            }
        }
        return OK
    }

    /** Zeroes the ratchet's secrets. */
    fun close() {
        ratchet.close()
        entries.clear()
        lastHit = null
    }

    private fun cipherFor(generation: Int, time: FrameTime): Entry? {
        dropExpired(time)
        if (generation < oldestGeneration) return null
        if (generation > newestGeneration + MAX_GENERATION_GAP) return null
        // A generation with a cipher passed the age check below when it was made, and the ratchet has only aged since.
        lastHit?.let { if (it.generation == generation) return it }
        val found = find(generation)
        if (found != null) {
            lastHit = found
            return found
        }
        // libdave: a sender cannot have used more generations than 170 frames/s for the ratchet's age allow.
        val now = time.get()
        val ageSeconds = (now - createdAt) / NANOS_PER_SECOND
        val maxGeneration = (MAX_FRAMES_PER_SECOND * maxOf(ageSeconds, 0L)) ushr DaveFrame.GENERATION_SHIFT
        if (generation > maxGeneration) return null
        val key = ratchet.key(generation) ?: return null
        // A cipher made late for an already superseded generation expires like the others.
        val old = generation < newestGeneration
        val e = Entry(generation, DaveAesGcm(key), old, now + CIPHER_EXPIRY_NANOS)
        entries += e
        lastHit = e
        return e
    }

    // Indexed loops: this runs for every frame and must not allocate iterators or lambdas.
    private fun dropExpired(time: FrameTime) {
        var i = entries.size - 1
        while (i >= 0) {
            val e = entries[i]
            if (e.hasExpiry && time.get() - e.expiresAt >= 0) {
                entries.removeAt(i)
                if (lastHit === e) lastHit = null
            }
            i--
        }
        while (oldestGeneration < newestGeneration && find(oldestGeneration) == null) {
            ratchet.erase(oldestGeneration)
            oldestGeneration++
        }
    }

    private fun find(generation: Int): Entry? {
        for (i in entries.indices) if (entries[i].generation == generation) return entries[i]
        return null
    }

    private fun decryptWith(cipher: DaveAesGcm, view: DaveFrameView, frame: ByteArray, out: ByteArray): Boolean {
        return try {
            cipher.begin(false, view.truncatedNonce)
            val base = view.frameOffset
            for (i in 0 until view.rangeCount) cipher.aad(frame, base + view.rangeStart(i), view.rangeLength(i))
            var pos = 0
            for (i in 0 until view.rangeCount) {
                val start = view.rangeStart(i)
                if (start > pos) cipher.process(frame, base + pos, start - pos, out, 0)
                pos = start + view.rangeLength(i)
            }
            // The tag directly follows the interleaved part, so the last ciphertext run and the tag are one slice.
            cipher.process(frame, base + pos, view.interleavedLength - pos + DaveFrame.TAG_LENGTH, out, 0)
            cipher.finishDecrypt(out, 0) == view.ciphertextLength
        } catch (e: RuntimeException) {
            // BC reports length problems as unchecked exceptions; for network input that is just a bad frame.
            false
        }
    }

    companion object {
        const val OK: Int = 0
        const val REPLAY: Int = 1
        const val GENERATION: Int = 2
        const val AUTH: Int = 3

        /** libdave's `kMaxGenerationGap`. */
        const val MAX_GENERATION_GAP: Int = 250

        /** libdave's `kMaxFramesPerSecond`: 50 audio frames plus two 60 fps video streams. */
        const val MAX_FRAMES_PER_SECOND: Long = 50 + 2 * 60

        /** libdave's `kCryptorExpiry`: 10 s. */
        const val CIPHER_EXPIRY_NANOS: Long = 10_000_000_000L

        private const val NANOS_PER_SECOND = 1_000_000_000L
        private const val GENERATION_WRAP = 256

        /**
         * libdave's `ComputeWrappedGeneration`: the smallest generation >= the wrap of [oldest] whose low byte is
         * [generationByte] (assumes the frame is not older than [oldest]; the gap check catches the rest).
         */
        fun wrappedGeneration(oldest: Int, generationByte: Int): Int {
            val remainder = oldest % GENERATION_WRAP
            val extra = if (generationByte < remainder) 1 else 0
            return (oldest / GENERATION_WRAP + extra) * GENERATION_WRAP + generationByte
        }
    }
}
