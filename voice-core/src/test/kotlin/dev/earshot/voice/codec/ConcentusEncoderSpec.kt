package dev.earshot.voice.codec

import dev.earshot.voice.testing.Pcm
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.doubles.shouldBeLessThan
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.ints.shouldBeInRange
import io.kotest.matchers.shouldBe
import kotlin.math.PI
import kotlin.math.roundToInt
import kotlin.math.sin

/** Encodes [pcm] in 20 ms frames with [encoder]; returns the packets. */
private fun encodeAll(encoder: OpusFrameEncoder, pcm: ShortArray): List<ByteArray> {
    val format = encoder.format
    val frame = format.samplesPerFrame * format.channels
    val out = ByteArray(1276)
    return (0 until pcm.size / frame).map { i ->
        val n = encoder.encode(pcm, i * frame, format.samplesPerFrame, out)
        out.copyOf(n)
    }
}

/** The lag (0 until [maxLag]) at which channel 0 of [decoded] best matches [reference], and the SNR there. */
private fun bestAlignment(reference: ShortArray, decoded: ShortArray, maxLag: Int): Pair<Int, Double> {
    val count = minOf(reference.size, decoded.size - maxLag)
    return (0 until maxLag).map { it to Pcm.snrDb(reference, 0, decoded, it, count) }.maxBy { it.second }
}

