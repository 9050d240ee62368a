package dev.earshot.voice.dave

/**
 * Unsigned LEB128 for 32-bit values, as DAVE writes its truncated nonce and unencrypted ranges: 7 bits per byte,
 * least significant group first, the top bit set on every byte but the last.
 *
 * Reading is zero-copy and allocation-free: [read] packs the value and the byte count into one Long. Values are
 * unsigned 32-bit numbers carried in an Int (use `toUInt()`/`toLong() and 0xFFFFFFFF` to see them as unsigned).
 * Only the shortest encoding is accepted: an encoding longer than 5 bytes, with bits beyond 32, with a needless
 * trailing zero group (overlong), or cut off by the end of the window is rejected. libdave and davey only ever write
 * the shortest form.
 */
internal object Leb128 {
    /** The longest encoding of a 32-bit value. */
    const val MAX_BYTES: Int = 5

    /** Returned by [read] for malformed or truncated input. */
    const val INVALID: Long = -1L

    private const val PAYLOAD_MASK = 0x7F
    private const val CONTINUE = 0x80
    private const val BITS_PER_BYTE = 7
    private const val LENGTH_SHIFT = 32
    private const val VALUE_MASK = 0xFFFF_FFFFL

    /** The 5th byte may carry only bits 28..31 of the value. */
    private const val LAST_BYTE_MAX = 0x0F

    /**
     * Reads one value from `buf[offset until end)`. Returns [INVALID], or the value in the low 32 bits and the
     * number of bytes read in the high bits (decode them with [value] and [length]). Never throws.
     */
    fun read(buf: ByteArray, offset: Int, end: Int): Long {
        if (offset < 0 || end > buf.size || offset >= end) return INVALID
        var result = 0L
        var i = 0
        while (i < MAX_BYTES) {
            if (offset + i >= end) return INVALID
            val b = buf[offset + i].toInt() and 0xFF
            if (i == MAX_BYTES - 1 && b > LAST_BYTE_MAX) return INVALID
            result = result or ((b and PAYLOAD_MASK).toLong() shl (BITS_PER_BYTE * i))
            if (b and CONTINUE == 0) {
                // A zero final group after other groups would have been left out by the shortest encoding.
                if (b == 0 && i > 0) return INVALID
                return ((i + 1).toLong() shl LENGTH_SHIFT) or result
            }
            i++
        }
        return INVALID
    }

    /** The value of a successful [read] result, as an unsigned 32-bit Int. */
    fun value(packed: Long): Int = (packed and VALUE_MASK).toInt()

    /** The number of bytes consumed by a successful [read]. */
    fun length(packed: Long): Int = (packed ushr LENGTH_SHIFT).toInt()

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
