package dev.earshot.voice.codec

import dev.earshot.voice.testing.Pcm
import io.github.jaredmdobson.concentus.OpusDecoder
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.doubles.shouldBeLessThan
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe

/** SNR of [decoded] (one channel, pre-skip included) against [reference], overall and per active 20 ms frame. */
private class Comparison(decoded: ShortArray, skip: Int, reference: ShortArray, frame: Int) {
    val overallDb: Double
    val activeFrameDbs: List<Double>

    init {
        val n = minOf(reference.size, decoded.size - skip)
        overallDb = Pcm.snrDb(reference, 0, decoded, skip, n)
        // Frames quieter than -50 dBFS RMS are pauses, where an SNR says nothing about the decoder.
        activeFrameDbs = (0 until n / frame)
            .filter { Pcm.rms(reference, it * frame, frame) > 100.0 }
            .map { Pcm.snrDb(reference, it * frame, decoded, skip + it * frame, frame) }
    }

    /** The SNR that [fraction] of the active frames reach or exceed. */
    fun reachedBy(fraction: Double): Double = activeFrameDbs.sortedDescending()[(fraction * (activeFrameDbs.size - 1)).toInt()]

    override fun toString(): String =
        "overall %.1f dB; %d active frames: min %.1f, 95 %% reach %.1f, median %.1f dB".format(
            overallDb, activeFrameDbs.size, activeFrameDbs.min(), reachedBy(0.95), reachedBy(0.5),
        )
}

