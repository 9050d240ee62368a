package dev.earshot.voice.files

/**
 * Opus packets that decode to digital silence, one per CELT frame size (RFC 6716 Table 2, configs 28-31:
 * CELT-only, fullband, mono, one frame).
 *
 * Each is a TOC byte and the two bytes `FF FE` of Discord's silence frame `F8 FF FE`: the first symbol a CELT
 * decoder reads is the silence flag (RFC 6716 §4.3, Table 56), these bytes set it, and it does not depend on
 * the frame size. A mono-coded packet is valid in a stereo stream; the decoder copies it to both channels.
 */
internal object OpusSilence {
    /** The shortest Opus frame, 2.5 ms, in samples per channel at 48 kHz; every silence length is a multiple. */
    const val UNIT_SAMPLES: Int = 120

    /** Silence packets from the longest (20 ms) to the shortest (2.5 ms), with their samples per channel. */
    val PACKETS: List<Pair<Int, ByteArray>> = listOf(
        960 to silence(toc = 0xF8),
        480 to silence(toc = 0xF0),
        240 to silence(toc = 0xE8),
        120 to silence(toc = 0xE0),
    )

    private fun silence(toc: Int): ByteArray = byteArrayOf(toc.toByte(), 0xFF.toByte(), 0xFE.toByte())
}
