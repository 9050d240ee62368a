package dev.earshot.voice.crypto

import java.lang.invoke.MethodHandles
import java.lang.invoke.VarHandle
import java.nio.ByteOrder
import javax.crypto.Cipher
import javax.crypto.spec.SecretKeySpec

/**
 * AES-GCM (NIST SP 800-38D) for one key with a 96-bit IV, built so that a warm operation allocates nothing: the block
 * cipher is the JDK's `AES/ECB/NoPadding`, initialised once per key (HotSpot runs it on AES-NI), which turns a batch
 * of counter blocks into key stream in one call; GHASH is computed here with tables built once per key: with
 * [wideTables] 8-bit (16 byte positions x 256 values x 128 bits = 64 KiB, 16 lookups per block), else 4-bit (32 nibble
 * positions x 16 values = 8 KiB, 32 lookups per block; better where many keys are in use at once and their tables
 * would not stay in the CPU's caches). Each multiplication is unrolled with four independent partial sums. Blocks
 * are read, and key stream is applied, eight bytes at a time through [VarHandle] views of the byte arrays. The JDK's
 * own GCM rebuilds its engine on every `init` (about 1 KB per packet on JDK 17) and refuses tags shorter than 96 bits,
 * which DAVE needs; this class does neither.
 *
 * One operation: [start], any [aad] calls, then [encrypt] or [decrypt] calls (or only [authenticate] calls followed
 * by [decrypt]s, see there), then [finish], which yields the full 16-byte tag, then [tagMatches] to compare a
 * received tag of any length in constant time. Not thread-safe: one instance per user of the key.
 *
 * Side channels: the GHASH tables are indexed by the running hash, as in BouncyCastle's and OpenSSL's table-driven
 * GCM multipliers; a process sharing the CPU cache could in principle learn about the hash key from the access
 * pattern (the AES itself runs on AES-NI and has no tables).
 */
