package dev.earshot.voice.pipeline

import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.rtp.RtpWriter
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runTest
import kotlinx.coroutines.withTimeout
import kotlin.random.Random
import kotlin.time.Duration.Companion.minutes

/**
 * Random and mutated datagrams through the whole pipeline: nothing may escape as an exception, state stays within
 * its limits whatever the SSRCs and sequence numbers, and every datagram is accounted for exactly once.
 */
class PipelineFuzzSpec : FunSpec({

    /** Builds a mix of hostile traffic around one honest speaker. */
    class Traffic(seed: Int, key: ByteArray, private val paced: Boolean = false) {
        val rnd = Random(seed)
        private val cipher = TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, key)
        private val honest = FakeSpeaker(0x1234, key)
        private val header = ByteArray(16)
        private var nonce = 0
        private var k = 0
        private val recent = ArrayDeque<ByteArray>()

        fun next(): ByteArray = when (rnd.nextInt(10)) {
            0, 1, 2 -> ByteArray(rnd.nextInt(0, 300)).also(rnd::nextBytes)
            3, 4, 5 -> mutate(recent.randomOrNull(rnd) ?: honestPacket())
            6, 7, 8 -> forged()
            // Paced: the honest speaker sends in real time, one packet per batch ([honestPacket]), not in the mix.
            else -> if (paced) forged() else honestPacket()
        }

        fun honestPacket(): ByteArray {
            val p = honest.datagram(Speech.packets[k++ % Speech.packets.size])
            recent.addLast(p)
            if (recent.size > 64) recent.removeFirst()
            return p
        }

        private fun mutate(p: ByteArray): ByteArray {
            val m = when (rnd.nextInt(3)) {
                0 -> p.copyOf()
                1 -> p.copyOf(rnd.nextInt(0, p.size + 1))
                else -> p + ByteArray(rnd.nextInt(1, 40)).also(rnd::nextBytes)
            }
            repeat(rnd.nextInt(0, 4)) { if (m.isNotEmpty()) m[rnd.nextInt(m.size)] = rnd.nextInt().toByte() }
            return m
        }

        /** Correctly encrypted packets with hostile headers: random SSRCs, sequence jumps, junk or silent payloads. */
        private fun forged(): ByteArray {
            val ext = rnd.nextBoolean()
            val h = RtpWriter.writeHeader(
                header, 0, rnd.nextInt(0, 65536), rnd.nextLong(0, 1L shl 32), rnd.nextLong(1, 500),
                extensionProfile = if (ext) 0xBEDE else -1, extensionLengthWords = if (ext) rnd.nextInt(0, 3) else 0,
            )
            val payload = when (rnd.nextInt(4)) {
                0 -> FakeSpeaker.SILENCE
                1 -> Speech.packets[rnd.nextInt(Speech.packets.size)]
                else -> ByteArray(rnd.nextInt(0, 200)).also(rnd::nextBytes)
            }
            val out = ByteArray(h + payload.size + 20)
            return out.copyOf(cipher.encrypt(header, 0, h, payload, 0, payload.size, nonce++, out, 0))
        }
    }

    suspend fun fuzz(h: ReceiverHarness, count: Int, seed: Int, paced: Boolean = false) {
        val traffic = Traffic(seed, h.key, paced)
        var sent = 0
        while (sent < count) {
            if (paced) h.source.offer(traffic.honestPacket())
            repeat(if (paced) 199 else 200) { h.source.offer(traffic.next()) }
            sent += 200
            delay(20)
        }
        h.source.close()
    }

    test("a timestamp jump of 2^31 samples inside a buffered spurt: the rest still plays and the receiver finishes") {
        // The root of this spec running out of memory: such a jump (any forged packet can carry one) was played as
        // silence tick by tick, half a day of it, so the speaker never went idle, could not be evicted, and the
        // receiver never finished after its input ended; the spec's tick list grew until the heap was gone.
        runTest {
            val h = ReceiverHarness(this) { decode = null }
            val sp = FakeSpeaker(0x77, h.key)
            launch {
                val burst = ArrayList<ByteArray>()
                for (i in 0 until 10) {
                    if (i == 5) sp.pause(0x7FFF_0000)
                    burst += sp.datagram(Speech.packets[i])
                }
                burst.forEach(h.source::offer)
                delay(20)
                h.source.close()
            }
            val ticks = withTimeout(30_000) { h.ticks.await() }
            ticks.flatMap { t -> t.speaking.filter { it.ssrc == 0x77L && it.opus != null } }.size shouldBe 10
            h.receiver.awaitClose() shouldBe null
        }
    }

    test("a million random and mutated datagrams (Opus passthrough): no exception, bounded state, counters add up").config(timeout = 5.minutes) {
        runTest(timeout = 5.minutes) {
            val h = ReceiverHarness(this) { decode = null; maxSsrcs = 32; maxHeldSsrcs = 8 }
            launch { fuzz(h, 1_000_000, seed = 1) }
            var maxSpeakers = 0
            launch {
                while (!h.ticks.isCompleted) {
                    maxSpeakers = maxOf(maxSpeakers, h.receiver.speakerCount())
                    delay(100)
                }
            }
            val ticks = h.ticks.await()
            h.receiver.awaitClose() shouldBe null
            val s = h.receiver.stats()
            s.datagrams shouldBe 1_000_000
            (s.rtpAudio + s.rtcp + s.discovery + s.keepalive + s.otherPayload + s.malformed + s.droppedDatagrams) shouldBe s.datagrams
            (s.decrypted + s.authFailures + s.noKey + s.malformedAudio) shouldBe s.rtpAudio
            maxSpeakers shouldBeLessThanOrEqual 32
            s.decrypted shouldBeGreaterThan 300_000
            s.authFailures shouldBeGreaterThan 100_000
            s.ssrcLimitDrops shouldBeGreaterThan 0
            ticks.size.toLong() shouldBe s.ticks
        }
    }

    test("a hundred thousand hostile datagrams with Opus decoding on: junk payloads never break the decoders") {
        runTest(timeout = 5.minutes) {
            // The honest speaker talks in real time here (one packet per 20 ms): unpaced it sends twenty packets per
            // tick, which no playout can play (the buffer resyncs every few ticks), so little would be decoded at all.
            val h = ReceiverHarness(this) { decode = PcmFormat.STEREO_48K; maxSsrcs = 16 }
            launch { fuzz(h, 100_000, seed = 2, paced = true) }
            val ticks = h.ticks.await()
            h.receiver.awaitClose() shouldBe null
            val s = h.receiver.stats()
            (s.decrypted + s.authFailures + s.noKey + s.malformedAudio) shouldBe s.rtpAudio
            // Paced, the honest speaker sends 500 packets in these 10 s; junk from forged SSRCs is decoded besides.
            s.decoded shouldBeGreaterThan 500
            // The honest speaker's 500 packets play, decoded, among the junk (the first ones may wait for its delay).
            ticks.sumOf { t -> t.speaking.count { it.ssrc == 0x1234L && it.kind == dev.earshot.voice.model.FrameKind.DECODED }.toLong() } shouldBeGreaterThan 480L
        }
    }
})
