package dev.earshot.voice.files

import java.io.OutputStream

/**
 * Packs packets of one logical Ogg stream into pages (RFC 3533) and writes each page to [out] as soon as it is
 * closed, then flushes [out] so a page on disk survives a killed process.
 *
 * Page layout (RFC 3533 §6), integers little-endian:
 * ```
 *  0: "OggS"  4: version 0  5: flags (1 continued, 2 first page, 4 last page)  6: granule position (8)
 * 14: serial (4)  18: page sequence (4)  22: CRC (4)  26: segment count n  27: n lacing values, then the body
 * ```
 * A packet is laced as `length / 255` segments of 255 bytes and one final segment of `length % 255` bytes
 * (0 when the length is a multiple of 255, so the reader knows it ended). A page holds at most 255 segments; a
 * packet that does not fit goes on in the next page, which then has the "continued" flag. A page's granule
 * position is the one given with the last packet completed on it, or -1 if none completes there.
 *
 * Not thread-safe. I/O errors from [out] propagate as [java.io.IOException].
 */
internal class OggPageWriter(private val out: OutputStream, private val serial: Int) {
    private val lacing = ByteArray(MAX_SEGMENTS)
    private var segments = 0
    private val body = ByteArray(MAX_SEGMENTS * MAX_SEGMENT)
    private var bodyLength = 0
    private var pageGranule = NO_PACKET_COMPLETED
    private var continued = false
    private var firstPage = true
    private var sequence = 0
    private val page = ByteArray(HEADER_SIZE + MAX_SEGMENTS + MAX_SEGMENTS * MAX_SEGMENT)

    /** Granule position of the last written page on which a packet completed (0 before any). */
    var lastWrittenGranule: Long = 0
        private set

    /** True when segments wait for [flushPage]. */
    val hasPendingSegments: Boolean get() = segments > 0

    /** Appends one packet that ends at [granuleAfter]; writes every page that fills up on the way. */
    fun writePacket(buf: ByteArray, offset: Int, length: Int, granuleAfter: Long) {
        var pos = offset
        var left = length
        var started = false
        while (true) {
            if (segments == MAX_SEGMENTS) {
                writePage(endOfStream = false)
                continued = started // the page just written ended inside this packet
            }
            started = true
            val segment = minOf(left, MAX_SEGMENT)
            lacing[segments++] = segment.toByte()
            System.arraycopy(buf, pos, body, bodyLength, segment)
            bodyLength += segment
            pos += segment
            left -= segment
            if (segment < MAX_SEGMENT) break
        }
        pageGranule = granuleAfter
    }

    /** Writes the pending segments, if any, as a page, flagged last of the stream if [endOfStream]. */
    fun flushPage(endOfStream: Boolean = false) {
        if (segments > 0) writePage(endOfStream)
    }

    private fun writePage(endOfStream: Boolean) {
        val granule = pageGranule
        CAPTURE.copyInto(page)
        page[4] = 0
        page[5] = ((if (continued) FLAG_CONTINUED else 0) or (if (firstPage) FLAG_FIRST else 0) or
            (if (endOfStream) FLAG_LAST else 0)).toByte()
        putLe(granule, 6, 8)
        putLe(serial.toLong(), 14, 4)
        putLe(sequence.toLong(), 18, 4)
        putLe(0, 22, 4)
        page[26] = segments.toByte()
        System.arraycopy(lacing, 0, page, HEADER_SIZE, segments)
        System.arraycopy(body, 0, page, HEADER_SIZE + segments, bodyLength)
        val size = HEADER_SIZE + segments + bodyLength
        putLe(OggCrc.update(0, page, 0, size).toLong(), 22, 4)
        out.write(page, 0, size)
        out.flush()

        if (granule != NO_PACKET_COMPLETED) lastWrittenGranule = granule
        sequence++
        firstPage = false
        continued = false
        segments = 0
        bodyLength = 0
        pageGranule = NO_PACKET_COMPLETED
    }

    private fun putLe(value: Long, at: Int, bytes: Int) {
        for (i in 0 until bytes) page[at + i] = (value ushr (8 * i)).toByte()
    }

    private companion object {
        val CAPTURE = "OggS".toByteArray(Charsets.US_ASCII)
        const val HEADER_SIZE = 27
        const val MAX_SEGMENTS = 255
        const val MAX_SEGMENT = 255
        const val FLAG_CONTINUED = 1
        const val FLAG_FIRST = 2
        const val FLAG_LAST = 4
        const val NO_PACKET_COMPLETED = -1L
    }
}
