package dev.earshot.voice.crypto

import javax.crypto.Cipher
import javax.crypto.spec.SecretKeySpec

/**
 * The GcmCore as it was before its GHASH was sped up (4-bit tables, byte loops), kept unchanged for the old-against-new
 * rows of `GcmBenchmark` and as a second implementation in the cross-check. Not used by main code.
 *
 * AES-GCM (NIST SP 800-38D) for one key with a 96-bit IV, built so that a warm operation allocates nothing: the block
 * cipher is the JDK's `AES/ECB/NoPadding`, initialised once per key (HotSpot runs it on AES-NI), which turns a batch
 * of counter blocks into key stream in one call; GHASH is computed here with 4-bit tables (32 positions x 16 values x
 * 128 bits = 8 KiB per key, built once). The JDK's own GCM rebuilds its engine on every `init` (about 1.1 KB per
 * packet on JDK 17) and refuses tags shorter than 96 bits, which DAVE needs; this class does neither.
 *
 * One operation: [start], any [aad] calls, then [encrypt] or [decrypt] calls (or only [authenticate] calls followed
 * by [decrypt]s, see there), then [finish], which yields the full 16-byte tag, then [tagMatches] to compare a
 * received tag of any length in constant time. Not thread-safe: one instance per user of the key.
 *
 * Side channels: the GHASH tables are indexed by the running hash, as in BouncyCastle's default GCM multiplier; a
 * process sharing the CPU cache could in principle learn about the hash key from the access pattern (the AES itself
 * runs on AES-NI and has no tables).
 */
internal class LegacyGcmCore(key: ByteArray, keyOffset: Int, keyLength: Int) {
    private val ecb: Cipher = Cipher.getInstance("AES/ECB/NoPadding").apply {
        init(Cipher.ENCRYPT_MODE, SecretKeySpec(key, keyOffset, keyLength, "AES"))
    }

    // GHASH tables: entry (p, v) is (nibble v at nibble position p of a block) times H, as high and low 64 bits.
    private val tableHi = LongArray(POSITIONS * 16)
    private val tableLo = LongArray(POSITIONS * 16)

    // Counter blocks in, key stream out; block 0 of the first batch of an operation is J0, whose encryption masks the tag.
    private val counters = ByteArray(BATCH_BLOCKS * BLOCK)
    private val stream = ByteArray(BATCH_BLOCKS * BLOCK)
    private var streamPos = 0
    private var streamEnd = 0
    private var counter = 0
    private var needJ0 = true
    private val maskJ0 = ByteArray(BLOCK)

    // GHASH state: the accumulator, a partial block, and the byte counts of AAD and ciphertext.
    private var yHi = 0L
    private var yLo = 0L
    private val partial = ByteArray(BLOCK)
    private var partialLength = 0
    private var inCiphertext = false
    private var aadBytes = 0L
    private var textBytes = 0L

    /** The tag of the last [finish]. */
    private val tag = ByteArray(BLOCK)

    init {
        val h = ByteArray(BLOCK)
        ecb.update(h, 0, BLOCK, h, 0)
        buildTables(readLong(h, 0), readLong(h, 8))
        h.fill(0)
    }

    /** Starts an operation with the 12-byte IV at `iv[ivOffset ...]`. */
    fun start(iv: ByteArray, ivOffset: Int) {
        for (b in 0 until BATCH_BLOCKS) System.arraycopy(iv, ivOffset, counters, b * BLOCK, IV_LENGTH)
        counter = 1
        needJ0 = true
        streamPos = 0
        streamEnd = 0
        yHi = 0L
        yLo = 0L
        partialLength = 0
        inCiphertext = false
        aadBytes = 0L
        textBytes = 0L
    }

    /** Feeds additional authenticated data; all of it comes before any text. */
    fun aad(buf: ByteArray, off: Int, len: Int) {
        aadBytes += len
        hash(buf, off, len)
    }

    /** Feeds ciphertext to the tag without decrypting it (verify first, then [decrypt] with `authenticated = true`). */
    fun authenticate(buf: ByteArray, off: Int, len: Int) {
        enterCiphertext()
        textBytes += len
        hash(buf, off, len)
    }

