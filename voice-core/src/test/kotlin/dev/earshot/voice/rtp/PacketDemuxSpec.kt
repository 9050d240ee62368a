package dev.earshot.voice.rtp

import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe

class PacketDemuxSpec : FunSpec({
    data class Case(val name: String, val hex: String, val kind: PacketKind) {
        override fun toString() = name
    }

    val discovery = "0002 0046 00bc614e 3230332e302e3131332e37" + "00".repeat(53) + "c350"
    val rtpHeader = "0078 1a2b 0003a980 00bc614e"

    context("classify") {
        withData(
            Case("empty", "(empty)", PacketKind.MALFORMED),
            Case("one byte", "80", PacketKind.MALFORMED),
            Case("discovery response", discovery, PacketKind.IP_DISCOVERY),
            Case("discovery request (type 1) is not for us", "0001" + discovery.substring(4), PacketKind.MALFORMED),
            Case("discovery response with a wrong length field", "0002 0045" + discovery.substring(9), PacketKind.MALFORMED),
            Case("discovery response cut to 73 bytes", discovery.dropLast(2), PacketKind.MALFORMED),
            Case("ping request", "1337cafe 00000001", PacketKind.KEEPALIVE),
            Case("ping response", "1337f00d 00000001", PacketKind.KEEPALIVE),
            Case("discord.js keepalive: uint32 LE counter + 4 zero bytes", "2a010000 00000000", PacketKind.KEEPALIVE),
            Case("discord.py keepalive: uint64 BE counter", "00000000 0000012a", PacketKind.KEEPALIVE),
            Case("counter keepalive whose first byte looks like RTCP v2", "80c80000 00000000", PacketKind.KEEPALIVE),
            Case("8 bytes of something else", "1337cafd 00000001", PacketKind.MALFORMED),
            Case("JDA keepalive", "c9 0000000000000000", PacketKind.KEEPALIVE),
            Case("9 bytes starting C9 but not all zero after", "c9 0000000000000001", PacketKind.MALFORMED),
            Case("RTP audio 0x90", "90" + rtpHeader.substring(2) + "bede0001 10a89002 780be4", PacketKind.RTP_AUDIO),
            Case("RTP audio 0x80 silence", "80" + rtpHeader.substring(2) + "f8fffe", PacketKind.RTP_AUDIO),
            Case("RTP audio with marker (0xF8)", "80f8 1a2b 0003a980 00bc614e 78", PacketKind.RTP_AUDIO),
            Case("RTP audio with 13 bytes", "80" + rtpHeader.substring(2) + "00", PacketKind.RTP_AUDIO),
            Case("PT 120 with only 12 bytes", "80" + rtpHeader.substring(2), PacketKind.MALFORMED),
            Case("PT 96 probe", "8060 1a2b 0003a980 00bc614e 0102", PacketKind.RTP_OTHER),
            Case("PT 101 video with 12 bytes", "8065 1a2b 0003a980 00bc614e", PacketKind.RTP_OTHER),
            Case("RTP of 11 bytes", "8060 1a2b 0003a980 00bc61", PacketKind.MALFORMED),
            Case("RTCP SR (200)", "80c8 0006 00bc614e 0102030405060708", PacketKind.RTCP),
            Case("RTCP RR (201)", "81c9 0007 00bc614e 1122334419000003", PacketKind.RTCP),
            Case("RTCP PSFB (206)", "81ce 0002 00bc614e 11223344", PacketKind.RTCP),
            Case("RTCP type 192, the RFC 5761 lower bound", "80c0 0001 00000001 0000", PacketKind.RTCP),
            Case("RTCP type 223, the RFC 5761 upper bound", "80df 0001 00000001 0000", PacketKind.RTCP),
            Case("second byte 224 is RTP (M=1, PT 96)", "80e0 0001 00000001 00000002 00", PacketKind.RTP_OTHER),
            Case("second byte 191 is RTP (M=1, PT 63)", "80bf 0001 00000001 00000002 00", PacketKind.RTP_OTHER),
            Case("RTCP shorter than 8 bytes", "80c9 0001 000000", PacketKind.MALFORMED),
            Case("version 0", "0078 1a2b 0003a980 00bc614e 7800", PacketKind.MALFORMED),
            Case("version 1", "4078 1a2b 0003a980 00bc614e 7800", PacketKind.MALFORMED),
            Case("version 3", "c078 1a2b 0003a980 00bc614e 7800", PacketKind.MALFORMED),
        ) { c ->
            val bytes = Vectors.hex(c.hex)
            PacketDemux.classify(bytes, 0, bytes.size) shouldBe c.kind
            // Surrounding bytes must not matter.
            val big = ByteArray(bytes.size + 6) { 0x13 }
            bytes.copyInto(big, 3)
            PacketDemux.classify(big, 3, bytes.size) shouldBe c.kind
        }
    }

    test("a range outside the buffer is MALFORMED") {
        val buf = ByteArray(20) { 0x80.toByte() }
        for ((offset, length) in listOf(-1 to 13, 0 to 21, 21 to 0, 8 to Int.MAX_VALUE)) {
            PacketDemux.classify(buf, offset, length) shouldBe PacketKind.MALFORMED
        }
    }
})
