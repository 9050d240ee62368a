package dev.earshot.voice.rtp

import dev.earshot.voice.model.RtcpPacket
import io.kotest.core.spec.style.FunSpec
import kotlin.random.Random

/**
 * Property test: random datagrams and random mutations of the valid vectors go through every parser. Nothing may
 * throw, every reported range must lie inside the window it was given, and a parser must give the same answer for
 * the same bytes wherever they sit in a larger buffer (so it never reads outside its window).
 */
class PacketFuzzSpec : FunSpec({
    val seeds = (Vectors.load("rtp").filter { it.expected("wrap") == "OK" } +
        Vectors.load("rtcp").filter { "ok" in it.expect }).map { it.bytes }

    test("100k random datagrams through every parser") {
        val random = Random(0x5EED_0001)
        repeat(100_000) { i ->
            // Mostly short datagrams, where the interesting boundaries are, plus some long ones.
            val len = if (random.nextInt(4) == 0) random.nextInt(2049) else random.nextInt(80)
            val bytes = random.nextBytes(len)
            // Half of them get a plausible first byte so that they reach past the version check.
            if (len > 0 && random.nextBoolean()) bytes[0] = (0x80 or random.nextInt(0x40)).toByte()
            checkAll(bytes, random, "random #$i")
        }
    }

    test("100k mutations of the valid vectors through every parser") {
        val random = Random(0x5EED_0002)
        repeat(100_000) { i ->
            checkAll(mutate(seeds[random.nextInt(seeds.size)], random), random, "mutation #$i")
        }
    }
})

private fun mutate(seed: ByteArray, random: Random): ByteArray {
    var b = seed.copyOf()
    repeat(1 + random.nextInt(3)) {
        when (random.nextInt(6)) {
            0 -> if (b.isNotEmpty()) { val at = random.nextInt(b.size); b[at] = (b[at].toInt() xor (1 shl random.nextInt(8))).toByte() }
            1 -> if (b.isNotEmpty()) b[random.nextInt(b.size)] = random.nextInt(256).toByte()
            2 -> if (b.isNotEmpty()) b[random.nextInt(b.size)] = if (random.nextBoolean()) 0 else -1
            3 -> b = b.copyOf(random.nextInt(b.size + 1))
            4 -> b += random.nextBytes(random.nextInt(1, 40))
            // Length fields and counts: RTP byte 0 (CC, X, P), the RTCP length, the extension length after 12 bytes.
            else -> if (b.size > 15) b[listOf(0, 2, 3, 14, 15).random(random)] = random.nextInt(256).toByte()
        }
    }
    return b
}

private fun fail(context: String, bytes: ByteArray, what: String): Nothing =
    throw AssertionError("$context: $what for ${bytes.toHex()}")

private inline fun ensure(ok: Boolean, context: String, bytes: ByteArray, what: () -> String) {
    if (!ok) fail(context, bytes, what())
}

/** Runs [bytes] through every parser, at offset 0 of an exact-size array and inside a larger random buffer. */
private fun checkAll(bytes: ByteArray, random: Random, context: String) {
    val shift = random.nextInt(1, 17)
    val big = random.nextBytes(bytes.size + shift + random.nextInt(17))
    bytes.copyInto(big, shift)
    try {
        checkRtp(bytes, big, shift, context)
        checkElements(bytes, big, shift, random, context)
        checkPayload(bytes, big, shift, random, context)
        checkRtcp(bytes, big, shift, context)
        ensure(PacketDemux.classify(bytes, 0, bytes.size) == PacketDemux.classify(big, shift, bytes.size), context, bytes) {
            "classify depends on bytes outside the window"
        }
    } catch (e: AssertionError) {
        throw e
    } catch (e: Throwable) {
        throw AssertionError("$context: ${e.javaClass.simpleName} for ${bytes.toHex()}", e)
    }
}

private fun checkRtp(bytes: ByteArray, big: ByteArray, shift: Int, context: String) {
    val a = RtpView()
    val b = RtpView()
    for (unencrypted in listOf(false, true)) {
        val ra = if (unencrypted) a.wrapUnencrypted(bytes, 0, bytes.size) else a.wrap(bytes, 0, bytes.size)
        val rb = if (unencrypted) b.wrapUnencrypted(big, shift, bytes.size) else b.wrap(big, shift, bytes.size)
        ensure(ra == rb, context, bytes) { "wrap($unencrypted) depends on bytes outside the window: $ra vs $rb" }
        ensure(a.isValid == (ra == null), context, bytes) { "isValid disagrees with the result" }
        if (ra != null) continue
        val x = if (a.extension) 4 else 0
        ensure(a.version == 2 && a.csrcCount in 0..15 && a.payloadType in 0..127 && a.sequence in 0..0xFFFF, context, bytes) { "field out of range" }
        ensure(a.timestamp in 0..0xFFFF_FFFFL && a.ssrc in 0..0xFFFF_FFFFL, context, bytes) { "32-bit field out of range" }
        ensure(a.headerLength == 12 + 4 * a.csrcCount + x, context, bytes) { "headerLength ${a.headerLength}" }
        ensure(a.headerLength + 4 * a.extensionLengthWords <= bytes.size, context, bytes) { "extension past the end" }
        ensure(a.extension == (a.extensionProfile in 0..0xFFFF) && a.extensionProfile >= -1, context, bytes) { "profile ${a.extensionProfile}" }
        for (i in 0 until a.csrcCount) ensure(a.csrc(i) == b.csrc(i) && a.csrc(i) >= 0, context, bytes) { "csrc($i)" }
        if (unencrypted) {
            val elementsEnd = a.headerLength + 4 * a.extensionLengthWords
            ensure(a.payloadOffset >= elementsEnd && a.payloadLength >= 0 && a.payloadOffset + a.payloadLength <= bytes.size, context, bytes) {
                "payload ${a.payloadOffset}+${a.payloadLength}"
            }
            ensure(b.payloadOffset == a.payloadOffset + shift && b.payloadLength == a.payloadLength, context, bytes) { "payload moved" }
            ensure(a.padding || a.payloadOffset + a.payloadLength == bytes.size, context, bytes) { "payload short without padding" }
        } else {
            ensure(a.payloadOffset == -1, context, bytes) { "payloadOffset after wrap" }
        }
    }
}

