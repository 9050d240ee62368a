package dev.earshot.voice.dave

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe

class DaveFrameSpec : FunSpec({
    val view = DaveFrameView()
    val tag = "0102030405060708"

    /** interleaved || tag || nonce || ranges || S || FA FA, with S computed. */
    fun frame(interleaved: String, nonce: String, ranges: String = "", size: Int? = null): ByteArray {
        val s = size ?: (8 + (nonce.length + ranges.length) / 2 + 3)
        return hex(interleaved + tag + nonce + ranges + "%02x".format(s) + "fafa")
    }

    test("an Opus frame: the 40-byte example from docs/dave.md ends 01 0c fa fa and parses") {
        val f = DaveReference.sealOpus(ByteArray(16), 1, ByteArray(40) { it.toByte() })
        f.size shouldBe 52
        f.copyOfRange(48, 52).hex() shouldBe "010cfafa"
        view.parse(f, 0, f.size) shouldBe true
        view.frameOffset shouldBe 0
        view.interleavedLength shouldBe 40
        view.ciphertextLength shouldBe 40
        view.tagOffset shouldBe 40
        view.truncatedNonce shouldBe 1
        view.generationByte shouldBe 0
        view.supplementalSize shouldBe 12
        view.rangeCount shouldBe 0
    }

    test("offsets are absolute: the same frame inside a larger array") {
        val f = frame("aabbccdd", "e58e26")
        val big = hex("ffff") + f + hex("ffffff")
        view.parse(big, 2, f.size) shouldBe true
        view.frameOffset shouldBe 2
        view.tagOffset shouldBe 6
        view.truncatedNonce shouldBe 624485
        view.supplementalSize shouldBe 14
    }

    test("a 5-byte nonce: generation is the top byte") {
        view.parse(frame("00", "ffffffff0f"), 0, 17) shouldBe true
        view.truncatedNonce shouldBe -1
        view.generationByte shouldBe 255
        view.parse(frame("", "8080808008"), 0, 16) shouldBe true
        view.generationByte shouldBe 0x80
    }

    test("clear ranges are read, counted and subtracted from the ciphertext") {
        val f = frame("00".repeat(20), "05", "0002" + "0a03" + "1100")
        view.parse(f, 0, f.size) shouldBe true
        view.rangeCount shouldBe 3
        (0 until 3).map { view.rangeStart(it) to view.rangeLength(it) } shouldBe listOf(0 to 2, 10 to 3, 17 to 0)
        view.ciphertextLength shouldBe 15
        view.interleavedLength shouldBe 20
    }

    test("adjacent ranges and a range ending at the interleaved end are allowed") {
        view.parse(frame("00".repeat(10), "01", "0004" + "0406"), 0, 10 + 8 + 1 + 4 + 3) shouldBe true
        view.ciphertextLength shouldBe 0
    }

    test("every protocol-frame check rejects") {
        val good = frame("00".repeat(10), "01", "0203")
        view.parse(good, 0, good.size) shouldBe true
        val bad = mapOf(
            "shorter than 11" to hex("0000000000000000000bfafa").copyOfRange(2, 12),
            "no magic" to frame("00", "01").also { it[it.size - 1] = 0xFB.toByte() },
            "magic only at the last byte" to frame("00", "01").also { it[it.size - 2] = 0 },
            "size below 11" to frame("00".repeat(4), "01", size = 10),
            "size above the length" to frame("", "01", size = 13),
            "no room for a nonce (S = 11)" to hex("00".repeat(8) + "0bfafa"),
            "nonce runs into the size byte" to frame("00", "80"),
            "nonce of 11 bytes" to frame("00", "8080808080808080808000"),
            "nonce whose 10th byte carries more than one bit" to frame("00", "80808080808080808002"),
            "range offset without a length" to frame("00".repeat(10), "01", "02"),
            "range truncated" to frame("00".repeat(10), "01", "0280"),
            "ranges out of order" to frame("00".repeat(10), "01", "0502" + "0101"),
            "ranges overlap" to frame("00".repeat(10), "01", "0003" + "0202"),
            "range past the interleaved part" to frame("00".repeat(10), "01", "0803"),
            "range huge" to frame("00".repeat(10), "01", "00ffffffff0f"),
            "range offset huge" to frame("00".repeat(10), "01", "ffffffff0f00"),
            "range offset beyond 32 bits (low bits in range)" to frame("00".repeat(10), "01", "80808080100" + "1"),
        )
        for ((name, b) in bad) {
            withClue(name) { view.parse(b, 0, b.size) shouldBe false }
        }
    }

    test("a nonce and ranges in non-shortest ULEB128 encodings are read as libdave reads them") {
        val f = frame("00".repeat(10), "85808000", "8200" + "838000")
        view.parse(f, 0, f.size) shouldBe true
        view.truncatedNonce shouldBe 5
        (0 until view.rangeCount).map { view.rangeStart(it) to view.rangeLength(it) } shouldBe listOf(2 to 3)
        // A nonce beyond 32 bits is cast to 32 bits, as libdave's static_cast<uint32_t>.
        val wide = frame("00", "8580808010")
        view.parse(wide, 0, wide.size) shouldBe true
        view.truncatedNonce shouldBe 5
    }

    test("windows outside the array are rejected, never thrown") {
        val f = frame("00".repeat(10), "01")
        view.parse(f, -1, f.size) shouldBe false
        view.parse(f, 1, f.size) shouldBe false
        view.parse(f, 0, f.size + 1) shouldBe false
        view.parse(f, 0, -1) shouldBe false
        view.parse(f, Int.MAX_VALUE, 12) shouldBe false
    }

    test("silence frame detection reuses the Opus rule: exactly F8 FF FE") {
        isSilenceFrame(hex("f8fffe"), 0, 3) shouldBe true
        isSilenceFrame(hex("00f8fffe"), 1, 3) shouldBe true
        isSilenceFrame(hex("f8fffe00"), 0, 4) shouldBe false
        isSilenceFrame(hex("f8fffe"), 1, 3) shouldBe false
    }
})
