package dev.earshot.voice.files

import java.nio.ByteBuffer
import java.nio.ByteOrder

/** The fields of a PCM WAVE file, read per the RIFF spec independently of [WavHeader]. */
data class ParsedWav(
    val riffSize: Long,
    val formatTag: Int,
    val channels: Int,
    val sampleRate: Long,
    val byteRate: Long,
    val blockAlign: Int,
    val bitsPerSample: Int,
    val dataOffset: Int,
    val dataSize: Long,
)

/** Walks the RIFF chunk list ("fmt " and "data" in any order, other chunks skipped, odd chunks padded). */
object WavParser {
    fun parse(bytes: ByteArray): ParsedWav {
        val b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
        require(bytes.size >= 12) { "shorter than a RIFF preamble: ${bytes.size} bytes" }
        require(fourcc(b, 0) == "RIFF" && fourcc(b, 8) == "WAVE") { "not RIFF/WAVE" }
        val riffSize = uint32(b, 4)
        var at = 12
        var fmt: IntArray? = null
        var fmtRates: LongArray? = null
        while (at + 8 <= bytes.size) {
            val id = fourcc(b, at)
            val size = uint32(b, at + 4)
            if (id == "data") {
                val f = requireNotNull(fmt) { "data chunk before fmt chunk" }
                val r = requireNotNull(fmtRates)
                return ParsedWav(riffSize, f[0], f[1], r[0], r[1], f[2], f[3], at + 8, size)
            }
            if (id == "fmt ") {
                fmt = intArrayOf(uint16(b, at + 8), uint16(b, at + 10), uint16(b, at + 20), uint16(b, at + 22))
                fmtRates = longArrayOf(uint32(b, at + 12), uint32(b, at + 16))
            }
            at += 8 + size.toInt() + (size and 1).toInt()
        }
        error("no data chunk")
    }

    /** The samples of the data chunk as declared by the header (s16le). */
    fun samples(bytes: ByteArray, wav: ParsedWav): ShortArray = s16le(bytes, wav.dataOffset, wav.dataSize.toInt())

    fun s16le(bytes: ByteArray, from: Int, length: Int): ShortArray {
        val b = ByteBuffer.wrap(bytes, from, length).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer()
        return ShortArray(b.remaining()).also { b.get(it) }
    }

    private fun fourcc(b: ByteBuffer, at: Int) = String(ByteArray(4) { b.get(at + it) }, Charsets.US_ASCII)
    private fun uint32(b: ByteBuffer, at: Int) = b.getInt(at).toLong() and 0xFFFF_FFFFL
    private fun uint16(b: ByteBuffer, at: Int) = b.getShort(at).toInt() and 0xFFFF
}