class ConcentusEncoderSpec : FunSpec({
    val speech48k = SpeechFixtures.reference48k // libopus decode of the speech file, mono
    val speech16k = SpeechFixtures.reference16k

    test("48 kHz stereo speech: decodes back with the encoder's delay, SNR above 12 dB, LBRR in most packets") {
        val stereo = ShortArray(speech48k.size * 2) { speech48k[it / 2] }
        val packets = encodeAll(ConcentusEncoderFactory.create(PcmFormat.STEREO_48K), stereo)
        packets.forEach { OpusPacketInfo.samplesPerChannel48k(it, 0, it.size) shouldBe 960 }
        val decoded = SpeechFixtures.decodeAll(ConcentusDecoderFactory.create(PcmFormat.STEREO_48K), packets)
        val left = Pcm.channel(decoded, 2, 0)
        val (lag, snr) = bestAlignment(speech48k, left, 800)
        val lbrr = packets.count { OpusPacketInfo.hasLbrr(it, 0, it.size) }
        val kbps = packets.sumOf { it.size } * 8 / (packets.size * 0.02) / 1000
        println("48 kHz stereo: lag $lag, SNR %.1f dB, LBRR in $lbrr of ${packets.size}, %.1f kb/s".format(snr, kbps))
        // libopus's lookahead at 48 kHz is 2.5 ms + 4 ms = 312 samples; the hybrid path lands within a few of it.
        lag shouldBeInRange 304..320
        // Measured: SNR 14.8 dB, LBRR in 265 of 331 packets (the pauses have none), 58.5 kb/s. A waveform SNR
        // of a perceptual codec is low; what it shows is that the speech comes back, aligned and undistorted.
        snr shouldBeGreaterThan 12.0
        lbrr shouldBeGreaterThan packets.size * 7 / 10
        kbps shouldBeLessThan 70.0
    }

    test("16 kHz mono speech: wideband SILK, SNR above 12 dB after the lookahead and the decimator's delay") {
        val packets = encodeAll(ConcentusEncoderFactory.create(PcmFormat.MONO_16K), speech16k)
        val decoded = SpeechFixtures.decodeAll(ConcentusDecoderFactory.create(PcmFormat.MONO_16K), packets)
        val (lag, snr) = bestAlignment(speech16k, decoded, 300)
        val lbrr = packets.count { OpusPacketInfo.hasLbrr(it, 0, it.size) }
        println("16 kHz mono: lag $lag, SNR %.1f dB, LBRR in $lbrr of ${packets.size}".format(snr))
        // 16 kHz lookahead: 40 + 64 = 104 samples, then the decoder's decimator.
        lag shouldBeInRange (104 + Decimator.DELAY_SAMPLES - 4)..(104 + Decimator.DELAY_SAMPLES + 4)
        // Measured: SNR 15.1 dB, LBRR in 265 of 331. TOC config 9 = SILK wideband 20 ms.
        snr shouldBeGreaterThan 12.0
        lbrr shouldBeGreaterThan packets.size * 7 / 10
        packets.forEach { it[0].toInt() and 0xFF shr 3 shouldBe 9 }
    }

    test("the LBRR data recovers lost frames better than concealment") {
        val stereo = ShortArray(speech48k.size * 2) { speech48k[it / 2] }
        val packets = encodeAll(ConcentusEncoderFactory.create(PcmFormat.STEREO_48K), stereo)
        val clean = Pcm.channel(SpeechFixtures.decodeAll(ConcentusDecoderFactory.create(PcmFormat.STEREO_48K), packets), 2, 0)
        // Lose every 10th packet where the next one carries LBRR and the lost frame is speech.
        val lost = (10 until packets.size - 1 step 10).filter {
            OpusPacketInfo.hasLbrr(packets[it + 1], 0, packets[it + 1].size) && Pcm.rms(clean, it * 960, 960) > 100.0
        }
        lost.size shouldBeGreaterThan 15
        fun lostFrameSnrs(recover: (OpusFrameDecoder, ByteArray, ShortArray) -> Unit): List<Double> {
            val decoder = ConcentusDecoderFactory.create(PcmFormat.STEREO_48K)
            val out = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
            return packets.indices.mapNotNull { i ->
                if (i in lost) {
                    recover(decoder, packets[i + 1], out)
                    Pcm.snrDb(clean, i * 960, Pcm.channel(out.copyOf(1920), 2, 0), 0, 960)
                } else {
                    decoder.decode(packets[i], 0, packets[i].size, out)
                    null
                }
            }
        }
        val fec = lostFrameSnrs { d, next, out -> d.decodeFec(next, 0, next.size, 960, out) shouldBe 960 }
        val plc = lostFrameSnrs { d, _, out -> d.conceal(960, out) shouldBe 960 }
        println("${lost.size} losses: FEC mean %.1f dB, PLC mean %.1f dB".format(fec.average(), plc.average()))
        // Measured against the lossless decode: 24 losses, FEC mean 16.6 dB, PLC mean 2.1 dB.
        (fec.average() - plc.average()) shouldBeGreaterThan 4.0
    }

    test("stereo keeps its channels apart: a tone on the left only stays on the left") {
        val frames = 50
        val pcm = ShortArray(frames * 960 * 2)
        for (i in 0 until frames * 960) pcm[2 * i] = (8000 * sin(2 * PI * 440 * i / 48_000)).roundToInt().toShort()
        val packets = encodeAll(ConcentusEncoderFactory.create(PcmFormat.STEREO_48K), pcm)
        val decoded = SpeechFixtures.decodeAll(ConcentusDecoderFactory.create(PcmFormat.STEREO_48K), packets)
        val left = Pcm.channel(decoded, 2, 0)
        val right = Pcm.channel(decoded, 2, 1)
        val reference = Pcm.channel(pcm, 2, 0)
        val (lag, snr) = bestAlignment(reference, left, 800)
        val leftRms = Pcm.rms(left, 4800, 38_400)
        val rightRms = Pcm.rms(right, 4800, 38_400)
        println("tone: lag $lag, SNR %.1f dB, left RMS %.0f, right RMS %.0f".format(snr, leftRms, rightRms))
        // Measured: SNR 26.4 dB (the best lag is a multiple of the tone's period off 312); right channel 41 dB below.
        snr shouldBeGreaterThan 15.0
        rightRms shouldBeLessThan leftRms / 30
    }

    test("in-band FEC off: no packet carries LBRR") {
        val stereo = ShortArray(speech48k.size * 2) { speech48k[it / 2] }
        val packets = encodeAll(ConcentusEncoderFactory.configured(inbandFec = false).create(PcmFormat.STEREO_48K), stereo)
        packets.count { OpusPacketInfo.hasLbrr(it, 0, it.size) } shouldBe 0
    }

    test("bad frame lengths, ranges and settings are refused") {
        val encoder = ConcentusEncoderFactory.create(PcmFormat.STEREO_48K)
        val pcm = ShortArray(5760 * 2)
        val out = ByteArray(1276)
        for (bad in listOf(0, -960, 100, 959, 961, 1440, 3840, 5760)) {
            shouldThrow<IllegalArgumentException> { encoder.encode(pcm, 0, bad, out) }
        }
        for (good in listOf(120, 240, 480, 960, 1920, 2880)) encoder.encode(pcm, 0, good, out) shouldBeGreaterThan 0
        shouldThrow<IllegalArgumentException> { encoder.encode(pcm, pcm.size - 1919, 960, out) }
        shouldThrow<IllegalArgumentException> { encoder.encode(pcm, -1, 960, out) }
        shouldThrow<IllegalArgumentException> { encoder.encode(pcm, 0, 960, ByteArray(1)) }
        val mono = ConcentusEncoderFactory.create(PcmFormat.MONO_16K)
        shouldThrow<IllegalArgumentException> { mono.encode(pcm, 0, 480, out) } // 30 ms
        mono.encode(pcm, 0, 320, out) shouldBeGreaterThan 0
        shouldThrow<IllegalArgumentException> { ConcentusEncoderFactory.configured(bitrate = 1000) }
        shouldThrow<IllegalArgumentException> { ConcentusEncoderFactory.configured(complexity = 11) }
        shouldThrow<IllegalArgumentException> { ConcentusEncoderFactory.configured(expectedLossPercent = -1) }
    }
})
