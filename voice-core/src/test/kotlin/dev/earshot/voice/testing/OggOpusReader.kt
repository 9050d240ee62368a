package dev.earshot.voice.testing

/** An Ogg Opus file's audio packets with the header facts needed to line its decode up with a reference. */
class OggOpusStream(
    /** Output channel count from the OpusHead packet. */
    val channels: Int,
    /** Samples per channel at 48 kHz to drop from the start of the decode (RFC 7845 §4.2). */
    val preSkip: Int,
    /** The granule position of the last page: pre-skip plus playable samples per channel at 48 kHz. */
    val finalGranule: Long,
    /** Audio packets in order, each one Opus packet (headers excluded). */
    val packets: List<ByteArray>,
)

/**
 * Reads single-stream Ogg Opus files (RFC 3533 pages, RFC 7845 headers) for tests.
 *
 * Page layout (RFC 3533 §6), little-endian integers:
 * ```
 *  0: "OggS"  4: version  5: header type  6: granule position (8)  14: serial (4)  18: page sequence (4)
 * 22: CRC-32 (4)  26: segment count n  27: n lacing values, then the segments
 * ```
 * A packet is the concatenation of lacing segments up to the first one shorter than 255 bytes; it may cross
 * pages. Page CRCs are checked (polynomial 0x04C11DB7, initial value 0, no reflection, CRC field zeroed).
 */
object OggOpusReader {
    private const val CAPTURE = "OggS"
    private const val GRANULE_OFFSET = 6
    private const val CRC_OFFSET = 22
    private const val SEGMENT_COUNT_OFFSET = 26
    private const val LACING_OFFSET = 27
    private const val FULL_SEGMENT = 255

    // OpusHead (RFC 7845 §5.1): "OpusHead", version, channel count, pre-skip (u16 LE), ...
    private const val HEAD_CHANNELS_OFFSET = 9
    private const val HEAD_PRESKIP_OFFSET = 10

    fun readResource(path: String): OggOpusStream {
        val bytes = OggOpusReader::class.java.getResourceAsStream(path)?.use { it.readBytes() }
            ?: error("missing test resource $path")
        return read(bytes)
    }

    fun read(file: ByteArray): OggOpusStream {
        val packets = ArrayList<ByteArray>()
        val pending = java.io.ByteArrayOutputStream()
        var pos = 0
        var granule = 0L
        while (pos < file.size) {
            require(String(file, pos, 4, Charsets.US_ASCII) == CAPTURE) { "no Ogg page at $pos" }
            val segments = file[pos + SEGMENT_COUNT_OFFSET].toInt() and 0xFF
            var body = pos + LACING_OFFSET + segments
            val pageStart = pos
            for (i in 0 until segments) {
                val lacing = file[pos + LACING_OFFSET + i].toInt() and 0xFF
                pending.write(file, body, lacing)
                body += lacing
                if (lacing < FULL_SEGMENT) {
                    packets += pending.toByteArray()
                    pending.reset()
                }
            }
            require(crc(file, pageStart, body - pageStart) == readLe(file, pageStart + CRC_OFFSET, 4).toInt()) {
                "bad CRC on the page at $pageStart"
            }
            granule = readLe(file, pageStart + GRANULE_OFFSET, 8)
            pos = body
        }
        require(pending.size() == 0) { "file ends inside a packet" }
        val head = packets[0]
        require(String(head, 0, 8, Charsets.US_ASCII) == "OpusHead") { "first packet is not OpusHead" }
        require(String(packets[1], 0, 8, Charsets.US_ASCII) == "OpusTags") { "second packet is not OpusTags" }
        return OggOpusStream(
            channels = head[HEAD_CHANNELS_OFFSET].toInt() and 0xFF,
            preSkip = readLe(head, HEAD_PRESKIP_OFFSET, 2).toInt(),
            finalGranule = granule,
            packets = packets.subList(2, packets.size).toList(),
        )
    }

    private fun readLe(b: ByteArray, at: Int, n: Int): Long {
        var v = 0L
        for (i in n - 1 downTo 0) v = (v shl 8) or (b[at + i].toLong() and 0xFF)
        return v
    }

    private val CRC_TABLE = IntArray(256) { i ->
        var r = i shl 24
        repeat(8) { r = if (r and 0x80000000.toInt() != 0) (r shl 1) xor 0x04C11DB7 else r shl 1 }
        r
    }

    /** The Ogg page CRC over [len] bytes from [start], with the CRC field itself read as zeros. */
    fun crc(b: ByteArray, start: Int, len: Int): Int {
        var crc = 0
        for (i in 0 until len) {
            val inCrcField = i in CRC_OFFSET until CRC_OFFSET + 4
            val byte = if (inCrcField) 0 else b[start + i].toInt() and 0xFF
            crc = (crc shl 8) xor CRC_TABLE[((crc ushr 24) xor byte) and 0xFF]
        }
        return crc
    }
}
