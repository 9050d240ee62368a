package dev.earshot.voice.send

import dev.earshot.voice.codec.OpusPacketInfo

/**
 * Splits an Opus packet into one packet per frame (RFC 6716 §3.2) without re-encoding: each frame gets the
 * packet's TOC byte with the frame-count code set to 0 (one frame). Used to play files whose packets hold
 * several 20 ms frames (`opusenc --framesize 40` or `60` on music, which codes two or three CELT frames per packet).
 *
 * ```
 * code 0: |TOC|frame|                     code 1: |TOC|frame 1|frame 2|  (equal sizes)
 * code 2: |TOC|len 1|frame 1|frame 2|     code 3: |TOC|v p M|padding lengths|M-1 lengths if v|frames|padding|
 * ```
 */
internal object OpusFrameSplitter {
    private const val CODE_MASK = 0x03
    private const val TWO_BYTE_LENGTH_MIN = 252
    private const val PADDING_CONTINUES = 255

    /** Samples per channel at 48 kHz of one frame of [toc] (RFC 6716 Table 2). */
    fun frameSamples48k(toc: Int): Int =
        OpusPacketInfo.samplesPerChannel48k(byteArrayOf((toc and CODE_MASK.inv()).toByte()), 0, 1)

    /** The frames of [packet] as single-frame packets ([packet] itself when it has one frame), or null if malformed. */
    fun split(packet: ByteArray): List<ByteArray>? {
        if (OpusPacketInfo.samplesPerChannel48k(packet, 0, packet.size) < 0) return null
        val toc = packet[0].toInt() and 0xFF
        val end = packet.size
        val ranges: List<IntRange> = when (toc and CODE_MASK) {
            0 -> return listOf(packet)
            1 -> {
                val size = (end - 1) / 2
                listOf(1 until 1 + size, 1 + size until end)
            }
            2 -> {
                val first = length(packet, 1)
                val start = 1 + lengthBytes(packet, 1)
                listOf(start until start + first, start + first until end)
            }
            else -> code3(packet)
        }
        val single = (toc and CODE_MASK.inv()).toByte()
        return ranges.map { r ->
            ByteArray(1 + r.last - r.first + 1).also {
                it[0] = single
                packet.copyInto(it, 1, r.first, r.last + 1)
            }
        }
    }

    /** The frame ranges of a code-3 packet; [OpusPacketInfo] has already checked that every length fits. */
    private fun code3(packet: ByteArray): List<IntRange> {
        val countByte = packet[1].toInt() and 0xFF
        val count = countByte and 0x3F
        var pos = 2
        var padding = 0
        if (countByte and 0x40 != 0) {
            while (true) {
                val b = packet[pos++].toInt() and 0xFF
                padding += if (b == PADDING_CONTINUES) PADDING_CONTINUES - 1 else b
                if (b != PADDING_CONTINUES) break
            }
        }
        val dataEnd = packet.size - padding
        val sizes = IntArray(count)
        if (countByte and 0x80 == 0) {
            sizes.fill((dataEnd - pos) / count)
        } else {
            var coded = 0
            for (i in 0 until count - 1) {
                sizes[i] = length(packet, pos)
                coded += sizes[i]
                pos += lengthBytes(packet, pos)
            }
            sizes[count - 1] = dataEnd - pos - coded
        }
        var start = pos
        return sizes.map { size -> (start until start + size).also { start += size } }
    }

    private fun length(b: ByteArray, pos: Int): Int {
        val b0 = b[pos].toInt() and 0xFF
        return if (b0 < TWO_BYTE_LENGTH_MIN) b0 else (b[pos + 1].toInt() and 0xFF) * 4 + b0
    }

    private fun lengthBytes(b: ByteArray, pos: Int): Int = if ((b[pos].toInt() and 0xFF) < TWO_BYTE_LENGTH_MIN) 1 else 2
}
