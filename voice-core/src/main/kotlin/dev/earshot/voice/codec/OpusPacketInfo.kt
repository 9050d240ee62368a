package dev.earshot.voice.codec

/**
 * Allocation-free facts read from an Opus packet's TOC (RFC 6716 §3.1).
 *
 * Every function takes a view `buf[offset until offset + length]`, never throws, and treats a view outside
 * `buf` like a malformed packet. Framing is checked against all of RFC 6716 §3.4 (rules R1–R7).
 *
 * ```
 * TOC byte (§3.1)          code 3 frame count byte (§3.2.5)
 *  0 1 2 3 4 5 6 7          0 1 2 3 4 5 6 7
 * +-+-+-+-+-+-+-+-+        +-+-+-+-+-+-+-+-+
 * | config  |s| c |        |v|p|     M     |
 * +-+-+-+-+-+-+-+-+        +-+-+-+-+-+-+-+-+
 * config: 0-11 SILK-only (10/20/40/60 ms), 12-15 hybrid (10/20 ms), 16-31 CELT-only (2.5/5/10/20 ms)
 * s: stereo; c: 0 = one frame, 1 = two equal frames, 2 = two frames with the first length coded,
 *    3 = M frames, v = VBR (M-1 coded lengths), p = padding length bytes follow
 * ```
 */
public object OpusPacketInfo {
    /** The longest packet, 120 ms, in samples per channel at 48 kHz. */
    public const val MAX_SAMPLES_PER_CHANNEL_48K: Int = 5760

    private const val TOC_OFFSET = 0
    private const val CONFIG_SHIFT = 3
    private const val CONFIG_MASK = 0x1F
    private const val STEREO_MASK = 0x04
    private const val CODE_MASK = 0x03
    private const val FIRST_HYBRID_CONFIG = 12
    private const val FIRST_CELT_CONFIG = 16

    private const val COUNT_VBR_MASK = 0x80
    private const val COUNT_PADDING_MASK = 0x40
    private const val COUNT_FRAMES_MASK = 0x3F

    /** R2: no frame is longer than 1275 bytes. */
    private const val MAX_FRAME_BYTES = 1275

    /** Frame length bytes (§3.2.1): 0..251 is the length, 252..255 start a two-byte length. */
    private const val TWO_BYTE_LENGTH_MIN = 252

    /** A padding length byte of 255 means 254 bytes of padding and another length byte (§3.2.5). */
    private const val PADDING_CONTINUES = 255

    private const val SAMPLES_PER_SILK_FRAME_48K = 960

    /** The packed result of [parseFraming]: first frame length, its start relative to offset, frame count. */
    private const val FIRST_LENGTH_BITS = 16
    private const val FIRST_START_BITS = 32
    private const val INVALID = -1L

