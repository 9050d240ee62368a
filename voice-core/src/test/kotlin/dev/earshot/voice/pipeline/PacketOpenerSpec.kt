package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.send.RtpPacketizer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe

/** [PacketOpener.open]'s result by the per-packet convention: AUDIO, an RTCP length, or DROPPED counted once. */
class PacketOpenerSpec : FunSpec({
    val key = ByteArray(32) { (it * 7 + 1).toByte() }
    val mode = EncryptionMode.AEAD_AES256_GCM_RTPSIZE

    fun packetOf(bytes: ByteArray) = ReceivedPacket().apply {
        bytes.copyInto(data)
        length = bytes.size
    }

    fun opener(counters: Counters) = PacketOpener(counters).apply { setCipher(TransportCipher.create(mode, key)) }

    test("an audio packet opens as AUDIO with its payload located") {
        val counters = Counters()
        val opus = byteArrayOf(0x78, 1, 2, 3, 4)
        val out = ByteArray(200)
        val n = RtpPacketizer(0x1234, TransportCipher.create(mode, key), sequence = 7, timestamp = 960).packetize(opus, out = out)
        val p = packetOf(out.copyOf(n))
        opener(counters).open(p) shouldBe PacketOpener.AUDIO
        p.ssrc shouldBe 0x1234L
        p.sequence shouldBe 7
        p.data.copyOfRange(p.payloadOffset, p.payloadOffset + p.payloadLength) shouldBe opus
        counters[Counter.DECRYPTED] shouldBe 1L
    }

    test("RTCP opens as the length of the decrypted compound packet") {
        val counters = Counters()
        val header = byteArrayOf(0x81.toByte(), 201.toByte(), 0, 7, 1, 2, 3, 4)
        val block = ByteArray(24) { (it + 1).toByte() }
        val out = ByteArray(100)
        val n = TransportCipher.create(mode, key).encrypt(header, 0, 8, block, 0, block.size, 5, out, 0)
        val p = packetOf(out.copyOf(n))
        val opened = opener(counters).open(p)
        opened shouldBe PacketOpener.RTCP_CLEAR_BYTES + block.size
        p.data.copyOfRange(PacketOpener.RTCP_CLEAR_BYTES, opened) shouldBe block
        counters[Counter.RTCP] shouldBe 1L
    }

    test("what cannot be opened is DROPPED and counted in exactly one counter") {
        val cases = listOf(
            Counter.MALFORMED to byteArrayOf(0x00),
            Counter.KEEPALIVE to ByteArray(8),
            Counter.AUTH_FAILURES to ByteArray(40).also { it[0] = 0x80.toByte(); it[1] = 120 },
        )
        for ((counter, bytes) in cases) {
            val counters = Counters()
            opener(counters).open(packetOf(bytes)) shouldBe PacketOpener.DROPPED
            counters[counter] shouldBe 1L
            (counters.values().sum() - counters[Counter.RTP_AUDIO]) shouldBe 1L
        }
        val noKey = Counters()
        PacketOpener(noKey).open(packetOf(ByteArray(40).also { it[0] = 0x80.toByte(); it[1] = 120 })) shouldBe PacketOpener.DROPPED
        noKey[Counter.NO_KEY] shouldBe 1L
    }
})
