package dev.earshot.voice.fuzz

import dev.earshot.voice.dave.DaveFrame
import dev.earshot.voice.dave.Leb128
import kotlin.random.Random

/**
 * Hostile variants of valid DAVE Opus frames (`ciphertext | tag(8) | ULEB128 nonce | ranges | S | FA FA`): generic
 * byte mutations aimed at the trailer's positions, and structure-aware rebuilds of the trailer with boundary nonces
 * (0, 2^24-1, 2^32-1, other generations, overlong and 6-byte encodings), unencrypted ranges (overlapping, past the
 * end, huge, up to the most a 255-byte trailer holds), wrong supplemental sizes and markers.
 */
class DaveFrameInputs(private val random: Random) {
    private val mutator = Mutator(random)

    fun mutate(frame: ByteArray, corpus: List<ByteArray>): ByteArray = when (random.nextInt(10)) {
        in 0..3 -> {
            val n = frame.size
            val s = frame[n - DaveFrame.SIZE_BYTE_FROM_END].toInt() and 0xFF
            // Length-field positions: the size byte, the nonce, the tag start.
            mutator.mutate(frame, corpus, intArrayOf(n - 3, n - 2, n - 1, n - s, n - s + 8, n - s + 9).filter { it in 0 until n }.toIntArray())
        }
        in 4..8 -> rebuild(frame)
        else -> when (random.nextInt(4)) {
            0 -> byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())
            1 -> ByteArray(0)
            2 -> ByteArray(random.nextInt(1, 1400)).also(random::nextBytes)
            else -> ByteArray(random.nextInt(0, 20)).also(random::nextBytes) + byteArrayOf(random.nextInt(11, 256).toByte(), 0xFA.toByte(), 0xFA.toByte())
        }
    }

    /** Rebuilds the trailer of a valid frame with one or more fields changed. */
    private fun rebuild(frame: ByteArray): ByteArray {
        val n = frame.size
        val s = frame[n - DaveFrame.SIZE_BYTE_FROM_END].toInt() and 0xFF
        val body = frame.copyOfRange(0, n - s + DaveFrame.TAG_LENGTH) // interleaved part + tag
        val nonceField = frame.copyOfRange(n - s + DaveFrame.TAG_LENGTH, n - DaveFrame.SIZE_BYTE_FROM_END)
        var nonce = nonceField
        var ranges = ByteArray(0)
        var size: Int? = null
        var marker = byteArrayOf(0xFA.toByte(), 0xFA.toByte())
        var payload = body
        repeat(random.nextInt(1, 4)) {
            when (random.nextInt(7)) {
                0 -> nonce = nonceValue()
                1 -> nonce = rawLeb()
                2 -> ranges = ranges(maxOf(0, payload.size - DaveFrame.TAG_LENGTH))
                3 -> size = listOf(0, 1, 10, 11, 12, 254, 255, payload.size, payload.size + 20, random.nextInt(256)).random(random)
                4 -> marker = listOf(byteArrayOf(0xFA.toByte(), 0xFB.toByte()), byteArrayOf(0xFB.toByte(), 0xFA.toByte()), byteArrayOf(0, 0)).random(random)
                5 -> payload = payload.copyOf(random.nextInt(0, payload.size + 1))
                else -> payload = mutator.mutate(payload)
            }
        }
        val trailer = nonce + ranges
        val supplemental = size ?: (DaveFrame.TAG_LENGTH + trailer.size + DaveFrame.SIZE_BYTE_LENGTH + DaveFrame.MARKER_LENGTH)
        return payload + trailer + byteArrayOf(supplemental.toByte()) + marker
    }

    private fun leb(value: Long): ByteArray {
        val out = ByteArray(Leb128.MAX_BYTES)
        return out.copyOf(Leb128.write(value.toInt(), out, 0))
    }

    private fun nonceValue(): ByteArray = leb(
        listOf(0L, 1L, 0xFF_FFFFL, 0x100_0000L, 0xFFFF_FFFFL, 0x7FFF_FFFFL, random.nextLong(0, 1L shl 32), (random.nextLong(1, 256) shl 24) or random.nextLong(0, 1000))
            .random(random),
    )

    /** Malformed encodings: overlong, 6 bytes, bits past 32, cut off. */
    private fun rawLeb(): ByteArray = listOf(
        byteArrayOf(0x80.toByte(), 0x00),
        byteArrayOf(0x81.toByte(), 0x80.toByte(), 0x00),
        byteArrayOf(0xFF.toByte(), 0xFF.toByte(), 0xFF.toByte(), 0xFF.toByte(), 0x1F),
        byteArrayOf(0xFF.toByte(), 0xFF.toByte(), 0xFF.toByte(), 0xFF.toByte(), 0xFF.toByte(), 0x01),
        byteArrayOf(0x80.toByte()),
        ByteArray(0),
    ).random(random)

    /** Unencrypted ranges: plausible, overlapping, past the interleaved part, huge, or as many as fit. */
    private fun ranges(interleaved: Int): ByteArray {
        val count = if (random.nextInt(8) == 0) random.nextInt(50, 125) else random.nextInt(1, 4)
        var out = ByteArray(0)
        var pos = 0L
        repeat(count) {
            val (start, length) = when (random.nextInt(5)) {
                0 -> pos to random.nextLong(0, 8)
                1 -> random.nextLong(0, interleaved + 2L) to random.nextLong(0, interleaved + 2L)
                2 -> 0xFFFF_FFFFL to 1L
                3 -> pos to 0xFFFF_FFFFL
                else -> (pos + random.nextLong(0, 4)) to random.nextLong(1, 4)
            }
            out += leb(start) + leb(length)
            pos = start + length
        }
        return out
    }
}
