package dev.earshot.voice.dave

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe

class Leb128Spec : FunSpec({
    fun read(bytes: ByteArray, off: Int = 0, end: Int = bytes.size): Pair<Long, Int>? {
        val p = Leb128.read(bytes, off, end)
        return if (p == Leb128.INVALID) null else (Leb128.value(p).toLong() and 0xFFFFFFFFL) to Leb128.length(p)
    }

    test("known encodings (whitepaper/Wikipedia examples and boundaries)") {
        val cases = mapOf(
            0L to "00", 1L to "01", 127L to "7f", 128L to "8001", 300L to "ac02", 624485L to "e58e26",
            16383L to "ff7f", 16384L to "808001", 0x0FFFFFFFL to "ffffff7f", 0x10000000L to "8080808001",
            0xFFFFFFFFL to "ffffffff0f", 0x01000001L to "81808008",
        )
        for ((value, encoding) in cases) {
            val buf = ByteArray(8)
            val n = Leb128.write(value.toInt(), buf, 1)
            buf.copyOfRange(1, 1 + n).hex() shouldBe encoding
            Leb128.size(value.toInt()) shouldBe n
            read(hex(encoding)) shouldBe (value to encoding.length / 2)
            // Reading inside a larger array at an offset, with bytes after it.
            read(hex("ee$encoding" + "ff"), 1) shouldBe (value to encoding.length / 2)
        }
    }

    test("round trip over many values, matching the reference encoder") {
        val r = java.util.Random(7)
        repeat(10_000) {
            val v = if (it < 64) (1 shl (it % 32)) - (it / 32) else r.nextInt()
            val buf = ByteArray(5)
            val n = Leb128.write(v, buf, 0)
            buf.copyOf(n).hex() shouldBe DaveReference.uleb128(v.toLong() and 0xFFFFFFFFL).hex()
            read(buf.copyOf(n)) shouldBe ((v.toLong() and 0xFFFFFFFFL) to n)
        }
    }

    test("rejects truncated input") {
        read(hex("80")) shouldBe null
        read(hex("ffffff")) shouldBe null
        read(hex("8001"), 0, 1) shouldBe null
        read(ByteArray(0)) shouldBe null
    }

    test("reads non-shortest encodings and values beyond 32 bits as libdave's ReadLeb128 does") {
        // libdave accepts any encoding of a 64-bit value (up to 10 bytes, the 10th carrying one bit) and casts the
        // nonce to 32 bits; refusing these would drop frames that Discord's clients decrypt.
        read(hex("8000")) shouldBe (0L to 2)
        read(hex("ff00")) shouldBe (127L to 2)
        read(hex("8180808000")) shouldBe (1L to 5)
        read(hex("858080808080808000")) shouldBe (5L to 9)
        read(hex("80808080808080808001")) shouldBe (0L to 10)
        read(hex("ffffffff7f")) shouldBe (0xFFFFFFFFL to 5)
        read(hex("ffffffff8f01")) shouldBe (0xFFFFFFFFL to 6)
        fun fits(h: String) = Leb128.fits32(Leb128.read(hex(h), 0, h.length / 2))
        fits("ffffffff0f") shouldBe true
        fits("8180808000") shouldBe true
        fits("ffffffff10") shouldBe false
        fits("8080808080808000") shouldBe true
        fits("8080808080808001") shouldBe false
        fits("80808080808080808001") shouldBe false
    }

    test("refuses what libdave refuses: more than 10 bytes, or a 10th byte above 1") {
        read(hex("8080808080808080808001")) shouldBe null
        read(hex("80808080808080808002")) shouldBe null
        read(hex("ffffffffffffffffff7f")) shouldBe null
    }

    test("windows outside the array are rejected, not thrown") {
        val b = hex("0102")
        read(b, -1) shouldBe null
        read(b, 0, 3) shouldBe null
        read(b, 2, 2) shouldBe null
        read(b, 3, 2) shouldBe null
    }
})
