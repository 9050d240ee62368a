package dev.earshot.voice.dave.mls

import java.io.ByteArrayOutputStream

/**
 * The variable-length vectors of RFC 9420 §2.1.2: a QUIC-style varint length (1, 2 or 4 bytes, the top two bits of
 * the first byte give the size) followed by that many bytes. DAVE's binary opcodes are built from them.
 */
internal object MlsVectors {
    /** The largest length a 4-byte varint can carry. */
    const val MAX_LENGTH: Int = 0x3FFF_FFFF

    /** [body] with its varint length in front (shortest encoding). */
    fun encode(body: ByteArray): ByteArray {
        val out = ByteArrayOutputStream(body.size + 4)
        writeLength(out, body.size)
        out.write(body)
        return out.toByteArray()
    }

    /** The concatenation of [items], each as its own vector, wrapped in one outer vector (e.g. `ProposalRef refs<V>`). */
    fun encodeVectorOfVectors(items: List<ByteArray>): ByteArray {
        val inner = ByteArrayOutputStream()
        for (item in items) inner.write(encode(item))
        return encode(inner.toByteArray())
    }

    private fun writeLength(out: ByteArrayOutputStream, length: Int) {
        require(length in 0..MAX_LENGTH) { "vector too long: $length" }
        when {
            length < 0x40 -> out.write(length)
            length < 0x4000 -> { out.write(0x40 or (length ushr 8)); out.write(length and 0xFF) }
            else -> {
                out.write(0x80 or (length ushr 24)); out.write((length ushr 16) and 0xFF)
                out.write((length ushr 8) and 0xFF); out.write(length and 0xFF)
            }
        }
    }

    /** Reads vectors and bytes from `bytes[start, end)`; every overrun is a [DaveMlsException]. */
    class Reader(private val bytes: ByteArray, start: Int = 0, private val end: Int = bytes.size) {
        var position: Int = start
            private set

        init {
            if (start < 0 || end > bytes.size || start > end) throw DaveMlsException("bad reader bounds")
        }

        val remaining: Int get() = end - position

        fun readByte(): Int {
            if (remaining < 1) throw DaveMlsException("truncated: expected a byte")
            return bytes[position++].toInt() and 0xFF
        }

        /** A varint length; the 0b11 prefix (8-byte form) is not used by MLS and is refused. */
        fun readLength(): Int {
            val first = readByte()
            return when (first ushr 6) {
                0 -> first
                1 -> ((first and 0x3F) shl 8) or readByte()
                2 -> {
                    var v = first and 0x3F
                    repeat(3) { v = (v shl 8) or readByte() }
                    v
                }
                else -> throw DaveMlsException("invalid varint prefix")
            }
        }

        /** The body of the next vector. */
        fun readVector(): ByteArray {
            val length = readLength()
            if (length > remaining) throw DaveMlsException("vector of $length bytes overruns the input ($remaining left)")
            return bytes.copyOfRange(position, position + length).also { position += length }
        }

        /** Fails unless every byte has been read. */
        fun requireEnd() {
            if (remaining != 0) throw DaveMlsException("$remaining trailing bytes")
        }
    }
}
