package dev.earshot.voice.rtp

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.assertions.throwables.shouldThrow
import kotlin.random.Random

class RtpWriterSpec : FunSpec({
    val vectors = Vectors.load("rtp").associateBy { it.name }

    test("writes the header of the hand-built Discord talking packet") {
        val v = vectors.getValue("discord-talking-0x90-bede-1-word")
        val out = ByteArray(64)
        val n = RtpWriter.writeHeader(out, 0, sequence = 0x1a2b, timestamp = 0x0003a980, ssrc = 0x00bc614e,
            extensionProfile = HeaderExtensions.PROFILE_ONE_BYTE, extensionLengthWords = 1)
        n shouldBe 16
        val elements = RtpWriter.oneByteElements(1 to byteArrayOf(0xA8.toByte()), 9 to byteArrayOf(0x02))
        elements.toHex() shouldBe "10a89002"
        (out.toHex(0, n) + elements.toHex()) shouldBe v.bytes.toHex(0, 20)
    }

    test("writes CSRCs, the marker and wrapped counters like the hand-built vectors") {
        val csrc = vectors.getValue("discord-csrc-2-with-extension")
        val out = ByteArray(64)
        // Sequence and timestamp given past their wrap: only the low 16/32 bits are written.
        val n = RtpWriter.writeHeader(out, 0, sequence = 0x1ffff, timestamp = 0x1_fffffc40L, ssrc = 0x00bc614e,
            csrcs = longArrayOf(0x11111111, 0x22222222), extensionProfile = 0xBEDE, extensionLengthWords = 1)
        out.toHex(0, n) shouldBe csrc.bytes.toHex(0, 24)

        val silence = vectors.getValue("discord-silence-0x80")
        RtpWriter.writeHeader(out, 5, 0x1a2d, 0x0003b100, 0x00bc614e) shouldBe 12
        out.toHex(5, 17) shouldBe silence.bytes.toHex(0, 12)

        val marker = vectors.getValue("discord-marker-start-of-talkspurt")
        RtpWriter.writeHeader(out, 0, 0, 0, 0xfedcba98L, marker = true, extensionProfile = 0xBEDE, extensionLengthWords = 1) shouldBe 16
        out.toHex(0, 16) shouldBe marker.bytes.toHex(0, 16)
    }

    test("invalid arguments or too little room give -1 and write nothing") {
        val out = ByteArray(16)
        fun untouched() = out.all { it.toInt() == 0 }
        RtpWriter.writeHeader(out, 5, 1, 2, 3) shouldBe -1 // needs 12 bytes, 11 left
        RtpWriter.writeHeader(out, 0, 1, 2, 3, extensionProfile = 0xBEDE) shouldBe 16
        out.fill(0)
        RtpWriter.writeHeader(out, 1, 1, 2, 3, extensionProfile = 0xBEDE) shouldBe -1
        RtpWriter.writeHeader(out, -1, 1, 2, 3) shouldBe -1
        RtpWriter.writeHeader(out, 0, 1, 2, 3, payloadType = 128) shouldBe -1
        RtpWriter.writeHeader(out, 0, 1, 2, 3, payloadType = -1) shouldBe -1
        RtpWriter.writeHeader(ByteArray(200), 0, 1, 2, 3, csrcs = LongArray(16)) shouldBe -1
        RtpWriter.writeHeader(out, 0, 1, 2, 3, extensionLengthWords = 1) shouldBe -1
        RtpWriter.writeHeader(out, 0, 1, 2, 3, extensionProfile = 0x10000) shouldBe -1
        RtpWriter.writeHeader(out, 0, 1, 2, 3, extensionProfile = 0xBEDE, extensionLengthWords = 0x10000) shouldBe -1
        untouched() shouldBe true
    }

    test("random headers read back through RtpView") {
        val random = Random(20261121)
        val out = ByteArray(100)
        val view = RtpView()
        repeat(10_000) {
            val seq = random.nextInt(0x10000)
            val ts = random.nextLong(0x1_0000_0000L)
            val ssrc = random.nextLong(0x1_0000_0000L)
            val marker = random.nextBoolean()
            val pt = random.nextInt(128)
            val csrcs = LongArray(random.nextInt(16)) { random.nextLong(0x1_0000_0000L) }
            val profile = if (random.nextBoolean()) -1 else random.nextInt(0x10000)
            val words = if (profile == -1) 0 else random.nextInt(3)
            val n = RtpWriter.writeHeader(out, 0, seq, ts, ssrc, marker, pt, csrcs, profile, words)
            withClue("case $it") {
                n shouldBe 12 + 4 * csrcs.size + (if (profile == -1) 0 else 4)
                view.wrap(out, 0, n + 4 * words) shouldBe null
                listOf(view.sequence.toLong(), view.timestamp, view.ssrc, view.payloadType.toLong(), view.extensionProfile.toLong(),
                    view.extensionLengthWords.toLong(), view.headerLength.toLong()) shouldBe
                    listOf(seq.toLong(), ts, ssrc, pt.toLong(), profile.toLong(), words.toLong(), n.toLong())
                view.marker shouldBe marker
                LongArray(view.csrcCount) { i -> view.csrc(i) }.toList() shouldBe csrcs.toList()
            }
        }
    }

    test("oneByteElements pads to 32 bits and rejects ids and sizes RFC 8285 does not allow") {
        RtpWriter.oneByteElements().size shouldBe 0
        RtpWriter.oneByteElements(1 to byteArrayOf(0x7F)).toHex() shouldBe "107f0000"
        RtpWriter.oneByteElements(14 to ByteArray(16) { it.toByte() }).toHex() shouldBe
            "ef000102030405060708090a0b0c0d0e0f000000"
        shouldThrow<IllegalArgumentException> { RtpWriter.oneByteElements(0 to byteArrayOf(1)) }
        shouldThrow<IllegalArgumentException> { RtpWriter.oneByteElements(15 to byteArrayOf(1)) }
        shouldThrow<IllegalArgumentException> { RtpWriter.oneByteElements(1 to ByteArray(0)) }
        shouldThrow<IllegalArgumentException> { RtpWriter.oneByteElements(1 to ByteArray(17)) }
    }
})
