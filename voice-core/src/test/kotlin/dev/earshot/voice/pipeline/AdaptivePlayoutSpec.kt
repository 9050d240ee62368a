package dev.earshot.voice.pipeline

import dev.earshot.voice.jitter.PlayoutDelay
import dev.earshot.voice.model.SpeakerStats
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.doubles.shouldBeLessThanOrEqual
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runTest
import kotlin.random.Random
import kotlin.time.Duration.Companion.milliseconds

private const val SSRC = 4242L

/**
 * Adaptive playout against networks that the fixed 60 ms delay handles badly, in virtual time. Each scenario prints
 * its figures (QUALITY.md collects them) and runs the fixed delay on the same packets for comparison.
 */
class AdaptivePlayoutSpec : FunSpec({

    class Run(val early: SpeakerStats?, val end: SpeakerStats, val fidelity: Fidelity, val kinds: Map<FrameKind, Int>)

    /**
     * Sends [sent] through a receiver with [playout]; packet i arrives at `arrivalMs(i, packet)`. Takes a speaker
     * snapshot at [snapshotAtMs] (the end of the adaptation allowance) and one at the end.
     */
    fun scenario(
        playout: PlayoutDelay,
        sent: (FakeSpeaker) -> List<SentPacket>,
        arrivalMs: (Int, SentPacket) -> Long,
        snapshotAtMs: Long = 2000,
        seed: Int = 1,
    ): Run {
        var result: Run? = null
        runTest {
            val h = ReceiverHarness(this) { this.playout = playout }
            val packets = sent(FakeSpeaker(SSRC, h.key, sequence = Random(seed).nextInt(40000), timestamp = Random(seed).nextLong(1L shl 32)))
            deliver(h, packets.mapIndexed { i, p -> arrivalMs(i, p) to p.datagram })
            val early = CompletableDeferred<SpeakerStats?>()
            launch {
                delay(snapshotAtMs)
                early.complete(h.receiver.speakerStats().singleOrNull())
            }
            val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
            val end = h.receiver.speakerStats().single()
            result = Run(early.await(), end, fidelity(packets, frames), frames.groupingBy { it.kind }.eachCount())
        }
        return result!!
    }

    fun Run.line(name: String): String =
        "%s: late after 2 s %d/%d (%.2f %%), late overall %d, concealed %d (stretches %d), delay now %s (target %s, jitter p99 %s); %s"
            .format(
                name, end.late - (early?.late ?: 0), end.received - (early?.received ?: 0), 100 * lateShare(early, end),
                end.late, end.concealed, end.stretches, end.playoutDelay, end.targetDelay, end.jitter, fidelity,
            )

    context("jitter and reordering: after 2 s of adaptation at most 1 % of the received packets are late") {
        // 4 s of continuous speech (the delay must grow mid-spurt), then 1 s talk spurts with 400 ms pauses:
        // 1,000 speech packets. Every packet is delayed by 0 to maxJitter ms, uniformly, so packets also reorder.
        withData(nameFn = { "jitter up to $it ms" }, listOf(150, 300)) { maxJitter ->
            for (seed in 1..3) {
                val pattern = { s: FakeSpeaker -> talkPattern(s, spurts = 17, spurtPackets = 50, pauseMs = 400, firstSpurtPackets = 200) }
                val rnd = { Random(seed * 1000 + maxJitter) }
                val network = rnd().let { r -> List(2000) { r.nextLong(0, maxJitter + 1L) } }
                val arrival = { i: Int, p: SentPacket -> p.nominalMs + network[i] }
                val adaptive = scenario(PlayoutDelay.Adaptive(), pattern, arrival, seed = seed)
                val fixed = scenario(PlayoutDelay.Fixed(60.milliseconds), pattern, arrival, seed = seed)
                println(adaptive.line("jitter 0-$maxJitter ms, seed $seed, adaptive"))
                println(fixed.line("jitter 0-$maxJitter ms, seed $seed, fixed 60 ms"))
                lateShare(adaptive.early, adaptive.end) shouldBeLessThanOrEqual 0.01
                // The same packets overwhelm the fixed delay: the scenario is not one that any delay survives.
                lateShare(null, fixed.end) shouldBeGreaterThan 0.2
                adaptive.end.targetDelay.inWholeMilliseconds shouldBeLessThanOrEqual maxJitter + 40L
                // Frames played from their own packet decode as the reference does, bar decoder state in the frames
                // right after a concealment (AudioQualitySpec's "near loss" frames): most are bit-exact.
                adaptive.fidelity.delivered shouldBeGreaterThan 980
                (adaptive.fidelity.exact.toDouble() / adaptive.fidelity.delivered) shouldBeGreaterThan 0.85
                if (!adaptive.fidelity.snrMedian.isNaN()) adaptive.fidelity.snrMedian shouldBeGreaterThan 12.0
            }
        }
    }

    test("a clean network: the delay settles at or below 40 ms and every frame is the reference decode") {
        val pattern = { s: FakeSpeaker -> talkPattern(s, spurts = 10, spurtPackets = 50, pauseMs = 400) }
        val run = scenario(PlayoutDelay.Adaptive(), pattern, { _, p -> p.nominalMs })
        println(run.line("clean network, adaptive"))
        run.end.playoutDelay.inWholeMilliseconds shouldBeLessThanOrEqual 40
        run.end.targetDelay shouldBe 20.milliseconds
        run.end.late shouldBe 0
        run.end.concealed shouldBe 0
        run.fidelity.exact shouldBe run.fidelity.delivered
        run.fidelity.delivered shouldBe 500
    }

    test("a sender that switches to two packets every 40 ms adapts after a brief burst of late frames") {
        // Clean for 4 s (the delay settles at its minimum), then every second packet is held back 20 ms and sent
        // together with the next one, as a client on a 40 ms timer does; 0-5 ms of network jitter throughout.
        val pattern = { s: FakeSpeaker -> talkPattern(s, spurts = 14, spurtPackets = 50, pauseMs = 400) }
        val network = Random(5).let { r -> List(2000) { r.nextLong(0, 6) } }
        val switchAtMs = 4000L
        val arrival = { i: Int, p: SentPacket ->
            val held = if (p.nominalMs >= switchAtMs && (p.nominalMs / 20) % 2 == 0L) 20 else 0
            p.nominalMs + held + network[i]
        }
        val adaptive = scenario(PlayoutDelay.Adaptive(), pattern, arrival, snapshotAtMs = switchAtMs)
        val fixed = scenario(PlayoutDelay.Fixed(60.milliseconds), pattern, arrival, snapshotAtMs = switchAtMs)
        println(adaptive.line("pairs every 40 ms from 4 s, adaptive"))
        println(fixed.line("pairs every 40 ms from 4 s, fixed 60 ms"))
        adaptive.early!!.late shouldBe 0
        adaptive.end.late shouldBeLessThanOrEqual 5
        adaptive.end.concealed shouldBeLessThanOrEqual 10
        adaptive.end.targetDelay.inWholeMilliseconds shouldBeLessThanOrEqual 60
    }
})
