package dev.earshot.voice.rtp

import dev.earshot.voice.model.ReportBlock
import dev.earshot.voice.model.RtcpPacket
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf

/** Runs every case in the `vectors/rtcp/` files through [RtcpParser] and compares a textual rendering of the packets. */
class RtcpVectorsSpec : FunSpec({
    val vectors = Vectors.load("rtcp")

    context("parse each vector") {
        withData(vectors) { v ->
            val result = RtcpParser.parse(v.bytes, 0, v.bytes.size)
            if ("ok" in v.expect) {
                result.shouldBeInstanceOf<RtcpParseResult.Ok>()
                result.packets.map(::render) shouldBe v.packets
            } else {
                result.shouldBeInstanceOf<RtcpParseResult.Malformed>()
                withClue("reason") { result.reason.name shouldBe v.expected("malformed") }
                withClue("offset") { result.offset shouldBe v.expected("at").toInt() }
                withClue("partial") { result.parsed.map(::render) shouldBe v.packets }
            }
        }
    }

    context("every truncation of a valid datagram keeps the whole packets before the cut and reports the rest") {
        withData(vectors.filter { "ok" in it.expect }) { v ->
            // Packet boundaries from the length fields (RFC 3550: length in 32-bit words minus one).
            val boundaries = generateSequence(0) { at ->
                if (at >= v.bytes.size) null
                else at + ((v.bytes[at + 2].toInt() and 0xFF) * 256 + (v.bytes[at + 3].toInt() and 0xFF) + 1) * 4
            }.toList()
            for (len in 0 until v.bytes.size) {
                val whole = boundaries.count { it in 1..len }
                withClue("length $len") {
                    val r = RtcpParser.parse(v.bytes, 0, len)
                    if (len > 0 && len in boundaries) {
                        r.shouldBeInstanceOf<RtcpParseResult.Ok>()
                        r.packets.map(::render) shouldBe v.packets.take(whole)
                    } else {
                        r.shouldBeInstanceOf<RtcpParseResult.Malformed>()
                        r.parsed.map(::render) shouldBe v.packets.take(whole)
                        r.offset shouldBe boundaries[whole]
                    }
                }
            }
        }
    }

    test("the same datagram parses the same at an offset inside a larger buffer") {
        for (v in vectors) {
            val big = ByteArray(v.bytes.size + 11) { 0x7E }
            v.bytes.copyInto(big, 5)
            withClue(v.name) {
                describe(RtcpParser.parse(big, 5, v.bytes.size)) shouldBe describe(RtcpParser.parse(v.bytes, 0, v.bytes.size))
            }
        }
    }

    test("byte payloads are handed out as copies") {
        val v = vectors.first { it.name == "app" }
        val app = (RtcpParser.parse(v.bytes, 0, v.bytes.size) as RtcpParseResult.Ok).packets.single() as RtcpPacket.App
        app.data()[0] = 99
        app.data().toHex() shouldBe "01020304"
        app.dataLength shouldBe 4
        app.type shouldBe RtcpPacket.TYPE_APP
    }

    test("a range outside the buffer is OUT_OF_BOUNDS") {
        val buf = ByteArray(8)
        for ((offset, length) in listOf(-1 to 8, 0 to 9, 9 to 0, 4 to Int.MAX_VALUE)) {
            val r = RtcpParser.parse(buf, offset, length)
            r.shouldBeInstanceOf<RtcpParseResult.Malformed>()
            r.reason shouldBe RtcpError.OUT_OF_BOUNDS
        }
    }
})

private fun describe(r: RtcpParseResult): String = when (r) {
    is RtcpParseResult.Ok -> "ok " + r.packets.map(::render)
    is RtcpParseResult.Malformed -> "${r.reason} at ${r.offset} " + r.parsed.map(::render)
}

private fun h32(v: Long) = "0x%08x".format(v)

private fun render(block: ReportBlock) = with(block) {
    "ssrc=${h32(ssrc)} fraction=$fractionLost lost=$cumulativeLost highest=${h32(highestSequence)} jitter=$jitter " +
        "lsr=${h32(lastSenderReport)} dlsr=${h32(delaySinceLastSenderReport)}"
}

/** The rendering used by the `# packet:` lines of the RTCP vector files. */
fun render(p: RtcpPacket): String = when (p) {
    is RtcpPacket.SenderReport ->
        "SR ssrc=${h32(p.ssrc)} ntp=0x%016x rtp=${h32(p.rtpTimestamp)} packets=${p.packetCount} octets=${p.octetCount} ".format(p.ntpTimestamp) +
            "ext=${p.profileExtension().size} blocks=${p.reports.joinToString(", ", "[", "]", transform = ::render)}"
    is RtcpPacket.ReceiverReport ->
        "RR ssrc=${h32(p.ssrc)} ext=${p.profileExtension().size} blocks=${p.reports.joinToString(", ", "[", "]", transform = ::render)}"
    is RtcpPacket.SourceDescription -> "SDES chunks=" + p.chunks.joinToString(", ", "[", "]") { c ->
        h32(c.source) + c.items.joinToString(",", "{", "}") { "${it.type}:\"${it.text}\"" }
    }
    is RtcpPacket.Goodbye ->
        "BYE sources=${p.sources.joinToString(", ", "[", "]", transform = ::h32)} reason=${p.reason?.let { "\"$it\"" }}"
    is RtcpPacket.App -> "APP subtype=${p.subtype} ssrc=${h32(p.ssrc)} name=${p.name} data=${p.data().toHex()}"
    is RtcpPacket.Feedback ->
        "FB type=${p.type} fmt=${p.format} sender=${h32(p.senderSsrc)} media=${h32(p.mediaSsrc)} fci=${p.fci().toHex()}"
    is RtcpPacket.Unknown -> "UNKNOWN type=${p.type} count=${p.count} body=${p.body().toHex()}"
}
