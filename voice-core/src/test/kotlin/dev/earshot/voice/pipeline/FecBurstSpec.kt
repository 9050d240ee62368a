package dev.earshot.voice.pipeline

import dev.earshot.voice.jitter.PlayoutDelay
import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import dev.earshot.voice.testing.play
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runTest
import kotlin.time.Duration.Companion.milliseconds

private const val SSRC = 777L

/**
 * In-band FEC at the end of a burst loss, with real speech packets carrying LBRR data: the last lost packet is
 * rebuilt from its successor's FEC, bit for bit what a decoder makes of `decode(successor, fec = true)` after the
 * same history (the earlier lost ones concealed), and the successor then decodes normally.
 */
class FecBurstSpec : FunSpec({
    val packets = Speech.packets.take(120)

    /** A reference decoder replaying [calls] ("d<k>" decode k, "c" conceal, "f<k>" FEC of k, "r" reset); PCM per call. */
    fun reference(calls: List<String>): List<ShortArray> {
        val d = ConcentusDecoderFactory.create(PcmFormat.STEREO_48K)
        val out = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
        val pcm = ArrayList<ShortArray>()
        for (c in calls) {
            val n = when (c[0]) {
                'd' -> packets[c.substring(1).toInt()].let { d.decode(it, 0, it.size, out) }
                'f' -> packets[c.substring(1).toInt()].let { d.decodeFec(it, 0, it.size, 960, out) }
                'c' -> d.conceal(960, out)
                else -> { d.reset(); continue }
            }
            n shouldBe 960
            pcm += out.copyOf(2 * n)
        }
        return pcm
    }

    context("the last lost packet of a burst comes back from its successor's FEC") {
        // 3 lost: concealment covers the first two. 7 lost: concealment runs out after 60 ms (maxConcealment) and
        // the spurt ends; the successor resumes the stream and starts one slot early, on the FEC frame, with the
        // decoder reset as after any silent tick.
        val cases = listOf(
            Triple("3 packets", 20..22, listOf("c", "c", "f23")),
            Triple("7 packets, longer than the concealment", 40..46, listOf("c", "c", "c", "r", "f47")),
        )
        for ((name, burst, recovery) in cases) {
            withData(nameFn = { "$name, $it" }, listOf(PlayoutDelay.Fixed(60.milliseconds), PlayoutDelay.Adaptive())) { playout ->
                OpusPacketInfo.hasLbrr(packets[burst.last + 1], 0, packets[burst.last + 1].size) shouldBe true
                runTest {
                    // The reference is Concentus, so the receiver decodes with Concentus too (its default may be native libopus).
                    val h = ReceiverHarness(this) {
                        this.playout = playout
                        decoderFactory = ConcentusDecoderFactory
                    }
                    launch { h.play(FakeSpeaker(SSRC, h.key), packets, drop = burst.toSet()) }
                    val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
                    val concealed = recovery.count { it == "c" }
                    val kinds = frames.filter { it.sequence in burst.first - 1..burst.last + 1 }.map { it.sequence to it.kind }
                    kinds shouldContainExactly listOf(burst.first - 1 to FrameKind.DECODED) +
                        (0 until concealed).map { burst.first + it to FrameKind.CONCEALED } +
                        listOf(burst.last to FrameKind.FEC_RECOVERED, burst.last + 1 to FrameKind.DECODED)
                    // The same decoder calls in the same order: everything before, the recovery, the successor.
                    val calls = (0 until burst.first).map { "d$it" } + recovery + "d${burst.last + 1}"
                    val expected = reference(calls)
                    val got = frames.filter { it.sequence <= burst.last + 1 }
                    got.size shouldBe expected.size
                    got.forEachIndexed { i, f -> f.pcm!!.contentEquals(expected[i]) shouldBe true }
                    h.receiver.stats().fecRecovered shouldBe 1
                    h.receiver.stats().lost shouldBe burst.count().toLong()
                }
            }
        }
    }
})
