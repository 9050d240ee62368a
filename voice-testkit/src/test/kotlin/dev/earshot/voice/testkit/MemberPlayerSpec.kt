package dev.earshot.voice.testkit

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.rtp.HeaderExtensions
import dev.earshot.voice.testkit.internal.MemberPlayer
import dev.earshot.voice.testkit.internal.PlannedFrame
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.test.runTest

/** 20 ms CELT packets that differ in their payload bytes, so each is recognisable. */
private fun packets(n: Int, toc: Int = 0xF8) = List(n) { i -> byteArrayOf(toc.toByte(), (i shr 8).toByte(), i.toByte(), 0x55) }

@OptIn(ExperimentalCoroutinesApi::class)
class MemberPlayerSpec : FunSpec({
    /** Runs [script] in virtual time; [emitCostNanos] is added to the clock by every emit (a slow sender). */
    fun play(script: MemberScript, seq: Int = 100, ts: Long = 1000, emitCostNanos: Long = 0): Pair<List<PlannedFrame>, Long?> {
        val frames = ArrayList<PlannedFrame>()
        var leftAt: Long? = null
        runTest {
            var skew = 0L
            val clock = NanoClock { testScheduler.currentTime * 1_000_000 + skew }
            val player = MemberPlayer(script, clock, seq, ts, emit = { frames += it; skew += emitCostNanos }, leave = { leftAt = clock.nanoTime() })
            player.run(100.milliseconds)
        }
        return frames to leftAt
    }

    test("frames go out at absolute 20 ms deadlines: a sender that loses 3 ms per frame does not drift") {
        val (frames, _) = play(MemberScript { playPackets(packets(300)) }, emitCostNanos = 3_000_000)
        frames.size shouldBe 305
        frames.mapIndexed { i, f -> f.sentAtNanos - (100 + 20L * i) * 1_000_000 }.toSet() shouldBe setOf(0L)
    }

    test("RTP follows the schedule: seq +1 per packet, ts +960 per 20 ms, and a pause makes ts jump by its length") {
        val script = MemberScript {
            playPackets(packets(3))
            pause(500.milliseconds)
            playPackets(packets(2))
            leave()
        }
        val (frames, leftAt) = play(script, seq = 65534, ts = 0xFFFF_FFFFL - 960)
        frames.map { it.sequence } shouldContainExactly (0 until 15).map { (65534 + it) and 0xFFFF }
        // Spurt 1: 3 frames + 5 silence = 8 slots; then 500 ms = 25 slots without packets; spurt 2: 2 + 5.
        val slots = (0 until 8) + (33 until 40)
        frames.map { it.timestamp } shouldContainExactly slots.map { (0xFFFF_FFFFL - 960 + 960L * it) and 0xFFFF_FFFFL }
        frames.map { it.sentAtNanos / 1_000_000 } shouldContainExactly slots.map { 100 + 20L * it }
        frames.map { it.marker } shouldContainExactly List(15) { it == 0 || it == 8 }
        frames.map { it.isSilence } shouldContainExactly List(15) { it in 3..7 || it in 10..14 }
        frames.filter { it.isSilence }.all { it.opus.toList() == listOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte()) } shouldBe true
        // Speech carries the audio-level/speaker extension, the silence frames none.
        frames.map { it.extension != null } shouldContainExactly frames.map { !it.isSilence }
        val ext = frames.first().extension!!
        HeaderExtensions.audioLevel(ext, 0, ext.size, HeaderExtensions.PROFILE_ONE_BYTE) shouldBe (0x80 or 30)
        HeaderExtensions.speakerFlags(ext, 0, ext.size, HeaderExtensions.PROFILE_ONE_BYTE) shouldBe HeaderExtensions.SPEAKER_VOICE
        leftAt shouldBe 100L * 1_000_000 + 40 * 20 * 1_000_000
    }

    test("play from an offset for a duration picks the packets in that window") {
        val source = packets(50)
        val (frames, _) = play(MemberScript { playPackets(source, from = 100.milliseconds, duration = 200.milliseconds) })
        frames.filter { !it.isSilence }.map { it.opus.toList() } shouldContainExactly source.subList(5, 15).map { it.toList() }
    }

    test("40 ms packets advance the timestamp by 1920 and the schedule by 40 ms") {
        val forty = packets(4, toc = 0xFA) // TOC 0xFA: CELT fullband 20 ms frames, code 2 = two frames per packet
        val (frames, _) = play(MemberScript { playPackets(forty) })
        frames.take(4).map { it.timestamp - 1000 } shouldContainExactly listOf(0L, 1920, 3840, 5760)
        frames.take(5).map { it.sentAtNanos / 1_000_000 } shouldContainExactly listOf(100L, 140, 180, 220, 260)
    }

    test("a tone is one talk spurt of Concentus packets, rounded up to whole frames, with a level from its amplitude") {
        val (frames, _) = play(MemberScript { tone(440.0, 90.milliseconds, amplitude = 0.5) })
        frames.count { !it.isSilence } shouldBe 5
        frames.count { it.isSilence } shouldBe 5
        val ext = frames.first().extension!!
        // Peak 0.5 is 6 dB below a full-scale sine, which RFC 6464 calls 0 dBov.
        HeaderExtensions.audioLevel(ext, 0, ext.size, HeaderExtensions.PROFILE_ONE_BYTE) shouldBe (0x80 or 6)
    }
})
