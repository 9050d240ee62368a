package dev.earshot.voice.rtp

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe

/** Runs every case in the `vectors/rtp/` files through [RtpView], [HeaderExtensions] and [PacketDemux]. */
class RtpVectorsSpec : FunSpec({
    val vectors = Vectors.load("rtp")

    test("the vector files hold the required Discord-shaped and malformed cases") {
        val names = vectors.map { it.name }.toSet()
        for (required in listOf(
            "discord-talking-0x90-bede-1-word", "discord-padded-0xb0", "discord-silence-0x80",
            "discord-csrc-2-with-extension", "zero-length", "huge-cc", "extension-length-overrun",
            "padding-count-zero", "padding-count-past-start", "version-1", "garbage",
        )) withClue(required) { (required in names) shouldBe true }
    }

    context("fields of each vector") {
        withData(vectors) { v ->
            val b = v.bytes
            val view = RtpView()

            val wrap = view.wrap(b, 0, b.size)
            withClue("wrap") { (wrap?.name ?: "OK") shouldBe v.expected("wrap") }
            if (wrap == null) {
                checkHeader(v, view)
                view.payloadOffset shouldBe -1
            } else {
                view.isValid shouldBe false
            }

            val plain = view.wrapUnencrypted(b, 0, b.size)
            withClue("wrapUnencrypted") { (plain?.name ?: "OK") shouldBe v.expected("plain") }
            if (plain == null) {
                checkHeader(v, view)
                val (payloadOffset, payloadLength) = v.expected("payload").split('+').map { it.toInt() }
                withClue("payload") { (view.payloadOffset to view.payloadLength) shouldBe (payloadOffset to payloadLength) }
            } else {
                view.isValid shouldBe false
                view.payloadOffset shouldBe -1
            }

            // Element bytes located from the vector's own fields, not from the view under test.
            if ("level" in v.expect || "speaker" in v.expect) {
                val start = v.expected("hdr").toInt()
                val len = v.expected("extwords").toInt() * 4
                val profile = parseNumber(v.expected("profile")).toInt()
                v.expect["level"]?.let { HeaderExtensions.audioLevel(b, start, len, profile).toLong() shouldBe parseNumber(it) }
                v.expect["speaker"]?.let { HeaderExtensions.speakerFlags(b, start, len, profile).toLong() shouldBe parseNumber(it) }
            }

            withClue("kind") { PacketDemux.classify(b, 0, b.size).name shouldBe v.expected("kind") }
        }
    }

    context("every truncation of a packet with a valid header gives the error its layout predicts") {
        withData(vectors.filter { it.expected("wrap") == "OK" }) { v ->
            val view = RtpView()
            for (len in 0..v.bytes.size) {
                val expected = truncationModel(v, len)
                withClue("length $len") {
                    (view.wrap(v.bytes, 0, len)?.name ?: "OK") shouldBe expected.wrap
                    val plain = view.wrapUnencrypted(v.bytes, 0, len)
                    (plain?.name ?: "OK") shouldBe expected.plain
                    if (plain == null) (view.payloadOffset to view.payloadLength) shouldBe expected.payload
                }
            }
        }
    }

    context("a packet gives the same answers at any offset inside a larger buffer") {
        withData(vectors) { v ->
            val a = RtpView()
            val b = RtpView()
            val shift = 13
            val big = ByteArray(v.bytes.size + 2 * shift) { 0x5A }
            v.bytes.copyInto(big, shift)
            (a.wrapUnencrypted(v.bytes, 0, v.bytes.size)) shouldBe b.wrapUnencrypted(big, shift, v.bytes.size)
            listOf(a.sequence, a.headerLength, a.extensionProfile, a.payloadLength) shouldBe
                listOf(b.sequence, b.headerLength, b.extensionProfile, b.payloadLength)
            if (a.isValid) b.payloadOffset shouldBe a.payloadOffset + shift
            PacketDemux.classify(big, shift, v.bytes.size) shouldBe PacketDemux.classify(v.bytes, 0, v.bytes.size)
        }
    }

    test("csrc(i) outside 0 until csrcCount, or on an invalid view, is -1") {
        val v = vectors.first { it.name == "discord-csrc-2-with-extension" }
        val view = RtpView()
        view.wrap(v.bytes, 0, v.bytes.size) shouldBe null
        listOf(view.csrc(-1), view.csrc(0), view.csrc(1), view.csrc(2)) shouldBe listOf(-1L, 0x11111111L, 0x22222222L, -1L)
        view.wrap(v.bytes, 0, 3) shouldBe RtpError.TOO_SHORT
        view.csrc(0) shouldBe -1L
    }

    test("ranges outside the buffer are OUT_OF_BOUNDS, never an exception") {
        val view = RtpView()
        val buf = ByteArray(20)
        for ((offset, length) in listOf(-1 to 12, 0 to -1, 10 to 12, 21 to 0, Int.MAX_VALUE to Int.MAX_VALUE, 8 to Int.MAX_VALUE)) {
            withClue("$offset/$length") {
                view.wrap(buf, offset, length) shouldBe RtpError.OUT_OF_BOUNDS
                view.wrapUnencrypted(buf, offset, length) shouldBe RtpError.OUT_OF_BOUNDS
            }
        }
    }
})

private fun checkHeader(v: Vector, view: RtpView) {
    fun check(key: String, actual: Long) {
        v.expect[key]?.let { withClue(key) { actual shouldBe parseNumber(it) } }
    }
    fun Boolean.bit(): Long = if (this) 1 else 0
    view.isValid shouldBe true
    check("v", view.version.toLong())
    check("p", view.padding.bit())
    check("x", view.extension.bit())
    check("cc", view.csrcCount.toLong())
    check("m", view.marker.bit())
    check("pt", view.payloadType.toLong())
    check("seq", view.sequence.toLong())
    check("ts", view.timestamp)
    check("ssrc", view.ssrc)
    check("hdr", view.headerLength.toLong())
    check("profile", view.extensionProfile.toLong())
    check("extwords", view.extensionLengthWords.toLong())
    val csrcs = v.expect["csrc"]?.split(',')?.map { parseNumber(it) } ?: emptyList()
    withClue("csrc") { (0 until view.csrcCount).map { view.csrc(it) } shouldBe csrcs }
}

private data class Truncated(val wrap: String, val plain: String, val payload: Pair<Int, Int>?)

/** What a packet cut to [len] bytes must parse as, from the vector's declared layout (RFC 3550 order of fields). */
private fun truncationModel(v: Vector, len: Int): Truncated {
    val cc = v.expected("cc").toInt()
    val x = v.expected("x") == "1"
    val p = v.expected("p") == "1"
    val elements = v.expected("extwords").toInt() * 4
    val hdr = 12 + 4 * cc + (if (x) 4 else 0)
    val headerError = when {
        len < 12 -> "TOO_SHORT"
        len < 12 + 4 * cc -> "CSRC_OVERRUN"
        len < hdr + elements -> "EXTENSION_OVERRUN"
        else -> null
    }
    if (headerError != null) return Truncated(headerError, headerError, null)
    val available = len - hdr - elements
    if (!p) return Truncated("OK", "OK", hdr + elements to available)
    val pad = v.bytes[len - 1].toInt() and 0xFF
    return if (pad == 0 || pad > available) Truncated("OK", "BAD_PADDING", null)
    else Truncated("OK", "OK", hdr + elements to available - pad)
}