    private val SILENCE_FRAME = byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())

    /** True only for Discord's silence frame, exactly the three bytes `F8 FF FE`. */
    public fun isSilenceFrame(buf: ByteArray, offset: Int, length: Int): Boolean {
        if (length != SILENCE_FRAME.size || !inBounds(buf, offset, length)) return false
        return buf[offset] == SILENCE_FRAME[0] && buf[offset + 1] == SILENCE_FRAME[1] &&
            buf[offset + 2] == SILENCE_FRAME[2]
    }

    /** Total duration in samples per channel at 48 kHz (frames × frame size), or -1 if the packet is invalid. */
    public fun samplesPerChannel48k(buf: ByteArray, offset: Int, length: Int): Int {
        val framing = parseFraming(buf, offset, length)
        if (framing == INVALID) return -1
        return frameCount(framing) * samplesPerFrame48k(buf[offset + TOC_OFFSET].toInt())
    }

    /**
     * True if the first frame carries SILK low-bit-rate redundancy (in-band FEC) for the frame before it, as
     * libopus 1.5's `opus_packet_has_lbrr`. CELT-only packets, empty (DTX) frames and invalid packets have none.
     *
     * The SILK layer opens with header flags coded at probability ½, so they are the top bits of the first
     * byte (RFC 6716 §4.2.3–§4.2.4): per channel (mid, then side if stereo) one VAD bit per 20 ms SILK frame,
     * then one LBRR bit. Only the first Opus frame matters: a decoder recovers a loss from it alone.
     * ```
     * mono, one SILK frame:      |VAD|LBRR| ...
     * stereo, three SILK frames: |VAD|VAD|VAD|LBRR|VAD|VAD|VAD|LBRR|   (mid, then side)
     * ```
     */
    public fun hasLbrr(buf: ByteArray, offset: Int, length: Int): Boolean {
        val framing = parseFraming(buf, offset, length)
        if (framing == INVALID || firstLength(framing) == 0) return false
        val toc = buf[offset + TOC_OFFSET].toInt()
        if (config(toc) >= FIRST_CELT_CONFIG) return false
        // A 10 ms SILK frame still has one VAD flag; 40 and 60 ms Opus frames hold two or three SILK frames.
        val silkFrames = maxOf(1, samplesPerFrame48k(toc) / SAMPLES_PER_SILK_FRAME_48K)
        val header = buf[offset + firstStart(framing)].toInt() and 0xFF
        val midLbrr = (header shr (7 - silkFrames)) and 1
        if (toc and STEREO_MASK == 0) return midLbrr != 0
        val sideLbrr = (header shr (6 - 2 * silkFrames)) and 1
        return (midLbrr or sideLbrr) != 0
    }

    private fun config(toc: Int): Int = (toc shr CONFIG_SHIFT) and CONFIG_MASK

    /** Samples per channel at 48 kHz of one frame, from the TOC config (RFC 6716 Table 2). */
    private fun samplesPerFrame48k(toc: Int): Int {
        val config = config(toc)
        return when {
            config < FIRST_HYBRID_CONFIG -> when (config and 3) {
                0 -> 480
                1 -> 960
                2 -> 1920
                else -> 2880
            }
            config < FIRST_CELT_CONFIG -> if (config and 1 == 0) 480 else 960
            else -> 120 shl (config and 3)
        }
    }

    private fun inBounds(buf: ByteArray, offset: Int, length: Int): Boolean =
        offset >= 0 && length >= 0 && offset <= buf.size - length

    private fun frameCount(framing: Long): Int = (framing ushr (FIRST_LENGTH_BITS + FIRST_START_BITS)).toInt()

    private fun firstStart(framing: Long): Int = ((framing ushr FIRST_LENGTH_BITS) and 0xFFFF_FFFFL).toInt()

    private fun firstLength(framing: Long): Int = (framing and 0xFFFFL).toInt()

    private fun pack(count: Int, firstStart: Int, firstLength: Int): Long =
        (count.toLong() shl (FIRST_LENGTH_BITS + FIRST_START_BITS)) or
            (firstStart.toLong() shl FIRST_LENGTH_BITS) or firstLength.toLong()

    /**
     * Validates the frame packing (RFC 6716 §3.2, rules R1–R7 of §3.4) and returns the frame count and the
     * first frame's start (relative to offset) and length packed by [pack], or [INVALID].
     */
    private fun parseFraming(buf: ByteArray, offset: Int, length: Int): Long {
        if (length < 1 || !inBounds(buf, offset, length)) return INVALID // R1
        val toc = buf[offset + TOC_OFFSET].toInt()
        val end = offset + length
        val payload = offset + TOC_OFFSET + 1
        return when (toc and CODE_MASK) {
            0 -> { // one frame: the rest of the packet
                val size = end - payload
                if (size > MAX_FRAME_BYTES) return INVALID // R2
                pack(1, payload - offset, size)
            }
            1 -> { // two frames of equal size
                val total = end - payload
                if (total % 2 != 0 || total / 2 > MAX_FRAME_BYTES) return INVALID // R3, R2
                pack(2, payload - offset, total / 2)
            }
            2 -> { // two frames, the first length coded
                val first = readFrameLength(buf, payload, end)
                if (first < 0) return INVALID // R4
                val start = payload + lengthBytes(buf[payload])
                val second = end - start - first
                if (second < 0 || second > MAX_FRAME_BYTES) return INVALID // R4, R2
                pack(2, start - offset, first)
            }
            else -> parseCode3(buf, offset, toc, payload, end)
        }
    }

    private fun parseCode3(buf: ByteArray, offset: Int, toc: Int, countIndex: Int, end: Int): Long {
        if (countIndex >= end) return INVALID // R5: no frame count byte
        val countByte = buf[countIndex].toInt()
        val count = countByte and COUNT_FRAMES_MASK
        if (count == 0 || count * samplesPerFrame48k(toc) > MAX_SAMPLES_PER_CHANNEL_48K) return INVALID // R5
        var pos = countIndex + 1
        var padding = 0
        if (countByte and COUNT_PADDING_MASK != 0) {
            while (true) {
                if (pos >= end) return INVALID
                val b = buf[pos++].toInt() and 0xFF
                padding += if (b == PADDING_CONTINUES) PADDING_CONTINUES - 1 else b
                // Stop as soon as the padding cannot fit: also keeps the sum far from Int overflow.
                if (padding > end - pos) return INVALID // R6, R7
                if (b != PADDING_CONTINUES) break
            }
        }
        var dataEnd = end - padding
        if (countByte and COUNT_VBR_MASK == 0) {
            val total = dataEnd - pos
            if (total % count != 0 || total / count > MAX_FRAME_BYTES) return INVALID // R6
            return pack(count, pos - offset, total / count)
        }
        // VBR: M-1 coded lengths, then the frames; the last frame takes what is left (R7).
        var first = -1
        for (i in 0 until count - 1) {
            val size = readFrameLength(buf, pos, dataEnd)
            if (size < 0) return INVALID
            pos += lengthBytes(buf[pos])
            dataEnd -= size
            if (i == 0) first = size
        }
        val last = dataEnd - pos
        if (last < 0 || last > MAX_FRAME_BYTES) return INVALID
        return pack(count, pos - offset, if (count == 1) last else first)
    }

    /** Decodes a frame length at [pos] (§3.2.1), or returns -1 if it does not fit before [end]. */
    private fun readFrameLength(buf: ByteArray, pos: Int, end: Int): Int {
        if (pos >= end) return -1
        val b0 = buf[pos].toInt() and 0xFF
        if (b0 < TWO_BYTE_LENGTH_MIN) return b0
        if (pos + 1 >= end) return -1
        return (buf[pos + 1].toInt() and 0xFF) * 4 + b0
    }

    private fun lengthBytes(first: Byte): Int = if ((first.toInt() and 0xFF) < TWO_BYTE_LENGTH_MIN) 1 else 2
}
