package dev.earshot.voice.crypto

import java.lang.invoke.MethodHandles
import java.lang.invoke.VarHandle
import java.nio.ByteOrder

/**
 * Poly1305 (RFC 8439 §2.5) with the accumulator and `r` in five 26-bit limbs held in longs, so every product and sum
 * fits in 63 bits; one instance is reused for every message and allocates nothing. Not thread-safe.
 *
 * Use: [init] with the one-time key, then [padded] for each AEAD part (RFC 8439 §2.8: zero-padded to 16 bytes),
 * [lengths], and [tagMatches] or [writeTag]; [update]/[finalBlock] hash a raw message for the RFC's own vectors.
 */
internal class Poly1305 {
    private var r0 = 0L; private var r1 = 0L; private var r2 = 0L; private var r3 = 0L; private var r4 = 0L
    private var s1 = 0L; private var s2 = 0L; private var s3 = 0L; private var s4 = 0L
    private var h0 = 0L; private var h1 = 0L; private var h2 = 0L; private var h3 = 0L; private var h4 = 0L
    private var padLo = 0L; private var padHi = 0L
    private var tagLo = 0L; private var tagHi = 0L

    /** Starts a message under the 32-byte one-time key given as 8 little-endian words (`r` then `s`). */
    fun init(key: IntArray) {
        val lo = word(key[0]) or (key[1].toLong() shl 32)
        val hi = word(key[2]) or (key[3].toLong() shl 32)
        // r clamped (§2.5.1) while split into limbs.
        r0 = lo and 0x3ffffff
        r1 = (lo ushr 26) and 0x3ffff03
        r2 = ((lo ushr 52) or (hi shl 12)) and 0x3ffc0ff
        r3 = (hi ushr 14) and 0x3f03fff
        r4 = (hi ushr 40) and 0x00fffff
        s1 = r1 * 5; s2 = r2 * 5; s3 = r3 * 5; s4 = r4 * 5
        padLo = word(key[4]) or (key[5].toLong() shl 32)
        padHi = word(key[6]) or (key[7].toLong() shl 32)
        h0 = 0; h1 = 0; h2 = 0; h3 = 0; h4 = 0
    }

    /** Hashes b[off, off + len) followed by zeros up to a multiple of 16 bytes (an AEAD part with its pad16). */
    fun padded(b: ByteArray, off: Int, len: Int) {
        val full = len and 15.inv()
        update(b, off, full)
        val rest = len - full
        if (rest > 0) {
            var lo = 0L
            var hi = 0L
            for (j in 0 until rest) {
                val v = (b[off + full + j].toLong() and 0xFF)
                if (j < 8) lo = lo or (v shl (8 * j)) else hi = hi or (v shl (8 * (j - 8)))
            }
            absorb(lo, hi, HIBIT)
        }
    }

    /** Hashes the AEAD's final block: the two lengths as little-endian 64-bit integers (RFC 8439 §2.8). */
    fun lengths(aadLength: Int, textLength: Int) {
        absorb(aadLength.toLong(), textLength.toLong(), HIBIT)
    }

    /** Hashes the whole 16-byte blocks of b[off, off + len) (len a multiple of 16). */
    fun update(b: ByteArray, off: Int, len: Int) {
        var p = off
        val end = off + len
        while (p < end) {
            absorb(LE_LONG.get(b, p) as Long, LE_LONG.get(b, p + 8) as Long, HIBIT)
            p += 16
        }
    }

    /** Hashes a last block of fewer than 16 bytes the RFC's way (a 0x01 byte after it, no 2^128 bit); 0 bytes: nothing. */
    fun finalBlock(b: ByteArray, off: Int, len: Int) {
        require(len in 0..15) { "a final block has 0 to 15 bytes" }
        if (len == 0) return
        var lo = 0L
        var hi = 0L
        for (j in 0..len) {
            val v = if (j < len) b[off + j].toLong() and 0xFF else 1L
            if (j < 8) lo = lo or (v shl (8 * j)) else hi = hi or (v shl (8 * (j - 8)))
        }
        absorb(lo, hi, 0)
    }

    /** Finishes the message and compares its tag with b[off, off + 16) in constant time. */
    fun tagMatches(b: ByteArray, off: Int): Boolean {
        finish()
        val diff = (tagLo xor (LE_LONG.get(b, off) as Long)) or (tagHi xor (LE_LONG.get(b, off + 8) as Long))
        return diff == 0L
    }

