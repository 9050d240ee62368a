package dev.earshot.voice.rtp

import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe

class RtpPayloadSpec : FunSpec({
    /** [payload] = expected "offset+length" relative to the plaintext start, or null for inconsistent. */
    data class Case(val name: String, val plain: String, val padding: Boolean, val extWords: Int, val payload: String?) {
        override fun toString() = name
    }

    context("locate in decrypted plaintext") {
        withData(
            Case("payload only", "78 0b e4", false, 0, "0+3"),
            Case("elements then payload", "10 a8 90 02 78 0b e4", false, 1, "4+3"),
            Case("elements, payload, padding", "10 a8 90 02 78 0b e4 c1 00 00 00 04", true, 1, "4+4"),
            Case("padding count 1", "78 0b 01", true, 0, "0+2"),
            Case("padding fills everything after the elements", "10 a8 90 02 00 02", true, 1, "4+0"),
            Case("elements fill everything", "10 a8 90 02", false, 1, "4+0"),
            Case("empty plaintext", "", false, 0, "0+0"),
            Case("empty plaintext with P set", "", true, 0, null),
            Case("padding count 0", "78 0b 00", true, 0, null),
            Case("padding count larger than the plaintext", "78 0b 04", true, 0, null),
            Case("padding count reaching into the elements", "10 a8 90 02 78 03", true, 1, null),
            Case("elements longer than the plaintext", "10 a8 90 02 78", false, 2, null),
            Case("negative extension length", "78 0b e4", false, -1, null),
            Case("extension length above 16 bits", "78 0b e4", false, 0x10000, null),
        ) { c ->
            val plain = Vectors.hex(c.plain)
            val buf = ByteArray(plain.size + 7) { 0x33 }
            plain.copyInto(buf, 3)
            val packed = RtpPayload.locate(buf, 3, plain.size, c.padding, c.extWords)
            if (c.payload == null) {
                packed shouldBe PackedRange.NONE
            } else {
                val (offset, length) = c.payload.split('+').map { it.toInt() }
                (RtpPayload.payloadOffset(packed) to RtpPayload.payloadLength(packed)) shouldBe (3 + offset to length)
            }
        }
    }

    test("a region outside the array is inconsistent") {
        val buf = ByteArray(8)
        for ((offset, length) in listOf(-1 to 2, 0 to 9, 9 to 0, 4 to Int.MAX_VALUE)) {
            RtpPayload.locate(buf, offset, length, false, 0) shouldBe PackedRange.NONE
        }
    }

    context("PackedRange keeps both halves and never collides with NONE") {
        withData(listOf(0 to 0, 0 to 1, 1 to 0, 65_535 to 2048, Int.MAX_VALUE to Int.MAX_VALUE, Int.MAX_VALUE to 0)) { (o, l) ->
            val p = PackedRange.of(o, l)
            (PackedRange.offset(p) to PackedRange.length(p)) shouldBe (o to l)
            (p >= 0) shouldBe true
        }
    }
})
