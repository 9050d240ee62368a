package dev.earshot.voice.dave

import org.bouncycastle.crypto.digests.SHA256Digest
import org.bouncycastle.crypto.generators.HKDFBytesGenerator
import org.bouncycastle.crypto.params.HKDFParameters

/**
 * One sender's media-key ratchet for one MLS epoch: mlspp's `HashRatchet` (RFC 9420 §9.1 secret-tree ratchet) as
 * libdave and davey use it (docs/dave.md §1.4). Starting from the 16-byte exported [baseSecret]:
 * ```
 * secret_0     = baseSecret
 * key_g        = ExpandWithLabel(secret_g, "key",    BE32(g), 16)
 * secret_{g+1} = ExpandWithLabel(secret_g, "secret", BE32(g), 32)
 * ExpandWithLabel(S, L, C, n) = HKDF-Expand-SHA256(S, u16 n || <V>("MLS 1.0 " + L) || <V>C, n)
 * ```
 * Only the current secret is kept: secrets of generations already passed are zeroed. Keys derived on the way to a
 * later generation are cached until [erase]d. Keys returned by [key] belong to the ratchet (do not modify them) and
 * are zeroed by [erase] and [close]. Not thread-safe.
 */
internal class DaveKeyRatchet(baseSecret: ByteArray) {
    private var nextSecret: ByteArray = baseSecret.copyOf()
    private var nextGeneration = 0

    /** Generations below this are gone for good. */
    private var floor = 0

    /** keys[i] is the key of generation `firstCached + i`, for `firstCached <= g < nextGeneration`, g >= floor. */
    private val keys = ArrayDeque<ByteArray>()
    private var firstCached = 0
    private var closed = false

    private val hkdf = HKDFBytesGenerator(SHA256Digest())

    /**
     * The 16-byte AES key of [generation], or null if it was erased, the ratchet is closed, [generation] is negative,
     * or it lies more than [MAX_STEP] generations beyond the newest derived one.
     */
    fun key(generation: Int): ByteArray? {
        if (closed || generation < floor) return null
        if (generation < nextGeneration) return keys[generation - firstCached]
        if (generation - nextGeneration >= MAX_STEP) return null
        while (nextGeneration <= generation) advance()
        return keys[generation - firstCached]
    }

    /** Forgets the keys of every generation up to and including [generation]; they can never be derived again. */
    fun erase(generation: Int) {
        if (generation < floor) return
        floor = generation + 1
        while (keys.isNotEmpty() && firstCached < floor) {
            keys.removeFirst().fill(0)
            firstCached++
        }
        if (keys.isEmpty()) firstCached = maxOf(firstCached, minOf(floor, nextGeneration))
    }

    /** Zeroes every secret and key; [key] returns null afterwards. */
    fun close() {
        closed = true
        nextSecret.fill(0)
        while (keys.isNotEmpty()) keys.removeFirst().fill(0)
    }

    private fun advance() {
        val g = nextGeneration
        val key = expandWithLabel(nextSecret, KEY_LABEL, g, KEY_LENGTH)
        val secret = expandWithLabel(nextSecret, SECRET_LABEL, g, SECRET_LENGTH)
        nextSecret.fill(0)
        nextSecret = secret
        nextGeneration = g + 1
        if (g >= floor) {
            if (keys.isEmpty()) firstCached = g
            keys.addLast(key)
        } else {
            // Stepping over an erased generation: its key must not be kept.
            key.fill(0)
            if (keys.isEmpty()) firstCached = g + 1
        }
    }

    private fun expandWithLabel(secret: ByteArray, label: ByteArray, generation: Int, length: Int): ByteArray {
        // struct { uint16 length; opaque label<V>; opaque context<V> }, each <V> a 1-byte length here (< 64).
        val info = ByteArray(2 + 1 + label.size + 1 + CONTEXT_LENGTH)
        var p = 0
        info[p++] = (length ushr 8).toByte()
        info[p++] = length.toByte()
        info[p++] = label.size.toByte()
        label.copyInto(info, p)
        p += label.size
        info[p++] = CONTEXT_LENGTH.toByte()
        info[p++] = (generation ushr 24).toByte()
        info[p++] = (generation ushr 16).toByte()
        info[p++] = (generation ushr 8).toByte()
        info[p] = generation.toByte()
        hkdf.init(HKDFParameters.skipExtractParameters(secret, info))
        val out = ByteArray(length)
        hkdf.generateBytes(out, 0, length)
        return out
    }

    override fun toString(): String = "DaveKeyRatchet(next=$nextGeneration, floor=$floor)"

    companion object {
        /** AES-128 key length. */
        const val KEY_LENGTH: Int = 16

        /** SHA-256 output length: the secret after generation 0. */
        private const val SECRET_LENGTH = 32
        private const val CONTEXT_LENGTH = 4

        /** At most this many generations are derived in one [key] call (the decryptor allows 250 ahead). */
        const val MAX_STEP: Int = 1024

        private val KEY_LABEL = "MLS 1.0 key".toByteArray(Charsets.US_ASCII)
        private val SECRET_LABEL = "MLS 1.0 secret".toByteArray(Charsets.US_ASCII)
    }
}
