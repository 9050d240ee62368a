package dev.earshot.voice.crypto

import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withTests
import io.kotest.matchers.shouldBe

class RtpsizeLayoutSpec : FunSpec({
    data class Case(val byte0: Int, val aad: Int)

    // AAD = 12 + 4 x CC + (X ? 4 : 0), worked out by hand from RFC 3550 / docs/protocol.md §5.2.
    withTests(
        nameFn = { "byte 0 = 0x%02X gives %d cleartext bytes".format(it.byte0, it.aad) },
        Case(0x80, 12), Case(0x90, 16), Case(0xB0, 16), Case(0xA0, 12), Case(0x92, 24), Case(0x82, 20),
        Case(0x8F, 72), Case(0x9F, 76),
    ) { c ->
        val packet = ByteArray(200).also { it[0] = c.byte0.toByte() }
        RtpsizeLayout.rtpAadLength(packet, 0, packet.size) shouldBe c.aad
        // Same header at an offset inside a larger buffer.
        val shifted = ByteArray(210).also { it[10] = c.byte0.toByte() }
        RtpsizeLayout.rtpAadLength(shifted, 10, 200) shouldBe c.aad
        // Exactly header + tag + nonce is the shortest valid packet; one byte less is rejected.
        RtpsizeLayout.rtpAadLength(packet, 0, c.aad + 20) shouldBe c.aad
        RtpsizeLayout.rtpAadLength(packet, 0, c.aad + 19) shouldBe -1
    }

    test("invalid ranges give -1") {
        val p = ByteArray(40).also { it[0] = 0x90.toByte() }
        RtpsizeLayout.rtpAadLength(p, -1, 36) shouldBe -1
        RtpsizeLayout.rtpAadLength(p, 5, 36) shouldBe -1
        RtpsizeLayout.rtpAadLength(p, 0, 11) shouldBe -1
        RtpsizeLayout.rtpAadLength(p, 0, -5) shouldBe -1
        RtpsizeLayout.rtpAadLength(p, Int.MAX_VALUE, 36) shouldBe -1
        RtpsizeLayout.rtpAadLength(ByteArray(0), 0, 0) shouldBe -1
    }
})
