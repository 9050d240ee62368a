package dev.earshot.voice.files

import java.io.InputStream
import java.nio.file.Files
import java.nio.file.Path

/**
 * The audio of a single-stream Ogg Opus file: its Opus packets in order plus the header facts needed to play them
 * back or line their decode up with a reference.
 */
public class OggOpusStream(
    /** Output channel count from the OpusHead packet (1 or 2 for Discord). */
    public val channels: Int,
    /** Samples per channel at 48 kHz to drop from the start of the decode (RFC 7845 §4.2). */
    public val preSkip: Int,
    /** The granule position of the last page: pre-skip plus playable samples per channel at 48 kHz. */
    public val finalGranule: Long,
    /** Audio packets in order, each one Opus packet (the OpusHead and OpusTags headers excluded). */
    public val packets: List<ByteArray>,
)

/** Thrown by [OggOpusReader] for a file that is not well-formed single-stream Ogg Opus; the message says where. */
public class MalformedOggException(message: String) : AudioFileException(message)

/**
 * Reads single-stream Ogg Opus files (RFC 3533 pages, RFC 7845 headers), as written by `opusenc` or by
 * [OggOpusWriter]; used to play files into a voice channel without re-encoding.
 *
 * Page layout (RFC 3533 §6), little-endian integers:
 * ```
 *  0: "OggS"  4: version  5: header type  6: granule position (8)  14: serial (4)  18: page sequence (4)
 * 22: CRC-32 (4)  26: segment count n  27: n lacing values, then the segments
 * ```
 * A packet is the concatenation of lacing segments up to the first one shorter than 255 bytes; it may cross
 * pages. Every page CRC is checked.
 */
public object OggOpusReader {
    private const val CAPTURE = "OggS"
    private const val GRANULE_OFFSET = 6
    private const val CRC_OFFSET = 22
    private const val SEGMENT_COUNT_OFFSET = 26
    private const val LACING_OFFSET = 27
    private const val FULL_SEGMENT = 255

    // OpusHead (RFC 7845 §5.1): "OpusHead", version, channel count, pre-skip (u16 LE), ...
    private const val HEAD_CHANNELS_OFFSET = 9
    private const val HEAD_PRESKIP_OFFSET = 10
    private const val HEAD_MIN_LENGTH = 19

    /** Reads the file at [path]. Throws [MalformedOggException] or an [java.io.IOException]. */
    public fun read(path: Path): OggOpusStream = read(Files.readAllBytes(path))

    /** Reads a whole stream (not closed here). Throws [MalformedOggException] or an [java.io.IOException]. */
    public fun read(input: InputStream): OggOpusStream = read(input.readBytes())

    /** Reads a whole file held in memory. Throws [MalformedOggException]. */
    public fun read(file: ByteArray): OggOpusStream {
        val packets = ArrayList<ByteArray>()
        val pending = java.io.ByteArrayOutputStream()
        var pos = 0
        var granule = 0L
        while (pos < file.size) {
            check(pos + LACING_OFFSET <= file.size && String(file, pos, 4, Charsets.US_ASCII) == CAPTURE) { "no Ogg page at byte $pos" }
            val segments = file[pos + SEGMENT_COUNT_OFFSET].toInt() and 0xFF
            var body = pos + LACING_OFFSET + segments
            check(body <= file.size) { "page at byte $pos is cut short" }
            val pageStart = pos
            for (i in 0 until segments) {
                val lacing = file[pos + LACING_OFFSET + i].toInt() and 0xFF
                check(body + lacing <= file.size) { "page at byte $pos is cut short" }
                pending.write(file, body, lacing)
                body += lacing
                if (lacing < FULL_SEGMENT) {
                    packets += pending.toByteArray()
                    pending.reset()
                }
            }
            check(crc(file, pageStart, body - pageStart) == readLe(file, pageStart + CRC_OFFSET, 4).toInt()) {
                "bad CRC on the page at byte $pageStart"
            }
            granule = readLe(file, pageStart + GRANULE_OFFSET, 8)
            pos = body
        }
        check(pending.size() == 0) { "the file ends inside a packet" }
        check(packets.size >= 2) { "no OpusHead and OpusTags headers" }
        val head = packets[0]
        check(head.size >= HEAD_MIN_LENGTH && String(head, 0, 8, Charsets.US_ASCII) == "OpusHead") { "first packet is not OpusHead" }
        check(packets[1].size >= 8 && String(packets[1], 0, 8, Charsets.US_ASCII) == "OpusTags") { "second packet is not OpusTags" }
        return OggOpusStream(
            channels = head[HEAD_CHANNELS_OFFSET].toInt() and 0xFF,
            preSkip = readLe(head, HEAD_PRESKIP_OFFSET, 2).toInt(),
            finalGranule = granule,
            packets = packets.subList(2, packets.size).toList(),
        )
    }

    /** The Ogg page CRC over [len] bytes from [start], with the CRC field itself read as zeros. */
    internal fun crc(b: ByteArray, start: Int, len: Int): Int {
        var c = OggCrc.update(0, b, start, CRC_OFFSET)
        c = OggCrc.update(c, ZEROS, 0, 4)
        return OggCrc.update(c, b, start + CRC_OFFSET + 4, len - CRC_OFFSET - 4)
    }

    private val ZEROS = ByteArray(4)

    private inline fun check(ok: Boolean, message: () -> String) {
        if (!ok) throw MalformedOggException("not a valid Ogg Opus file: ${message()}")
    }

    private fun readLe(b: ByteArray, at: Int, n: Int): Long {
        var v = 0L
        for (i in n - 1 downTo 0) v = (v shl 8) or (b[at + i].toLong() and 0xFF)
        return v
    }
}