    /** Encrypts `len` bytes from `input[inOff ...]` to `out[outOff ...]` (may be the same range) and hashes the result. */
    fun encrypt(input: ByteArray, inOff: Int, len: Int, out: ByteArray, outOff: Int) {
        enterCiphertext()
        textBytes += len
        var done = 0
        while (done < len) {
            val n = xorStream(input, inOff + done, out, outOff + done, len - done)
            hash(out, outOff + done, n)
            done += n
        }
    }

    /**
     * Decrypts `len` bytes from `input[inOff ...]` to `out[outOff ...]` (may be the same range). Unless
     * [authenticated] (the ciphertext was already fed to [authenticate]), the ciphertext is hashed before it is
     * overwritten.
     */
    fun decrypt(input: ByteArray, inOff: Int, len: Int, out: ByteArray, outOff: Int, authenticated: Boolean = false) {
        if (!authenticated) {
            enterCiphertext()
            textBytes += len
        }
        var done = 0
        while (done < len) {
            val chunk = minOf(len - done, BATCH_BLOCKS * BLOCK - BLOCK)
            if (!authenticated) hash(input, inOff + done, chunk)
            var k = 0
            while (k < chunk) k += xorStream(input, inOff + done + k, out, outOff + done + k, chunk - k)
            done += chunk
        }
    }

    /** Completes the tag over everything fed since [start]. */
    fun finish() {
        enterCiphertext()
        if (partialLength > 0) {
            partial.fill(0, partialLength, BLOCK)
            multiplyIn(readLong(partial, 0), readLong(partial, 8))
            partialLength = 0
        }
        multiplyIn(aadBytes * 8, textBytes * 8)
        if (needJ0) refill(0)
        writeLong(tag, 0, yHi)
        writeLong(tag, 8, yLo)
        for (i in 0 until BLOCK) tag[i] = (tag[i].toInt() xor maskJ0[i].toInt()).toByte()
    }

    /** Copies the first [len] bytes of the tag of the last [finish] to `out[off ...]`. */
    fun copyTag(out: ByteArray, off: Int, len: Int) {
        System.arraycopy(tag, 0, out, off, len)
    }

    /** True if `buf[off, off + len)` equals the first [len] bytes of the last [finish]'s tag; constant time in the content. */
    fun tagMatches(buf: ByteArray, off: Int, len: Int): Boolean {
        var diff = 0
        for (i in 0 until len) diff = diff or (buf[off + i].toInt() xor tag[i].toInt())
        return diff == 0
    }

    private fun enterCiphertext() {
        if (inCiphertext) return
        inCiphertext = true
        if (partialLength > 0) {
            partial.fill(0, partialLength, BLOCK)
            multiplyIn(readLong(partial, 0), readLong(partial, 8))
            partialLength = 0
        }
    }

    /** XORs up to [len] bytes of key stream into out; returns how many (at least 1). */
    private fun xorStream(input: ByteArray, inOff: Int, out: ByteArray, outOff: Int, len: Int): Int {
        if (streamPos == streamEnd) refill(len)
        val n = minOf(len, streamEnd - streamPos)
        val s = stream
        var p = streamPos
        for (i in 0 until n) {
            out[outOff + i] = (input[inOff + i].toInt() xor s[p].toInt()).toByte()
            p++
        }
        streamPos = p
        return n
    }

    /** Encrypts the next counter blocks, enough for [bytes] (at least one block, at most one batch), J0 first if due. */
    private fun refill(bytes: Int) {
        var blocks = minOf(BATCH_BLOCKS - 1, (bytes + BLOCK - 1) / BLOCK)
        var first = 0
        if (needJ0) {
            writeCounter(0, 1)
            first = 1
        }
        if (blocks == 0 && !needJ0) blocks = 1
        for (b in 0 until blocks) {
            counter++
            writeCounter(first + b, counter)
        }
        val total = first + blocks
        ecb.update(counters, 0, total * BLOCK, stream, 0)
        if (needJ0) {
            System.arraycopy(stream, 0, maskJ0, 0, BLOCK)
            needJ0 = false
        }
        streamPos = first * BLOCK
        streamEnd = total * BLOCK
    }