class ConcentusDecoderSpec : FunSpec({
    val speech = SpeechFixtures.speech

    context("Concentus against the libopus 1.3.1 reference decode") {
        test("48 kHz stereo: both channels equal the mono reference") {
            val decoded = SpeechFixtures.decodeAll(ConcentusDecoderFactory.create(PcmFormat.STEREO_48K), speech.packets)
            val left = Pcm.channel(decoded, 2, 0)
            Pcm.channel(decoded, 2, 1) shouldBe left // a mono stream is duplicated, not panned
            val result = Comparison(left, speech.preSkip, SpeechFixtures.reference48k, 960)
            println("Concentus 48 kHz vs opusdec 48 kHz: $result")
            // Measured: overall 50.9 dB; 265 active frames: min 14.7 dB, 95 % reach 50.5 dB, median 73.6 dB.
            // Concentus is fixed-point, opusdec's libopus floating-point; a handful of quiet frames differ more.
            result.overallDb shouldBeGreaterThan 45.0
            result.reachedBy(0.95) shouldBeGreaterThan 45.0
            result.activeFrameDbs.min() shouldBeGreaterThan 10.0
        }

        test("16 kHz mono: against the reference, after the decimator's delay") {
            val decoded = SpeechFixtures.decodeAll(ConcentusDecoderFactory.create(PcmFormat.MONO_16K), speech.packets)
            // opusdec decodes at 48 kHz and resamples with the Speex resampler (delay compensated); we decimate
            // with our own filter, so the two differ mostly at 7-8 kHz, in the filters' transition bands.
            val skip = speech.preSkip / 3 + Decimator.DELAY_SAMPLES
            val result = Comparison(decoded, skip, SpeechFixtures.reference16k, 320)
            println("Concentus 48 kHz + decimator vs opusdec 16 kHz: $result")
            // Measured: overall 43.8 dB; 265 active frames: min 21.1 dB, 95 % reach 26.2 dB, median 49.1 dB. The
            // low frames are fricatives, whose energy near 7-8 kHz the two filters treat differently.
            result.overallDb shouldBeGreaterThan 38.0
            result.reachedBy(0.95) shouldBeGreaterThan 22.0
            result.activeFrameDbs.min() shouldBeGreaterThan 15.0
            // One sample off the alignment ruins it, so the delay constant is right.
            val misaligned = Comparison(decoded, skip + 1, SpeechFixtures.reference16k, 320)
            misaligned.overallDb shouldBeLessThan 20.0
        }

        test("Concentus 1.0.2 created at 16 kHz still decodes hybrid packets to silence (why we decimate)") {
            // When this fails, lostromb/concentus#67 is fixed in the version in use: decode MONO_16K directly.
            val concentus = OpusDecoder(16_000, 1)
            val out = ShortArray(PcmFormat.MONO_16K.maxBufferSize)
            var energy = 0.0
            for (packet in speech.packets) {
                val n = concentus.decode(packet, 0, packet.size, out, 0, out.size, false)
                energy += Pcm.energy(out, 0, n)
            }
            energy shouldBe 0.0
        }
    }

    context("40 and 60 ms stereo SILK packets") {
        for ((stream, samples48k) in listOf(SpeechFixtures.stereo40 to 1920, SpeechFixtures.stereo60 to 2880)) {
            test("$samples48k-sample packets decode, conceal and recover in both formats") {
                for (format in PcmFormat.entries) {
                    val expected = format.samplesFrom48k(samples48k)
                    val decoder = ConcentusDecoderFactory.create(format)
                    val out = ShortArray(format.maxBufferSize)
                    // The encoder ends the stream with one shorter packet.
                    for (packet in stream.packets.dropLast(1)) decoder.decode(packet, 0, packet.size, out) shouldBe expected
                    // The first packet from 40 on with LBRR; its LBRR flag says the frame before it was speech.
                    val k = (40 until stream.packets.size).first {
                        OpusPacketInfo.hasLbrr(stream.packets[it], 0, stream.packets[it].size)
                    }
                    val next = stream.packets[k]
                    // Lose packet k: concealment continues the voice of frame k-1.
                    decoder.reset()
                    for (packet in stream.packets.take(k)) decoder.decode(packet, 0, packet.size, out)
                    decoder.conceal(samples48k, out) shouldBe expected
                    Pcm.rms(out, 0, expected * format.channels) shouldBeGreaterThan 10.0
                    // Lose packet k-1 instead: recover it from packet k's LBRR, then decode packet k.
                    decoder.reset()
                    for (packet in stream.packets.take(k - 1)) decoder.decode(packet, 0, packet.size, out)
                    decoder.decodeFec(next, 0, next.size, samples48k, out) shouldBe expected
                    Pcm.rms(out, 0, expected * format.channels) shouldBeGreaterThan 10.0
                    decoder.decode(next, 0, next.size, out) shouldBe expected
                }
            }
        }

        test("48 kHz stereo keeps the channels apart (the right one was made 3 dB quieter and 0.5 ms later)") {
            val decoded = SpeechFixtures.decodeAll(
                ConcentusDecoderFactory.create(PcmFormat.STEREO_48K), SpeechFixtures.stereo60.packets,
            )
            val left = Pcm.channel(decoded, 2, 0)
            val right = Pcm.channel(decoded, 2, 1)
            val ratio = Pcm.energy(right, 0, right.size) / Pcm.energy(left, 0, left.size)
            println("stereo 60 ms: right/left energy ratio %.3f (source: 0.49)".format(ratio))
            // Measured 0.595: at 24 kbit/s SILK narrows the stereo image. A mono decode would give exactly 1.
            right shouldNotBe left
            ratio shouldBeGreaterThan 0.4
            ratio shouldBeLessThan 0.75
        }
    }

    context("hostile input") {
        test("random bytes return -1 or a valid length, never throw, in every entry point") {
            val random = java.util.Random(20261121)
            for (format in PcmFormat.entries) {
                val decoder = ConcentusDecoderFactory.create(format)
                val out = ShortArray(format.maxBufferSize)
                var rejected = 0
                var decoded = 0
                repeat(500) { i ->
                    val packet = ByteArray(random.nextInt(400)).also { random.nextBytes(it) }
                    // Every other packet gets a valid one-frame TOC, so the payload reaches Concentus.
                    if (i % 2 == 0 && packet.isNotEmpty()) packet[0] = (packet[0].toInt() and 0xFC).toByte()
                    val n = decoder.decode(packet, 0, packet.size, out)
                    if (n == -1) rejected++ else decoded++
                    (n == -1 || n in 1..format.maxSamplesPerChannel) shouldBe true
                    val f = decoder.decodeFec(packet, 0, packet.size, 960, out)
                    (f == -1 || f == format.samplesPerFrame) shouldBe true
                }
                println("$format random packets: $rejected rejected, $decoded decoded as (garbage) audio")
                decoded shouldBeGreaterThan 250
            }
        }

        test("truncated packets return -1 or decode, never throw") {
            val decoder = ConcentusDecoderFactory.create(PcmFormat.STEREO_48K)
            val out = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
            for (packet in speech.packets.take(30) + SpeechFixtures.stereo60.packets.take(10)) {
                for (length in 0..packet.size) {
                    val n = decoder.decode(packet, 0, length, out)
                    (n == -1 || n in 1..5760) shouldBe true
                }
            }
        }

        test("bad arguments return -1") {
            val decoder = ConcentusDecoderFactory.create(PcmFormat.STEREO_48K)
            val out = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
            val packet = speech.packets[50]
            decoder.decode(packet, 0, packet.size, ShortArray(1919)) shouldBe -1 // 20 ms stereo needs 1920
            decoder.decode(packet, 1, packet.size, out) shouldBe -1 // view past the end
            decoder.decode(packet, -1, packet.size, out) shouldBe -1
            for (bad in listOf(0, -120, 100, 5880)) {
                decoder.conceal(bad, out) shouldBe -1
                decoder.decodeFec(packet, 0, packet.size, bad, out) shouldBe -1
            }
            decoder.decode(packet, 0, packet.size, out) shouldBe 960
        }
    }

    test("reset() forgets everything: after garbage and a reset, output equals a fresh decoder's") {
        for (format in PcmFormat.entries) {
            val used = ConcentusDecoderFactory.create(format)
            val out = ShortArray(format.maxBufferSize)
            for (packet in speech.packets.take(100)) used.decode(packet, 0, packet.size, out)
            val random = java.util.Random(7)
            repeat(20) {
                val garbage = ByteArray(120).also { random.nextBytes(it) }
                garbage[0] = 0x78 // hybrid FB 20 ms mono, one frame
                used.decode(garbage, 0, garbage.size, out)
            }
            used.reset()
            val tail = speech.packets.drop(150)
            val afterReset = SpeechFixtures.decodeAll(used, tail)
            val fresh = SpeechFixtures.decodeAll(ConcentusDecoderFactory.create(format), tail)
            afterReset shouldBe fresh
            Pcm.rms(fresh, 0, fresh.size) shouldNotBe 0.0
        }
    }
})
