package dev.earshot.voice.codec

import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import dev.earshot.voice.testing.play
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runTest

private const val SSRC = 0x0B0E_0B0EL

/** The receive pipeline with `decoderFactory` set to the native backend. */
class NativePipelineSpec : FunSpec({
    /** Wraps the native factory and keeps every decoder it made, to check they are all closed. */
    class Tracking : OpusDecoderFactory {
        val made = ArrayList<NativeFrameDecoder>()
        override fun create(format: PcmFormat): OpusFrameDecoder =
            (NativeCodec.factory.create(format) as NativeFrameDecoder).also { made += it }
    }

    context("in-order speech through the receiver equals a direct native decode, bit for bit; decoders are closed at the end") {
        withData(PcmFormat.entries) { format ->
            runTest {
                val factory = Tracking()
                val h = ReceiverHarness(this) {
                    decode = format
                    decoderFactory = factory
                }
                val packets = Speech.packets.take(150)
                launch { h.play(FakeSpeaker(SSRC, h.key), packets) }
                val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
                frames.size shouldBe packets.size
                frames.map { it.kind }.toSet() shouldBe setOf(FrameKind.DECODED)
                val direct = NativeCodec.factory.create(format)
                val out = ShortArray(format.maxBufferSize)
                frames.forEachIndexed { i, f ->
                    val n = direct.decode(packets[i], 0, packets[i].size, out)
                    f.pcm!!.size shouldBe n * format.channels
                    f.pcm!!.contentEquals(out.copyOf(n * format.channels)) shouldBe true
                }
                direct.close()
                // The native output is not Concentus's: the receiver really decoded with libopus.
                val concentus = Speech.decodeAll(packets, format, ConcentusDecoderFactory)
                frames.indices.count { !frames[it].pcm!!.contentEquals(concentus[it]) } shouldBeGreaterThan 10
                factory.made.size shouldBeGreaterThan 0
                factory.made.map { it.isClosed }.toSet() shouldContainExactly setOf(true)
            }
        }
    }

    test("a lost packet is recovered by native FEC exactly as a direct native decodeFec") {
        runTest {
            val h = ReceiverHarness(this) { decoderFactory = NativeCodec.factory }
            val packets = Speech.packets.take(80)
            val lost = (30 until 79).first { OpusPacketInfo.hasLbrr(packets[it + 1], 0, packets[it + 1].size) }
            launch { h.play(FakeSpeaker(SSRC, h.key), packets, drop = setOf(lost)) }
            val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
            frames[lost].kind shouldBe FrameKind.FEC_RECOVERED
            val direct = NativeCodec.factory.create(PcmFormat.STEREO_48K)
            val out = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
            for (i in 0 until lost) direct.decode(packets[i], 0, packets[i].size, out)
            direct.decodeFec(packets[lost + 1], 0, packets[lost + 1].size, 960, out) shouldBe 960
            frames[lost].pcm!!.contentEquals(out.copyOf(1920)) shouldBe true
            direct.decode(packets[lost + 1], 0, packets[lost + 1].size, out) shouldBe 960
            frames[lost + 1].pcm!!.contentEquals(out.copyOf(1920)) shouldBe true
            direct.close()
        }
    }
})