internal class GcmCore(
    key: ByteArray,
    keyOffset: Int,
    keyLength: Int,
    private val wideTables: Boolean = true,
    sharedTable: LongArray? = null,
) {
    private val ecb: Cipher = Cipher.getInstance("AES/ECB/NoPadding").apply {
        init(Cipher.ENCRYPT_MODE, SecretKeySpec(key, keyOffset, keyLength, "AES"))
    }

    // GHASH table: entry (p, v) is (value v of the chunk at position p of a block; chunks of 8 or 4 bits) times H, its
    // high and low 64 bits side by side at [2 * (values * p + v)] so that one lookup touches one cache line.
    // Only read once built, so two instances for the same key (a connection's receive and send ciphers, on different
    // threads) share one: [ghashTable] of the first is [sharedTable] of the second (64 KiB less per connection).
    private val table = sharedTable?.also { require(it.size == tableSize(wideTables)) { "a shared table of the wrong width" } }
        ?: LongArray(tableSize(wideTables))

    /** The GHASH table, to share with another instance for the same key and width; never written after construction. */
    val ghashTable: LongArray get() = table

    // Counter blocks in, key stream out; block 0 of the first batch of an operation is J0, whose encryption masks the tag.
    private val counters = ByteArray(BATCH_BLOCKS * BLOCK)
    private val stream = ByteArray(BATCH_BLOCKS * BLOCK)
    private var streamPos = 0
    private var streamEnd = 0
    private var counter = 0
    private var needJ0 = true
    private var ivHigh = 0L
    private var ivLow = 0
    private var maskHi = 0L
    private var maskLo = 0L

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
        if (sharedTable == null) {
            if (wideTables) buildTable(readLong(h, 0), readLong(h, 8), 8) else buildTable(readLong(h, 0), readLong(h, 8), 4)
        }
        h.fill(0)
    }

    /**
     * Starts an operation with the 12-byte IV at `iv[ivOffset ...]`. If [textLength] (bytes of text the operation will
     * process) is given, J0 and the key stream for that many bytes (up to 1 KiB) are made now in one call of the block
     * cipher; otherwise as the text arrives.
     */
    fun start(iv: ByteArray, ivOffset: Int, textLength: Int = 0) {
        ivHigh = readLong(iv, ivOffset)
        ivLow = readInt(iv, ivOffset + 8)
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
        if (textLength > 0) refill(textLength)
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
            val n = xorStream(input, inOff + done, out, outOff + done, len - done, hashFirst = !authenticated)
            done += n
        }
    }

    /** Completes the tag over everything fed since [start]. */
    fun finish() {
        enterCiphertext()
        if (partialLength > 0) {
            partial.fill(0, partialLength, BLOCK)
            multiplyIn(partial, 0, 1)
            partialLength = 0
        }
        writeLong(partial, 0, aadBytes * 8)
        writeLong(partial, 8, textBytes * 8)
        multiplyIn(partial, 0, 1)
        if (needJ0) refill(0)
        writeLong(tag, 0, yHi xor maskHi)
        writeLong(tag, 8, yLo xor maskLo)
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
            multiplyIn(partial, 0, 1)
            partialLength = 0
        }
    }

    /**
     * XORs up to [len] bytes of key stream into out, eight at a time; returns how many (at least 1). With [hashFirst]
     * the input is fed to GHASH before out (which may alias it) is written.
     */
    private fun xorStream(
        input: ByteArray, inOff: Int, out: ByteArray, outOff: Int, len: Int, hashFirst: Boolean = false,
    ): Int {
        if (streamPos == streamEnd) refill(len)
        val n = minOf(len, streamEnd - streamPos)
        if (hashFirst) hash(input, inOff, n)
        val s = stream
        val p = streamPos
        var i = 0
        while (i <= n - 8) {
            val k = NATIVE_LONG.get(s, p + i) as Long
            val x = NATIVE_LONG.get(input, inOff + i) as Long
            NATIVE_LONG.set(out, outOff + i, x xor k)
            i += 8
        }
        while (i < n) {
            out[outOff + i] = (input[inOff + i].toInt() xor s[p + i].toInt()).toByte()
            i++
        }
        streamPos = p + n
        return n
    }

    /** Encrypts the next counter blocks, enough for [bytes] (at least one block, at most one batch), J0 first if due. */
    private fun refill(bytes: Int) {
        var blocks = minOf(BATCH_BLOCKS - 1, (bytes + BLOCK - 1) / BLOCK)
        var first = 0
        if (needJ0) {
            writeCounter(0, 1)
            first = 1
        } else if (blocks == 0) {
            blocks = 1
        }
        for (b in 0 until blocks) {
            counter++
            writeCounter(first + b, counter)
        }
        val total = first + blocks
        ecb.update(counters, 0, total * BLOCK, stream, 0)
        if (needJ0) {
            maskHi = readLong(stream, 0)
            maskLo = readLong(stream, 8)
            needJ0 = false
        }
        streamPos = first * BLOCK
        streamEnd = total * BLOCK
    }

    private fun writeCounter(block: Int, value: Int) {
        val at = block * BLOCK
        writeLong(counters, at, ivHigh)
        writeLong(counters, at + 8, (ivLow.toLong() shl 32) or (value.toLong() and 0xFFFFFFFFL))
    }

    private fun hash(buf: ByteArray, off: Int, len: Int) {
        var i = off
        val end = off + len
        if (partialLength > 0) {
            while (partialLength < BLOCK && i < end) partial[partialLength++] = buf[i++]
            if (partialLength < BLOCK) return
            multiplyIn(partial, 0, 1)
            partialLength = 0
        }
        val blocks = (end - i) / BLOCK
        if (blocks > 0) {
            multiplyIn(buf, i, blocks)
            i += blocks * BLOCK
        }
        while (i < end) partial[partialLength++] = buf[i++]
    }

    /** Y = (...((Y xor X1) * H xor X2) * H ...) for the [blocks] whole blocks at `buf[off ...]`. */
    private fun multiplyIn(buf: ByteArray, off: Int, blocks: Int) {
        if (wideTables) multiply8(buf, off, blocks) else multiply4(buf, off, blocks)
    }

    /** As [multiply8] with 4-bit tables: 32 lookups, four partial sums of eight. */
    private fun multiply4(buf: ByteArray, off: Int, blocks: Int) {
        // The accumulator stays in locals across blocks: no call or field round trip per block.
        var accHi = yHi
        var accLo = yLo
        val t = table
        var at = off
        repeat(blocks) {
            val a = accHi xor readLong(buf, at)
            val b = accLo xor readLong(buf, at + 8)
            val i0 = ((a ushr 59).toInt() and 0x1E)
            var pHi = t[i0]
            var pLo = t[i0 + 1]
            val i1 = 0x20 + ((a ushr 55).toInt() and 0x1E)
            pHi = pHi xor t[i1]
            pLo = pLo xor t[i1 + 1]
            val i2 = 0x40 + ((a ushr 51).toInt() and 0x1E)
            pHi = pHi xor t[i2]
            pLo = pLo xor t[i2 + 1]
            val i3 = 0x60 + ((a ushr 47).toInt() and 0x1E)
            pHi = pHi xor t[i3]
            pLo = pLo xor t[i3 + 1]
            val i4 = 0x80 + ((a ushr 43).toInt() and 0x1E)
            pHi = pHi xor t[i4]
            pLo = pLo xor t[i4 + 1]
            val i5 = 0xA0 + ((a ushr 39).toInt() and 0x1E)
            pHi = pHi xor t[i5]
            pLo = pLo xor t[i5 + 1]
            val i6 = 0xC0 + ((a ushr 35).toInt() and 0x1E)
            pHi = pHi xor t[i6]
            pLo = pLo xor t[i6 + 1]
            val i7 = 0xE0 + ((a ushr 31).toInt() and 0x1E)
            pHi = pHi xor t[i7]
            pLo = pLo xor t[i7 + 1]
            val i8 = 0x100 + ((a ushr 27).toInt() and 0x1E)
            var qHi = t[i8]
            var qLo = t[i8 + 1]
            val i9 = 0x120 + ((a ushr 23).toInt() and 0x1E)
            qHi = qHi xor t[i9]
            qLo = qLo xor t[i9 + 1]
            val i10 = 0x140 + ((a ushr 19).toInt() and 0x1E)
            qHi = qHi xor t[i10]
            qLo = qLo xor t[i10 + 1]
            val i11 = 0x160 + ((a ushr 15).toInt() and 0x1E)
            qHi = qHi xor t[i11]
            qLo = qLo xor t[i11 + 1]
            val i12 = 0x180 + ((a ushr 11).toInt() and 0x1E)
            qHi = qHi xor t[i12]
            qLo = qLo xor t[i12 + 1]
            val i13 = 0x1A0 + ((a ushr 7).toInt() and 0x1E)
            qHi = qHi xor t[i13]
            qLo = qLo xor t[i13 + 1]
            val i14 = 0x1C0 + ((a ushr 3).toInt() and 0x1E)
            qHi = qHi xor t[i14]
            qLo = qLo xor t[i14 + 1]
            val i15 = 0x1E0 + ((a.toInt() shl 1) and 0x1E)
            qHi = qHi xor t[i15]
            qLo = qLo xor t[i15 + 1]
            val i16 = 0x200 + ((b ushr 59).toInt() and 0x1E)
            var rHi = t[i16]
            var rLo = t[i16 + 1]
            val i17 = 0x220 + ((b ushr 55).toInt() and 0x1E)
            rHi = rHi xor t[i17]
            rLo = rLo xor t[i17 + 1]
            val i18 = 0x240 + ((b ushr 51).toInt() and 0x1E)
            rHi = rHi xor t[i18]
            rLo = rLo xor t[i18 + 1]
            val i19 = 0x260 + ((b ushr 47).toInt() and 0x1E)
            rHi = rHi xor t[i19]
            rLo = rLo xor t[i19 + 1]
            val i20 = 0x280 + ((b ushr 43).toInt() and 0x1E)
            rHi = rHi xor t[i20]
            rLo = rLo xor t[i20 + 1]
            val i21 = 0x2A0 + ((b ushr 39).toInt() and 0x1E)
            rHi = rHi xor t[i21]
            rLo = rLo xor t[i21 + 1]
            val i22 = 0x2C0 + ((b ushr 35).toInt() and 0x1E)
            rHi = rHi xor t[i22]
            rLo = rLo xor t[i22 + 1]
            val i23 = 0x2E0 + ((b ushr 31).toInt() and 0x1E)
            rHi = rHi xor t[i23]
            rLo = rLo xor t[i23 + 1]
            val i24 = 0x300 + ((b ushr 27).toInt() and 0x1E)
            var sHi = t[i24]
            var sLo = t[i24 + 1]
            val i25 = 0x320 + ((b ushr 23).toInt() and 0x1E)
            sHi = sHi xor t[i25]
            sLo = sLo xor t[i25 + 1]
            val i26 = 0x340 + ((b ushr 19).toInt() and 0x1E)
            sHi = sHi xor t[i26]
            sLo = sLo xor t[i26 + 1]
            val i27 = 0x360 + ((b ushr 15).toInt() and 0x1E)
            sHi = sHi xor t[i27]
            sLo = sLo xor t[i27 + 1]
            val i28 = 0x380 + ((b ushr 11).toInt() and 0x1E)
            sHi = sHi xor t[i28]
            sLo = sLo xor t[i28 + 1]
            val i29 = 0x3A0 + ((b ushr 7).toInt() and 0x1E)
            sHi = sHi xor t[i29]
            sLo = sLo xor t[i29 + 1]
            val i30 = 0x3C0 + ((b ushr 3).toInt() and 0x1E)
            sHi = sHi xor t[i30]
            sLo = sLo xor t[i30 + 1]
            val i31 = 0x3E0 + ((b.toInt() shl 1) and 0x1E)
            sHi = sHi xor t[i31]
            sLo = sLo xor t[i31 + 1]
            accHi = (pHi xor qHi) xor (rHi xor sHi)
            accLo = (pLo xor qLo) xor (rLo xor sLo)
            at += BLOCK
        }
        yHi = accHi
        yLo = accLo
    }

    /**
     * Y = (Y xor X) * H for each of the [blocks] blocks X at `buf[off ...]` in turn, with one table lookup per byte of
     * Y xor X. Unrolled, with four partial sums of four lookups each, so that the XORs form a shallow tree rather than
     * one chain of 16.
     */
    private fun multiply8(buf: ByteArray, off: Int, blocks: Int) {
        // The accumulator stays in locals across blocks: no call or field round trip per block.
        var accHi = yHi
        var accLo = yLo
        val t = table
        var at = off
        repeat(blocks) {
            val a = accHi xor readLong(buf, at)
            val b = accLo xor readLong(buf, at + 8)
            val i0 = ((a ushr 55).toInt() and 0x1FE)
            var pHi = t[i0]
            var pLo = t[i0 + 1]
            val i1 = 0x200 + ((a ushr 47).toInt() and 0x1FE)
            pHi = pHi xor t[i1]
            pLo = pLo xor t[i1 + 1]
            val i2 = 0x400 + ((a ushr 39).toInt() and 0x1FE)
            pHi = pHi xor t[i2]
            pLo = pLo xor t[i2 + 1]
            val i3 = 0x600 + ((a ushr 31).toInt() and 0x1FE)
            pHi = pHi xor t[i3]
            pLo = pLo xor t[i3 + 1]
            val i4 = 0x800 + ((a ushr 23).toInt() and 0x1FE)
            var qHi = t[i4]
            var qLo = t[i4 + 1]
            val i5 = 0xA00 + ((a ushr 15).toInt() and 0x1FE)
            qHi = qHi xor t[i5]
            qLo = qLo xor t[i5 + 1]
            val i6 = 0xC00 + ((a ushr 7).toInt() and 0x1FE)
            qHi = qHi xor t[i6]
            qLo = qLo xor t[i6 + 1]
            val i7 = 0xE00 + ((a.toInt() shl 1) and 0x1FE)
            qHi = qHi xor t[i7]
            qLo = qLo xor t[i7 + 1]
            val i8 = 0x1000 + ((b ushr 55).toInt() and 0x1FE)
            var rHi = t[i8]
            var rLo = t[i8 + 1]
            val i9 = 0x1200 + ((b ushr 47).toInt() and 0x1FE)
            rHi = rHi xor t[i9]
            rLo = rLo xor t[i9 + 1]
            val i10 = 0x1400 + ((b ushr 39).toInt() and 0x1FE)
            rHi = rHi xor t[i10]
            rLo = rLo xor t[i10 + 1]
            val i11 = 0x1600 + ((b ushr 31).toInt() and 0x1FE)
            rHi = rHi xor t[i11]
            rLo = rLo xor t[i11 + 1]
            val i12 = 0x1800 + ((b ushr 23).toInt() and 0x1FE)
            var sHi = t[i12]
            var sLo = t[i12 + 1]
            val i13 = 0x1A00 + ((b ushr 15).toInt() and 0x1FE)
            sHi = sHi xor t[i13]
            sLo = sLo xor t[i13 + 1]
            val i14 = 0x1C00 + ((b ushr 7).toInt() and 0x1FE)
            sHi = sHi xor t[i14]
            sLo = sLo xor t[i14 + 1]
            val i15 = 0x1E00 + ((b.toInt() shl 1) and 0x1FE)
            sHi = sHi xor t[i15]
            sLo = sLo xor t[i15 + 1]
            accHi = (pHi xor qHi) xor (rHi xor sHi)
            accLo = (pLo xor qLo) xor (rLo xor sLo)
            at += BLOCK
        }
        yHi = accHi
        yLo = accLo
    }

    /**
     * Fills the table from H. Bit k of a block (k = 0 the most significant bit of byte 0) stands for x^k, and
     * multiplying by x is a right shift with the reduction 0xE1 << 120 when bit 127 falls out.
     */
    private fun buildTable(hHi: Long, hLo: Long, bits: Int) {
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
        val t = table
        val values = 1 shl bits
        for (p in 0 until 128 / bits) {
            val base = p * values * 2
            // The value's top bit is the chunk's first (lowest k) bit; every other value is the XOR of its lowest set
            // bit's entry and the entry of the rest, both already filled when values go up.
            for (v in 1 until values) {
                val low = v and -v
                val rest = v xor low
                val e = base + 2 * v
                if (rest == 0) {
                    val k = bits * p + Integer.numberOfLeadingZeros(v) - (32 - bits)
                    t[e] = pHi[k]
                    t[e + 1] = pLo[k]
                } else {
                    t[e] = t[base + 2 * rest] xor t[base + 2 * low]
                    t[e + 1] = t[base + 2 * rest + 1] xor t[base + 2 * low + 1]
                }
            }
        }
        pHi.fill(0)
        pLo.fill(0)
    }

    override fun toString(): String = "GcmCore"

    companion object {
        const val BLOCK: Int = 16
        const val IV_LENGTH: Int = 12
        // 64 blocks (1 KiB) of key stream per batch: a voice packet needs one batch.
        private const val BATCH_BLOCKS = 65
        private const val REDUCTION = -0x1f00000000000000L // 0xE1 << 56 as a signed Long

        // Views of byte arrays as longs/ints; HotSpot compiles their accesses to plain (unaligned) loads and stores.
        fun tableSize(wideTables: Boolean): Int = if (wideTables) 16 * 256 * 2 else 32 * 16 * 2

        private val BIG_ENDIAN_LONG: VarHandle = MethodHandles.byteArrayViewVarHandle(LongArray::class.java, ByteOrder.BIG_ENDIAN)
        private val BIG_ENDIAN_INT: VarHandle = MethodHandles.byteArrayViewVarHandle(IntArray::class.java, ByteOrder.BIG_ENDIAN)
        // Key stream XOR does not care about byte order, so it uses the CPU's own.
        private val NATIVE_LONG: VarHandle = MethodHandles.byteArrayViewVarHandle(LongArray::class.java, ByteOrder.nativeOrder())

        fun readLong(b: ByteArray, off: Int): Long = BIG_ENDIAN_LONG.get(b, off) as Long

        fun readInt(b: ByteArray, off: Int): Int = BIG_ENDIAN_INT.get(b, off) as Int

        fun writeLong(b: ByteArray, off: Int, v: Long) {
            BIG_ENDIAN_LONG.set(b, off, v)
        }
    }
}
