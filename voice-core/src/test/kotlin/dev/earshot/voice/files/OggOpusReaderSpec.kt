package dev.earshot.voice.files

import dev.earshot.voice.testing.readOggResource

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain

/** Builds one Ogg page (RFC 3533 §6) with a valid CRC. */
private fun page(headerType: Int, granule: Long, sequence: Int, lacing: List<Int>, body: ByteArray): ByteArray {
    val page = ByteArray(27 + lacing.size + body.size)
    "OggS".toByteArray().copyInto(page)
    page[5] = headerType.toByte()
    for (i in 0 until 8) page[6 + i] = (granule ushr (8 * i)).toByte()
    page[14] = 1 // serial 1
    page[18] = sequence.toByte()
    page[26] = lacing.size.toByte()
    lacing.forEachIndexed { i, l -> page[27 + i] = l.toByte() }
    body.copyInto(page, 27 + lacing.size)
    val crc = OggOpusReader.crc(page, 0, page.size)
    for (i in 0 until 4) page[22 + i] = (crc ushr (8 * i)).toByte()
    return page
}

class OggOpusReaderSpec : FunSpec({
    test("reads the header facts and packets of the opusenc files") {
        // Expected values read independently: OpusHead bytes with xxd, packet and page counts from opusenc's
        // summary and a separate Python page walker.
        val speech = readOggResource("/audio/speech.opus")
        speech.channels shouldBe 1
        speech.preSkip shouldBe 312
        speech.packets.size shouldBe 332
        speech.finalGranule shouldBe 318_573L
        val stereo = readOggResource("/audio/speech-stereo-60ms.opus")
        stereo.channels shouldBe 2
        stereo.packets.size shouldBe 111
    }

    test("a packet continued across pages is joined, and the next one on that page kept") {
        val head = byteArrayOf(*"OpusHead".toByteArray(), 1, 2, 0x38, 0x01, 0x80.toByte(), 0xBB.toByte(), 0, 0, 0, 0, 0)
        val tags = byteArrayOf(*"OpusTags".toByteArray(), 0, 0, 0, 0, 0, 0, 0, 0)
        val big = ByteArray(600) { it.toByte() }
        val silence = byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())
        val file = page(2, 0, 0, listOf(head.size), head) +
            page(0, 0, 1, listOf(tags.size), tags) +
            page(0, -1, 2, listOf(255, 255), big.copyOf(510)) + // ends mid-packet: granule -1
            page(1 or 4, 1920, 3, listOf(90, 3), big.copyOfRange(510, 600) + silence)
        val stream = OggOpusReader.read(file)
        stream.channels shouldBe 2
        stream.preSkip shouldBe 312
        stream.finalGranule shouldBe 1920L
        stream.packets.size shouldBe 2
        stream.packets[0] shouldBe big
        stream.packets[1] shouldBe silence
    }

    test("truncated and garbage input is refused with MalformedOggException, never another exception") {
        val file = OggOpusReader::class.java.getResourceAsStream("/audio/speech.opus")!!.use { it.readBytes() }
        for (cut in listOf(1, 4, 20, 27, 28, 100, 1000, file.size - 1)) {
            shouldThrow<MalformedOggException> { OggOpusReader.read(file.copyOf(cut)) }
        }
        val random = kotlin.random.Random(7)
        repeat(200) { shouldThrow<MalformedOggException> { OggOpusReader.read(random.nextBytes(random.nextInt(0, 300))) } }
        shouldThrow<MalformedOggException> { OggOpusReader.read(ByteArray(0)) }.message shouldContain "OpusHead"
    }

    test("a damaged page fails its CRC") {
        val file = OggOpusReader::class.java.getResourceAsStream("/audio/speech.opus")!!.use { it.readBytes() }
        file[2000] = (file[2000].toInt() xor 0x10).toByte()
        shouldThrow<MalformedOggException> { OggOpusReader.read(file) }.message shouldContain "bad CRC"
    }
})
