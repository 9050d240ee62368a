package dev.earshot.voice.pipeline

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.jitter.PlayoutDelay
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.test.runTest
import kotlin.math.abs
import kotlin.time.Duration.Companion.milliseconds

/**
 * Talk spurts land at their RTP-timestamp position relative to the speaker's earlier audio, and two speakers keep
 * their real offset, also when this process stalls: at start-up and mid-recording the receive clock and the socket
 * reader stop while real time runs on, then the reader finds everything that arrived meanwhile (stamped late) and the
 * clock catches up on the ticks it owes.
 *
 * Virtual time stands for the process's own time; [StallClock] maps it to real time, which jumps ahead by each
 * stall's length at the stall's moment. The receiver's [NanoClock] reads real time, and a packet sent at real time r
 * reaches the process at the first moment whose real time is r or later.
 */
class PlacementSpec : FunSpec({

    class StallClock(private val stalls: List<Pair<Long, Long>>) {
        fun real(v: Long): Long = v + stalls.filter { v >= it.first }.sumOf { it.second }

        /** The first virtual moment whose real time is at least [r]. */
        fun reached(r: Long): Long {
            var offset = 0L
            var segmentStart = 0L
            for ((at, length) in stalls) {
                if (r < at + offset) return maxOf(segmentStart, r - offset)
                offset += length
                segmentStart = at
                if (r < at + offset) return at
            }
            return maxOf(segmentStart, r - offset)
        }
    }

    // Start-up: 100 ms right after the receiver starts. Mid-recording: 200 ms just as the second speaker begins, and
    // 150 ms in the middle of a talk spurt of both.
    val stalls = listOf(10L to 100L, 3000L to 200L, 5500L to 150L)

    withData(nameFn = { "$it" }, listOf(PlayoutDelay.Adaptive(), PlayoutDelay.Fixed(60.milliseconds))) { playout ->
        runTest {
            val clock = StallClock(stalls)
            val h = ReceiverHarness(this) {
                this.playout = playout
                this.clock = NanoClock { clock.real(testScheduler.currentTime) * 1_000_000L }
            }
            // A: 1 s spurts with 1,100 ms pauses (after its silence frames) from 0; B: the same from 3,000 ms.
            val a = FakeSpeaker(1, h.key, sequence = 100, timestamp = 123_456)
            val b = FakeSpeaker(2, h.key, sequence = 30_000, timestamp = 3_000_000_000L)
            val sentA = talkPattern(a, spurts = 5, spurtPackets = 50, pauseMs = 1100)
            val sentB = talkPattern(b, spurts = 4, spurtPackets = 50, pauseMs = 1100, startMs = 3000, fixtureOffset = 60)
            deliver(h, (sentA + sentB).map { clock.reached(it.nominalMs) to it.datagram })
            val ticks = h.ticks.await()
            h.receiver.stats().lateTicks shouldBeGreaterThan 0 // the clock did fall behind

            val pa = placements(ticks, 1, sentA)
            val pb = placements(ticks, 2, sentB)
            // A pause's error: how far the spurt after it moved against the one before, relative to RTP time.
            val pauseErrors = pauseErrors(pa, pb)
            // Between speakers: each of B's spurts against A's latest spurt started before it.
            val offsetErrors = offsetErrors(pa, pb)
            println("placement with stalls, $playout: delays A ${pa.map { it.second * 20 }} ms, B ${pb.map { it.second * 20 }} ms; " +
                "pause errors $pauseErrors ms; A-B offset errors $offsetErrors ms")
            pauseErrors.maxOf { abs(it) }.toInt() shouldBeLessThanOrEqual 20
            offsetErrors.maxOf { abs(it) }.toInt() shouldBeLessThanOrEqual 20
            // Every speech packet was played: the stalls cost nothing but delivery time.
            val s = h.receiver.stats()
            s.late shouldBe 0
            s.lost shouldBe 0
        }
    }
})
