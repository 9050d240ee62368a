package dev.earshot.voice.rtp

import dev.earshot.voice.rtp.HeaderExtensions.PROFILE_ONE_BYTE
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe

class HeaderExtensionsSpec : FunSpec({
    /** [data] = expected "offset+length" inside the element bytes, or null for absent. */
    data class Case(val name: String, val profile: Int, val elements: String, val id: Int, val data: String?) {
        override fun toString() = name
    }

    context("find") {
        withData(
            Case("one-byte first element", PROFILE_ONE_BYTE, "10 a8 90 02", 1, "1+1"),
            Case("one-byte second element", PROFILE_ONE_BYTE, "10 a8 90 02", 9, "3+1"),
            Case("one-byte absent id", PROFILE_ONE_BYTE, "10 a8 90 02", 5, null),
            Case("one-byte 16-byte element (len nibble 15)", PROFILE_ONE_BYTE,
                "2f 00112233445566778899aabbccddeeff 10 07 00 00", 1, "18+1"),
            Case("one-byte padding before and between", PROFILE_ONE_BYTE, "00 00 10 33 00 92 01 02 03 00 00 00", 9, "6+3"),
            Case("one-byte id 15 stops the walk", PROFILE_ONE_BYTE, "f3 10 55 00", 1, null),
            Case("one-byte element before id 15 is found", PROFILE_ONE_BYTE, "10 55 f0 90 01 00 00 00", 1, "1+1"),
            Case("one-byte element after id 15 is not found", PROFILE_ONE_BYTE, "10 55 f0 90 01 00 00 00", 9, null),
            Case("one-byte truncated element", PROFILE_ONE_BYTE, "10 44 93 aa", 9, null),
            Case("one-byte element ending exactly at the end", PROFILE_ONE_BYTE, "10 44 91 aa bb", 9, "3+2"),
            Case("one-byte id 0 with a length is malformed", PROFILE_ONE_BYTE, "03 aa bb cc dd 10 01 00", 1, null),
            Case("one-byte id 0 is never searchable", PROFILE_ONE_BYTE, "00 00 00 00", 0, null),
            Case("one-byte id 15 is never searchable", PROFILE_ONE_BYTE, "f0 01 00 00", 15, null),
            Case("one-byte only padding", PROFILE_ONE_BYTE, "00 00 00 00", 1, null),
            Case("empty element region", PROFILE_ONE_BYTE, "", 1, null),
            Case("two-byte element", 0x1000, "01 01 a0 00 09 00 00 00", 1, "2+1"),
            Case("two-byte zero-length element", 0x1000, "01 01 a0 00 09 00 00 00", 9, "6+0"),
            Case("two-byte appbits 0xF", 0x100F, "0e 02 ab cd", 14, "2+2"),
            Case("two-byte id above 14", 0x1000, "00 ff 03 01 02 03 00 00", 255, "3+3"),
            Case("two-byte truncated data", 0x1000, "01 05 aa bb", 1, null),
            Case("two-byte header cut after the id", 0x1000, "01 00 07", 7, null),
            Case("two-byte id 256 is never searchable", 0x1000, "01 00 00 00", 256, null),
            Case("profile 0x1010 is not two-byte", 0x1010, "01 01 a0 00", 1, null),
            Case("unknown profile", 0xABCD, "10 a8 90 02", 1, null),
            Case("no extension (profile -1)", -1, "10 a8 90 02", 1, null),
        ) { c ->
            // The elements sit at offset 5 of a larger buffer to show that results are absolute offsets.
            val elements = Vectors.hex(c.elements)
            val buf = ByteArray(elements.size + 9) { 0x11 }
            elements.copyInto(buf, 5)
            val found = HeaderExtensions.find(buf, 5, elements.size, c.profile, c.id)
            val expected = c.data?.split('+')?.map { it.toInt() }?.let { (o, l) -> PackedRange.of(5 + o, l) } ?: PackedRange.NONE
            found shouldBe expected
        }
    }

    test("audioLevel and speakerFlags read the first data byte of their ids") {
        val e = Vectors.hex("10 a8 90 05")
        HeaderExtensions.audioLevel(e, 0, 4, PROFILE_ONE_BYTE) shouldBe 0xA8
        HeaderExtensions.speakerFlags(e, 0, 4, PROFILE_ONE_BYTE) shouldBe 0x05
        (0xA8 and HeaderExtensions.AUDIO_LEVEL_VOICE_ACTIVITY != 0) shouldBe true
        (0xA8 and HeaderExtensions.AUDIO_LEVEL_MASK) shouldBe 40
        (0x05 and HeaderExtensions.SPEAKER_PRIORITY != 0) shouldBe true
        (0x05 and HeaderExtensions.SPEAKER_SOUNDSHARE != 0) shouldBe true
        (0x05 and HeaderExtensions.SPEAKER_VOICE != 0) shouldBe false
    }

    test("the ids are parameters: another negotiated id is read the same way") {
        val e = Vectors.hex("30 7f 60 04")
        HeaderExtensions.audioLevel(e, 0, 4, PROFILE_ONE_BYTE) shouldBe -1
        HeaderExtensions.audioLevel(e, 0, 4, PROFILE_ONE_BYTE, id = 3) shouldBe 0x7F
        HeaderExtensions.speakerFlags(e, 0, 4, PROFILE_ONE_BYTE, id = 6) shouldBe 0x04
    }

    test("an empty two-byte element reads as absent for the typed helpers") {
        val e = Vectors.hex("01 00 09 00")
        HeaderExtensions.audioLevel(e, 0, 4, 0x1000) shouldBe -1
        HeaderExtensions.speakerFlags(e, 0, 4, 0x1000) shouldBe -1
    }

    test("a region outside the buffer is absent, not an exception") {
        val e = Vectors.hex("10 a8 90 05")
        for ((offset, length) in listOf(-1 to 4, 0 to 5, 4 to 1, 2 to Int.MAX_VALUE)) {
            HeaderExtensions.find(e, offset, length, PROFILE_ONE_BYTE, 1) shouldBe PackedRange.NONE
            HeaderExtensions.audioLevel(e, offset, length, PROFILE_ONE_BYTE) shouldBe -1
        }
    }

    context("profile forms") {
        withData(
            listOf(0xBEDE to "one", 0x1000 to "two", 0x1001 to "two", 0x100F to "two", 0x0100 to "neither",
                0x1010 to "neither", 0xBEDF to "neither", -1 to "neither", 0x11000 to "neither"),
        ) { (profile, form) ->
            HeaderExtensions.isOneByte(profile) shouldBe (form == "one")
            HeaderExtensions.isTwoByte(profile) shouldBe (form == "two")
        }
    }
})
