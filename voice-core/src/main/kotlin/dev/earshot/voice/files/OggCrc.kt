package dev.earshot.voice.files

/**
 * The Ogg page checksum (RFC 3533 §6): CRC-32 with polynomial 0x04C11DB7, initial value 0, no bit reflection
 * and no final XOR. This is not `java.util.zip.CRC32`, which reflects its bits.
 */
internal object OggCrc {
    private const val POLYNOMIAL = 0x04C11DB7

    private val TABLE = IntArray(256) { i ->
        var r = i shl 24
        repeat(8) { r = if (r < 0) (r shl 1) xor POLYNOMIAL else r shl 1 }
        r
    }

    /** The checksum of `buf[offset until offset + length]`, continuing from [crc] (0 to start). */
    fun update(crc: Int, buf: ByteArray, offset: Int, length: Int): Int {
        var c = crc
        for (i in offset until offset + length) {
            c = (c shl 8) xor TABLE[((c ushr 24) xor buf[i].toInt()) and 0xFF]
        }
        return c
    }
}
