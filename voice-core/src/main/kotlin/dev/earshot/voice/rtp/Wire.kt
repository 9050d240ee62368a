package dev.earshot.voice.rtp

/**
 * Big-endian reads and writes shared by the packet parsers and writers.
 *
 * Callers check bounds before calling; these helpers exist so that no parser repeats the masking and shifting.
 */
internal object Wire {
    fun u8(b: ByteArray, i: Int): Int = b[i].toInt() and 0xFF

    fun u16(b: ByteArray, i: Int): Int = (u8(b, i) shl 8) or u8(b, i + 1)

    fun u24(b: ByteArray, i: Int): Int = (u8(b, i) shl 16) or (u8(b, i + 1) shl 8) or u8(b, i + 2)

    fun u32(b: ByteArray, i: Int): Long = (u16(b, i).toLong() shl 16) or u16(b, i + 2).toLong()

    fun put16(b: ByteArray, i: Int, v: Int) {
        b[i] = (v ushr 8).toByte()
        b[i + 1] = v.toByte()
    }

    fun put32(b: ByteArray, i: Int, v: Long) {
        put16(b, i, (v ushr 16).toInt())
        put16(b, i + 2, v.toInt())
    }

    /** True when `[offset, offset + length)` lies inside [buf]; written so that huge values cannot overflow. */
    fun inBounds(buf: ByteArray, offset: Int, length: Int): Boolean =
        offset >= 0 && length >= 0 && offset <= buf.size - length
}