    private fun writeCounter(block: Int, value: Int) {
        val at = block * BLOCK + IV_LENGTH
        counters[at] = (value ushr 24).toByte()
        counters[at + 1] = (value ushr 16).toByte()
        counters[at + 2] = (value ushr 8).toByte()
        counters[at + 3] = value.toByte()
    }

    private fun hash(buf: ByteArray, off: Int, len: Int) {
        var i = off
        val end = off + len
        if (partialLength > 0) {
            while (partialLength < BLOCK && i < end) partial[partialLength++] = buf[i++]
            if (partialLength < BLOCK) return
            multiplyIn(readLong(partial, 0), readLong(partial, 8))
            partialLength = 0
        }
        while (end - i >= BLOCK) {
            multiplyIn(readLong(buf, i), readLong(buf, i + 8))
            i += BLOCK
        }
        while (i < end) partial[partialLength++] = buf[i++]
    }

    /** Y = (Y xor X) * H, with one table lookup per nibble of Y xor X. */
    private fun multiplyIn(xHi: Long, xLo: Long) {
        val a = yHi xor xHi
        val b = yLo xor xLo
        val th = tableHi
        val tl = tableLo
        var zHi = 0L
        var zLo = 0L
        var shift = 60
        var base = 0
        while (shift >= 0) {
            val i = base + ((a ushr shift).toInt() and 15)
            zHi = zHi xor th[i]
            zLo = zLo xor tl[i]
            shift -= 4
            base += 16
        }
        shift = 60
        while (shift >= 0) {
            val i = base + ((b ushr shift).toInt() and 15)
            zHi = zHi xor th[i]
            zLo = zLo xor tl[i]
            shift -= 4
            base += 16
        }
        yHi = zHi
        yLo = zLo
    }

    /**
     * Fills the tables from H. Bit k of a block (k = 0 the most significant bit of byte 0) stands for x^k, and
     * multiplying by x is a right shift with the reduction 0xE1 << 120 when bit 127 falls out.
     */
    private fun buildTables(hHi: Long, hLo: Long) {
        // powers[k] = H * x^k for k = 0..127.
        val pHi = LongArray(128)
        val pLo = LongArray(128)
        var vh = hHi
        var vl = hLo
        for (k in 0 until 128) {
            pHi[k] = vh
            pLo[k] = vl
            val carry = vl and 1L
            vl = (vl ushr 1) or (vh shl 63)
            vh = (vh ushr 1) xor (REDUCTION and -carry)
        }
        for (p in 0 until POSITIONS) {
            for (v in 0 until 16) {
                var zh = 0L
                var zl = 0L
                // Nibble value bit 8 is the nibble's first (lowest k) bit.
                for (t in 0 until 4) {
                    if (v and (8 ushr t) != 0) {
                        zh = zh xor pHi[4 * p + t]
                        zl = zl xor pLo[4 * p + t]
                    }
                }
                tableHi[p * 16 + v] = zh
                tableLo[p * 16 + v] = zl
            }
        }
        pHi.fill(0)
        pLo.fill(0)
    }

    override fun toString(): String = "LegacyGcmCore"

    companion object {
        const val BLOCK: Int = 16
        const val IV_LENGTH: Int = 12
        private const val POSITIONS = 32
        // 64 blocks (1 KiB) of key stream per batch: a voice packet needs one batch.
        private const val BATCH_BLOCKS = 65
        private const val REDUCTION = -0x1f00000000000000L // 0xE1 << 56 as a signed Long

        fun readLong(b: ByteArray, off: Int): Long =
            (b[off].toLong() shl 56) or
                ((b[off + 1].toLong() and 0xFF) shl 48) or
                ((b[off + 2].toLong() and 0xFF) shl 40) or
                ((b[off + 3].toLong() and 0xFF) shl 32) or
                ((b[off + 4].toLong() and 0xFF) shl 24) or
                ((b[off + 5].toLong() and 0xFF) shl 16) or
                ((b[off + 6].toLong() and 0xFF) shl 8) or
                (b[off + 7].toLong() and 0xFF)

        fun writeLong(b: ByteArray, off: Int, v: Long) {
            for (i in 0 until 8) b[off + i] = (v ushr (56 - 8 * i)).toByte()
        }
    }
}