private fun checkElements(bytes: ByteArray, big: ByteArray, shift: Int, random: Random, context: String) {
    val profile = when (random.nextInt(4)) {
        0, 1 -> HeaderExtensions.PROFILE_ONE_BYTE
        2 -> HeaderExtensions.PROFILE_TWO_BYTE or random.nextInt(16)
        else -> random.nextInt(-2, 0x10002)
    }
    val id = random.nextInt(-2, 260)
    val a = HeaderExtensions.find(bytes, 0, bytes.size, profile, id)
    val b = HeaderExtensions.find(big, shift, bytes.size, profile, id)
    if (a == PackedRange.NONE) {
        ensure(b == PackedRange.NONE, context, bytes) { "find depends on bytes outside the window" }
    } else {
        val o = PackedRange.offset(a)
        val l = PackedRange.length(a)
        ensure(o >= 1 && l >= 0 && o + l <= bytes.size, context, bytes) { "find($profile, $id) = $o+$l" }
        ensure(b == PackedRange.of(o + shift, l), context, bytes) { "find moved" }
    }
    val level = HeaderExtensions.audioLevel(bytes, 0, bytes.size, profile)
    ensure(level in -1..255 && level == HeaderExtensions.audioLevel(big, shift, bytes.size, profile), context, bytes) { "audioLevel $level" }
    val flags = HeaderExtensions.speakerFlags(bytes, 0, bytes.size, profile)
    ensure(flags in -1..255 && flags == HeaderExtensions.speakerFlags(big, shift, bytes.size, profile), context, bytes) { "speakerFlags $flags" }
}

private fun checkPayload(bytes: ByteArray, big: ByteArray, shift: Int, random: Random, context: String) {
    val padding = random.nextBoolean()
    val words = if (random.nextInt(8) == 0) random.nextInt(-3, 0x10003) else random.nextInt(0, 1 + bytes.size / 4)
    val a = RtpPayload.locate(bytes, 0, bytes.size, padding, words)
    val b = RtpPayload.locate(big, shift, bytes.size, padding, words)
    if (a == PackedRange.NONE) {
        ensure(b == PackedRange.NONE, context, bytes) { "locate depends on bytes outside the window" }
        return
    }
    val o = RtpPayload.payloadOffset(a)
    val l = RtpPayload.payloadLength(a)
    ensure(o == 4 * words && l >= 0 && o + l <= bytes.size, context, bytes) { "locate($padding, $words) = $o+$l" }
    ensure(padding || o + l == bytes.size, context, bytes) { "payload short without padding" }
    ensure(b == PackedRange.of(o + shift, l), context, bytes) { "locate moved" }
}

private fun checkRtcp(bytes: ByteArray, big: ByteArray, shift: Int, context: String) {
    val a = RtcpParser.parse(bytes, 0, bytes.size)
    val b = RtcpParser.parse(big, shift, bytes.size)
    val packets = when (a) {
        is RtcpParseResult.Ok -> a.packets.also { ensure(it.isNotEmpty(), context, bytes) { "Ok without packets" } }
        is RtcpParseResult.Malformed -> a.parsed.also {
            ensure(a.offset in 0..bytes.size && a.offset % 4 == 0, context, bytes) { "malformed offset ${a.offset}" }
        }
    }
    var size = 0
    for (p in packets) {
        when (p) {
            is RtcpPacket.SenderReport -> size += 28 + 24 * p.reports.size + p.profileExtension().size
            is RtcpPacket.ReceiverReport -> size += 8 + 24 * p.reports.size + p.profileExtension().size
            is RtcpPacket.App -> size += 12 + p.dataLength
            is RtcpPacket.Feedback -> size += 12 + p.fciLength
            is RtcpPacket.Unknown -> size += 4 + p.bodyLength
            is RtcpPacket.Goodbye -> size += 4 + 4 * p.sources.size
            is RtcpPacket.SourceDescription -> size += 4 + 4 * p.chunks.size
        }
    }
    // Each packet's decoded content is a lower bound of its wire size, so together they cannot exceed the datagram.
    ensure(size <= bytes.size, context, bytes) { "decoded $size bytes out of ${bytes.size}" }
    ensure(describe(a) == describe(b), context, bytes) { "parse depends on bytes outside the window" }
}

private fun describe(r: RtcpParseResult): String = when (r) {
    is RtcpParseResult.Ok -> "ok " + r.packets.map(::render)
    is RtcpParseResult.Malformed -> "${r.reason} at ${r.offset} " + r.parsed.map(::render)
}
