package dev.earshot.voice.codec

import dev.earshot.voice.testing.Pcm
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe

/**
 * In-band FEC against plain concealment on isolated single losses of the speech stream, scored against the
 * libopus reference decode of the lost frame.
 */
class FecSpec : FunSpec({
    val speech = SpeechFixtures.speech
    val packets = speech.packets
    val reference = SpeechFixtures.reference48k
    val frame = 960

    /** SNR of the frame decoded in place of packet [n] against the reference for that frame (left channel). */
    fun lostFrameSnr(out: ShortArray, n: Int): Double {
        val left = Pcm.channel(out.copyOf(2 * frame), 2, 0)
        return Pcm.snrDb(reference, n * frame - speech.preSkip, left, 0, frame)
    }

    /** Decodes the whole stream losing each packet in [lost]; returns the SNR of each lost frame. */
    fun run(lost: List<Int>, recover: (OpusFrameDecoder, ByteArray, ShortArray) -> Int): List<Double> {
        val decoder = ConcentusDecoderFactory.create(PcmFormat.STEREO_48K)
        val out = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
        val snrs = ArrayList<Double>()
        for ((i, packet) in packets.withIndex()) {
            if (i in lost) {
                recover(decoder, packets[i + 1], out) shouldBe frame
                snrs += lostFrameSnr(out, i)
            } else {
                decoder.decode(packet, 0, packet.size, out) shouldBe frame
            }
        }
        return snrs
    }

    test("FEC recovers lost frames clearly better than concealment") {
        val withLbrr = packets.count { OpusPacketInfo.hasLbrr(it, 0, it.size) }
        println("packets carrying LBRR: $withLbrr of ${packets.size} (%.0f %%)".format(100.0 * withLbrr / packets.size))
        // Every 10th frame, where the next packet has LBRR and the lost frame is speech (reference RMS above
        // -50 dBFS): in a pause both methods produce near-silence and an SNR is meaningless.
        val lost = (10 until packets.size - 1 step 10).filter { n ->
            OpusPacketInfo.hasLbrr(packets[n + 1], 0, packets[n + 1].size) &&
                Pcm.rms(reference, n * frame - speech.preSkip, frame) > 100.0
        }
        lost.size shouldBeGreaterThan 15
        val fec = run(lost) { d, next, out -> d.decodeFec(next, 0, next.size, frame, out) }
        val plc = run(lost) { d, _, out -> d.conceal(frame, out) }
        println(
            "isolated losses: %d; FEC mean %.1f dB (min %.1f), PLC mean %.1f dB (min %.1f)".format(
                lost.size, fec.average(), fec.min(), plc.average(), plc.min(),
            ),
        )
        // Measured: 25 losses, FEC mean 11.6 dB (min -2.9), PLC mean 1.6 dB (min -8.2). LBRR is a low-rate
        // re-encoding, so it is far from the primary decode, but it carries the real signal where PLC can only
        // extrapolate.
        (fec.average() - plc.average()) shouldBeGreaterThan 5.0
        fec.indices.count { fec[it] > plc[it] } shouldBeGreaterThan lost.size * 3 / 4
    }

    test("hasLbrr agrees with the decoder: FEC differs from concealment exactly when LBRR is present") {
        // Two decoders in lockstep: at each test point one recovers from the next packet's LBRR and the other
        // conceals; libopus falls back to concealment when the flag is clear, so the outputs must then be
        // identical. That holds only if the next packet has the TOC config of the last decoded one: FEC takes
        // mode and bandwidth from the packet, concealment from the decoder's history (the stream switches
        // between SWB and FB hybrid). Both decoders are reset after each point to bring them back into lockstep.
        val a = ConcentusDecoderFactory.create(PcmFormat.STEREO_48K)
        val b = ConcentusDecoderFactory.create(PcmFormat.STEREO_48K)
        val outA = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
        val outB = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
        var points = 0
        var withLbrr = 0
        for ((i, packet) in packets.withIndex()) {
            val next = packets.getOrNull(i + 1)
            if (i % 5 == 3 && next != null && next[0].toInt() shr 3 == packets[i - 1][0].toInt() shr 3) {
                a.decodeFec(next, 0, next.size, frame, outA) shouldBe frame
                b.conceal(frame, outB) shouldBe frame
                val same = outA.copyOf(2 * frame).contentEquals(outB.copyOf(2 * frame))
                same shouldBe !OpusPacketInfo.hasLbrr(next, 0, next.size)
                points++
                if (!same) withLbrr++
                a.reset()
                b.reset()
            }
            a.decode(packet, 0, packet.size, outA)
            b.decode(packet, 0, packet.size, outB)
        }
        println("lockstep: $points points, $withLbrr with LBRR")
        withLbrr shouldBeGreaterThan 10
        (points - withLbrr) shouldBeGreaterThan 5
    }
})