    /** Finishes the message and writes its 16-byte tag to b[off, off + 16). */
    fun writeTag(b: ByteArray, off: Int) {
        finish()
        LE_LONG.set(b, off, tagLo)
        LE_LONG.set(b, off + 8, tagHi)
    }

    // h = (h + block) * r mod 2^130 - 5, the block given as 128 bits plus hibit (2^128 scaled to limb 4).
    private fun absorb(lo: Long, hi: Long, hibit: Long) {
        val a0 = h0 + (lo and MASK)
        val a1 = h1 + ((lo ushr 26) and MASK)
        val a2 = h2 + (((lo ushr 52) or (hi shl 12)) and MASK)
        val a3 = h3 + ((hi ushr 14) and MASK)
        val a4 = h4 + ((hi ushr 40) or hibit)
        // Limbs of 2^130 wrap around times 5, hence s = 5r for the high partial products.
        val d0 = a0 * r0 + a1 * s4 + a2 * s3 + a3 * s2 + a4 * s1
        var d1 = a0 * r1 + a1 * r0 + a2 * s4 + a3 * s3 + a4 * s2
        var d2 = a0 * r2 + a1 * r1 + a2 * r0 + a3 * s4 + a4 * s3
        var d3 = a0 * r3 + a1 * r2 + a2 * r1 + a3 * r0 + a4 * s4
        var d4 = a0 * r4 + a1 * r3 + a2 * r2 + a3 * r1 + a4 * r0
        var c = d0 ushr 26
        var b0 = d0 and MASK
        d1 += c; c = d1 ushr 26; h1 = d1 and MASK
        d2 += c; c = d2 ushr 26; h2 = d2 and MASK
        d3 += c; c = d3 ushr 26; h3 = d3 and MASK
        d4 += c; c = d4 ushr 26; h4 = d4 and MASK
        b0 += c * 5; c = b0 ushr 26; h0 = b0 and MASK
        h1 += c
    }

    private fun finish() {
        var a0 = h0; var a1 = h1; var a2 = h2; var a3 = h3; var a4 = h4
        // absorb leaves h0 and h2-h4 below 2^26 and h1 barely above, so one carry pass brings every limb below 2^26:
        // a carry out of a4 needs one out of a1, which leaves a1 small, so the last "a1 += c" cannot reach 2^26.
        var c = a1 ushr 26; a1 = a1 and MASK
        a2 += c; c = a2 ushr 26; a2 = a2 and MASK
        a3 += c; c = a3 ushr 26; a3 = a3 and MASK
        a4 += c; c = a4 ushr 26; a4 = a4 and MASK
        a0 += c * 5; c = a0 ushr 26; a0 = a0 and MASK
        a1 += c
        // g = h - p = h + 5 - 2^130; if that is not negative, h was at least p and g is the reduced value.
        var g0 = a0 + 5; c = g0 ushr 26; g0 = g0 and MASK
        var g1 = a1 + c; c = g1 ushr 26; g1 = g1 and MASK
        var g2 = a2 + c; c = g2 ushr 26; g2 = g2 and MASK
        var g3 = a3 + c; c = g3 ushr 26; g3 = g3 and MASK
        val g4 = a4 + c - (1L shl 26)
        val keep = g4 shr 63 // all ones when g is negative: keep h (no branch on secret data)
        val take = keep.inv()
        a0 = (a0 and keep) or (g0 and take)
        a1 = (a1 and keep) or (g1 and take)
        a2 = (a2 and keep) or (g2 and take)
        a3 = (a3 and keep) or (g3 and take)
        a4 = (a4 and keep) or (g4 and take)
        val lo = a0 or (a1 shl 26) or (a2 shl 52)
        val hi = (a2 ushr 12) or (a3 shl 14) or (a4 shl 40)
        // tag = (h + s) mod 2^128; the carry out of the low half computed without a branch.
        val sumLo = lo + padLo
        val carry = ((lo and padLo) or ((lo or padLo) and sumLo.inv())) ushr 63
        tagLo = sumLo
        tagHi = hi + padHi + carry
    }

    private companion object {
        const val MASK = 0x3ffffffL
        const val HIBIT = 1L shl 24
        val LE_LONG: VarHandle = MethodHandles.byteArrayViewVarHandle(LongArray::class.java, ByteOrder.LITTLE_ENDIAN)

        fun word(w: Int): Long = w.toLong() and 0xFFFFFFFFL
    }
}
