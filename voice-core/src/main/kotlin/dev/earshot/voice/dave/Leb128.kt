package dev.earshot.voice.dave

/**
 * Unsigned LEB128 as DAVE writes its truncated nonce and unencrypted ranges: 7 bits per byte, least significant
 * group first, the top bit set on every byte but the last.
 *
 * Reading is zero-copy and allocation-free: [read] packs the value's low 32 bits, the byte count and whether the
 * value fits in 32 bits into one Long. It reads what libdave's `ReadLeb128` reads (Discord's clients run libdave, so
 * a frame it accepts must not be refused here): any encoding of a 64-bit value, shortest or not (`80 00` is 0), up to
 * 10 bytes, the 10th carrying at most one bit; input cut off before the last byte is invalid. The truncated nonce is
 * the value's low 32 bits (libdave casts it to `uint32_t`); a range needs [fits32]. Writing always uses the shortest
 * form, as libdave and davey do.
 */
internal object Leb128 {
    /** The longest encoding [write] produces (a 32-bit value). */
    const val MAX_BYTES: Int = 5

    /** The longest encoding [read] accepts: a 64-bit value, as libdave reads it. */
    const val MAX_READ_BYTES: Int = 10

    /** Returned by [read] for malformed or truncated input. */
    const val INVALID: Long = -1L

    private const val PAYLOAD_MASK = 0x7F
    private const val CONTINUE = 0x80
    private const val BITS_PER_BYTE = 7
    private const val LENGTH_SHIFT = 32
    private const val LENGTH_MASK = 0xFFL
    private const val WIDE_BIT = 1L shl 40
    private const val VALUE_MASK = 0xFFFF_FFFFL

    /** The 10th byte may carry only bit 63 of the value. */
    private const val LAST_BYTE_MAX = 0x01

    /**
     * Reads one value from `buf[offset until end)`. Returns [INVALID], or the packed result (decode it with [value],
     * [length] and [fits32]). Never throws.
     */
    fun read(buf: ByteArray, offset: Int, end: Int): Long {
        if (offset < 0 || end > buf.size || offset >= end) return INVALID
        var wide = false
        var low = 0L
        var i = 0
        while (i < MAX_READ_BYTES) {
            if (offset + i >= end) return INVALID
            val b = buf[offset + i].toInt() and 0xFF
            if (i == MAX_READ_BYTES - 1 && b > LAST_BYTE_MAX) return INVALID
            val group = (b and PAYLOAD_MASK).toLong()
            val shift = BITS_PER_BYTE * i
            // Bits at 32 and above only decide whether the value fits in 32 bits.
            if (shift < LENGTH_SHIFT) {
                low = low or ((group shl shift) and VALUE_MASK)
                if (shift + BITS_PER_BYTE > LENGTH_SHIFT && group ushr (LENGTH_SHIFT - shift) != 0L) wide = true
            } else if (group != 0L) {
                wide = true
            }
            if (b and CONTINUE == 0) {
                return (if (wide) WIDE_BIT else 0L) or ((i + 1).toLong() shl LENGTH_SHIFT) or low
            }
            i++
        }
        return INVALID
    }

    /** Whether the value of a successful [read] result is below 2^32 ([value] is then all of it). */
    fun fits32(packed: Long): Boolean = packed and WIDE_BIT == 0L

    /** The low 32 bits of the value of a successful [read] result, as an unsigned 32-bit Int. */
    fun value(packed: Long): Int = (packed and VALUE_MASK).toInt()

    /** The number of bytes consumed by a successful [read]. */
    fun length(packed: Long): Int = ((packed ushr LENGTH_SHIFT) and LENGTH_MASK).toInt()

    /** The number of bytes [write] uses for [value] (unsigned 32-bit), 1..5. */
    fun size(value: Int): Int {
        var v = value
        var n = 1
        while (v and PAYLOAD_MASK.inv() != 0) {
            v = v ushr BITS_PER_BYTE
            n++
        }
        return n
    }

    /** Writes [value] (unsigned 32-bit) at `buf[offset]` in the shortest form and returns the bytes written. */
    fun write(value: Int, buf: ByteArray, offset: Int): Int {
        var v = value
        var i = 0
        while (v and PAYLOAD_MASK.inv() != 0) {
            buf[offset + i] = ((v and PAYLOAD_MASK) or CONTINUE).toByte()
            v = v ushr BITS_PER_BYTE
            i++
        }
        buf[offset + i] = v.toByte()
        return i + 1
    }
}
