package dev.earshot.voice.pipeline

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.testing.ChannelDatagramSource
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.jitter.PlayoutDelay
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.async
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.math.abs
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * [PlacementSpec]'s stalls for real: the receiver on the system clock and one thread of its own, which the test
 * blocks for 100 ms right after the start and for 150 ms in the middle of both speakers' talk, while a sender thread
 * keeps sending on its real-time schedule. Each talk spurt must land at its RTP-timestamp position relative to the
 * speaker's earlier audio within 20 ms (one tick), and with the fixed delay the two speakers keep their offset too. Before the clock gave
 * the reader and the receive loop their turns ahead of each catch-up tick, the packets read after the mid-recording
 * stall were taken for late network arrivals: 3 were late and the adaptive delay grew by 60 ms.
 */
class SystemClockStallSpec : FunSpec({
    withData(nameFn = { "$it" }, listOf(PlayoutDelay.Adaptive(), PlayoutDelay.Fixed(60.milliseconds))) { playout ->
        val rx = Executors.newSingleThreadExecutor { r -> Thread(r, "stalled-receiver").apply { isDaemon = true } }
        val dispatcher = rx.asCoroutineDispatcher()
        val scope = CoroutineScope(SupervisorJob() + dispatcher)
        try {
            val source = ChannelDatagramSource()
            val key = FakeSpeaker.key(1)
            val receiver = VoiceReceiver(source, ReceiveConfig {
                clock = NanoClock.SYSTEM
                this.playout = playout
                readDispatcher = dispatcher
                pipelineDispatcher = dispatcher
            })
            receiver.setTransportKey(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, key)
            // A: 1 s spurts with 1,100 ms pauses from 0 ms; B: the same from 1,500 ms.
            val a = FakeSpeaker(1, key, sequence = 100, timestamp = 123_456)
            val b = FakeSpeaker(2, key, sequence = 30_000, timestamp = 3_000_000_000L)
            val sentA = talkPattern(a, spurts = 3, spurtPackets = 50, pauseMs = 1100)
            val sentB = talkPattern(b, spurts = 2, spurtPackets = 50, pauseMs = 1100, startMs = 1500, fixtureOffset = 60)
            val schedule = (sentA + sentB).sortedBy { it.nominalMs }
            val stalls = listOf(10L to 100L, 2000L to 150L) // (at ms, length ms): start-up, then both mid-spurt
            var senderLate = 0L
            val ticks = runBlocking {
                val collected = scope.async { receiver.ticks.toList() }
                receiver.start(scope)
                val t0 = System.nanoTime()
                fun sleepUntil(ms: Long) {
                    val wait = t0 + ms * 1_000_000 - System.nanoTime()
                    if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait)
                }
                val stallThread = Thread {
                    // The receiver's only thread does nothing else while blocked: its clock and socket reader stop.
                    for ((at, length) in stalls) {
                        sleepUntil(at)
                        rx.execute { Thread.sleep(length) }
                    }
                }.apply { start() }
                for (p in schedule) {
                    sleepUntil(p.nominalMs)
                    senderLate = maxOf(senderLate, (System.nanoTime() - t0) / 1_000_000 - p.nominalMs)
                    source.offer(p.datagram)
                }
                sleepUntil(schedule.last().nominalMs + 1000)
                source.close()
                stallThread.join()
                println("system-clock stalls: the sender was at most $senderLate ms behind its schedule")
                withTimeout(30.seconds) { collected.await() }
            }

            val pa = placements(ticks, 1, sentA)
            val pb = placements(ticks, 2, sentB)
            val pauseErrors = pauseErrors(pa, pb)
            val offsetErrors = offsetErrors(pa, pb)
            val stats = receiver.stats()
            println("system-clock stalls, $playout, ${stalls.map { "${it.second} ms at ${it.first} ms" }}: delays A ${pa.map { it.second * 20 }} ms, " +
                "B ${pb.map { it.second * 20 }} ms; pause errors $pauseErrors ms; A-B offset errors $offsetErrors ms; " +
                "late ticks ${stats.lateTicks}, late packets ${stats.late}, lost ${stats.lost}")
            // One tick (the adaptive delay's step at a spurt boundary), plus what the sender's own lateness on a loaded
            // machine may have taught the jitter estimate (0 when it kept its schedule).
            val allowance = 20 + ((senderLate + 19) / 20).toInt() * 20
            pauseErrors.maxOf { abs(it) }.toInt() shouldBeLessThanOrEqual allowance
            // Between speakers the adaptive delay is each speaker's own (QUALITY.md, "Placement in time"): only the
            // fixed delay promises their offset.
            if (playout is PlayoutDelay.Fixed) offsetErrors.maxOf { abs(it) }.toInt() shouldBeLessThanOrEqual allowance
            stats.lost shouldBe 0
        } finally {
            scope.cancel()
            rx.shutdownNow()
        }
    }
})
