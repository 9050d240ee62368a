package dev.earshot.voice.sink

import dev.earshot.voice.files.WavParser
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.ReceiveTimeline
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runTest
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.time.Instant

private fun wav(path: Path): ShortArray {
    val bytes = Files.readAllBytes(path)
    return WavParser.samples(bytes, WavParser.parse(bytes))
}

/** The mixed track must be the clamped sum of the per-user tracks, sample for sample; returns the mismatches. */
private fun mismatches(mixed: ShortArray, tracks: Collection<ShortArray>): Int {
    var bad = 0
    for (i in mixed.indices) {
        val sum = tracks.sumOf { it[i].toLong() }.coerceIn(-32768, 32767)
        if (mixed[i].toLong() != sum) bad++
    }
    return bad
}

/**
 * One timeline for every sink: sinks listened by separate calls, at different moments (the README's pattern), write
 * files that start at the same t0 and end with the same tick; ticks map to wall-clock time and RTP timestamps.
 */
class TimelineSpec : FunSpec({

    val users = listOf(101L, 202L)

    /** Two users talk from [fromMs] on, overlapping, each with its own packets; then the source ends. */
    suspend fun ReceiverHarness.talk(fromMs: Long, packets: Int = 60, thenClose: Boolean = true) {
        val speakers = users.indices.map { FakeSpeaker(it + 1L, key, sequence = 100 * it, timestamp = 7_000L * it) }
        delay(fromMs)
        for (k in 0 until packets + 15) {
            // The second user starts 10 packets later and goes on 10 packets longer.
            if (k < packets) source.offer(speakers[0].datagram(Speech.packets[k]))
            if (k in 10 until packets + 10) source.offer(speakers[1].datagram(Speech.packets[100 + k]))
            if (k in packets until packets + 5) source.offer(speakers[0].datagram(FakeSpeaker.SILENCE))
            if (k in packets + 10 until packets + 15) source.offer(speakers[1].datagram(FakeSpeaker.SILENCE))
            delay(20)
        }
        if (thenClose) {
            delay(200)
            source.close()
        }
    }

    test("per-user and mixed WAVs listened by separate calls at different moments start together and end together") {
        val dir = Files.createTempDirectory("earshot-timeline")
        runTest {
            val ssrcs = SsrcDirectory().apply { users.forEachIndexed { i, u -> map(i + 1L, u) } }
            val h = ReceiverHarness(this, ssrcs = ssrcs)
            val perUser = h.receiver.listen(RecordingSinks.perUserWav(dir))
            var mixed: Listening? = null
            launch {
                // The second listen comes 133 ms (6+ ticks) later, as it does when a bot runs one call after another.
                delay(133)
                mixed = h.receiver.listen(RecordingSinks.mixedWav(dir.resolve("mixed.wav")))
            }
            launch { h.talk(fromMs = 300) }
            val ticks = h.ticks.await()
            h.receiver.awaitSinks()

            val m = mixed!!
            perUser.listenTick shouldBe 0L
            m.listenTick shouldBe 6L
            m.recording shouldBe perUser.recording
            m.startTick shouldBe perUser.startTick
            perUser.endTick shouldBe ticks.last().tick
            m.endTick shouldBe ticks.last().tick

            val tracks = users.map { wav(dir.resolve("user-$it.wav")) }
            val mix = wav(dir.resolve("mixed.wav"))
            val expectedSamples = (ticks.last().tick - perUser.startTick + 1) * 1920
            println("one timeline: per-user listened at tick ${perUser.listenTick}, mixed at tick ${m.listenTick}; both start at tick " +
                "${m.startTick}; samples: mixed ${mix.size}, per-user ${tracks.map { it.size }}, expected $expectedSamples; " +
                "mix samples differing from the sum of the tracks: ${mismatches(mix, tracks)}")
            mix.size.toLong() shouldBe expectedSamples
            tracks.forEach { it.size.toLong() shouldBe expectedSamples }
            mismatches(mix, tracks) shouldBe 0
            // Not vacuous: both users are heard, and where the mix says.
            tracks.forEach { t -> t.count { it.toInt() != 0 } shouldBeGreaterThan 10_000 }
            // Every frame sits in every file at its tick's place.
            val first = ticks.first { it.frameOf(101) != null }
            val at = ((first.tick - perUser.startTick) * 1920).toInt()
            tracks[0].copyOfRange(at, at + 1920).contentEquals(first.frameOf(101)!!.pcm) shouldBe true
        }
    }

    test("stopListening ends every file with the same tick while the receiver goes on; a later recording starts at its own tick") {
        val dir = Files.createTempDirectory("earshot-timeline-stop")
        runTest {
            val ssrcs = SsrcDirectory().apply { users.forEachIndexed { i, u -> map(i + 1L, u) } }
            val h = ReceiverHarness(this, ssrcs = ssrcs)
            val a = h.receiver.listen(RecordingSinks.perUserWav(dir.resolve("a")))
            launch {
                delay(57)
                h.receiver.listen(RecordingSinks.mixedWav(dir.resolve("a/mixed.wav")))
                delay(700)
                // Mid-speech: both users are talking now.
                h.receiver.stopListening()
                h.receiver.isListening shouldBe false
                h.receiver.recording shouldBe null
                delay(111)
                h.receiver.listen(RecordingSinks.mixedWav(dir.resolve("b/mixed.wav")))
                delay(41)
                h.receiver.listen(RecordingSinks.perUserWav(dir.resolve("b")))
            }
            launch { h.talk(fromMs = 200, packets = 80) }
            val ticks = h.ticks.await()
            h.receiver.awaitSinks()

            // Stopped at 757 ms: tick 36 (due at 740 ms) was the last one emitted.
            val endA = a.endTick!!
            endA shouldBe 36L
            endA shouldBe a.recording.endTick
            val lenA = (endA - a.startTick + 1) * 1920
            val tracksA = users.map { wav(dir.resolve("a/user-$it.wav")) }
            val mixA = wav(dir.resolve("a/mixed.wav"))
            mixA.size.toLong() shouldBe lenA
            tracksA.forEach { it.size.toLong() shouldBe lenA }
            mismatches(mixA, tracksA) shouldBe 0

            // The second recording starts at the tick of its first listen, on the same grid, and ends with the receiver.
            val tracksB = users.map { wav(dir.resolve("b/user-$it.wav")) }
            val mixB = wav(dir.resolve("b/mixed.wav"))
            mixB.size shouldBe tracksB[0].size
            tracksB[1].size shouldBe tracksB[0].size
            // Listened at 868 ms: tick 43 (due at 880 ms) is the first of the second recording.
            val b0 = ticks.last().tick + 1 - mixB.size / 1920
            b0 shouldBe 43L
            // The per-user sink joined 41 ms (2 ticks) after the mix: its files are silent there, then match the mix.
            tracksB.forEach { t -> (0 until 2 * 1920).count { t[it].toInt() != 0 } shouldBe 0 }
            mismatches(mixB.copyOfRange(2 * 1920, mixB.size), tracksB.map { it.copyOfRange(2 * 1920, it.size) }) shouldBe 0
            // A frame after the restart sits at its tick's place in the second files.
            val late = ticks.first { it.tick > b0 + 5 && it.frameOf(202)?.kind == FrameKind.DECODED }
            val at = ((late.tick - b0) * 1920).toInt()
            tracksB[1].copyOfRange(at, at + 1920).contentEquals(late.frameOf(202)!!.pcm) shouldBe true
        }
    }

    test("the timeline maps ticks to wall-clock time and to each speaker's RTP timestamps") {
        runTest {
            val before = Instant.now()
            val ssrcs = SsrcDirectory().apply { users.forEachIndexed { i, u -> map(i + 1L, u) } }
            val h = ReceiverHarness(this, ssrcs = ssrcs)
            h.receiver.timeline.isStarted shouldBe false
            launch { h.talk(fromMs = 100, packets = 30) }
            val ticks = h.ticks.await()
            val t = h.receiver.timeline
            val after = Instant.now()
            (t.origin >= before && t.origin <= after) shouldBe true
            t.originNanos shouldBe 0L // the virtual clock's reading at the start
            t.lastTick shouldBe ticks.last().tick
            t.instantOf(50) shouldBe t.origin.plus(Duration.ofSeconds(1))
            t.tickAt(t.origin.plusMillis(1019)) shouldBe 50L
            t.tickAt(t.origin.minusMillis(1)) shouldBe -1L
            t.nanosOf(3) shouldBe 60_000_000L
            var checked = 0
            for (tick in ticks) for (f in tick.speaking) if (f.opus != null) {
                t.rtpTimestampAt(f.ssrc, f.tick) shouldBe f.rtpTimestamp
                t.tickOfRtpTimestamp(f.ssrc, f.rtpTimestamp) shouldBe f.tick
                t.tickOfRtpTimestamp(f.ssrc, (f.rtpTimestamp + 959) and 0xFFFF_FFFFL) shouldBe f.tick
                checked++
            }
            checked shouldBeGreaterThan 50
            t.rtpAnchor(1L) shouldNotBe null
            t.rtpAnchor(99L) shouldBe null
        }
    }

    test("a forgotten speaker's RTP anchor is gone at once and comes back with its next frame") {
        val t = ReceiveTimeline()
        fun frame(tick: Long, rtp: Long) = AudioFrame(7L, null, tick, tick.toInt(), rtp, null, byteArrayOf(1), FrameKind.DECODED)
        t.onTick(VoiceTick(10, listOf(frame(10, 96_000)), emptySet()))
        t.rtpAnchor(7L)!!.tick shouldBe 10L
        t.onTick(VoiceTick(11, listOf(frame(11, 96_960)), emptySet()))
        t.rtpAnchor(7L)!!.tick shouldBe 10L // the same spurt keeps its anchor
        t.forget(7L)
        t.rtpAnchor(7L) shouldBe null
        // The next frame continues the old relation; the anchor is known again, from this frame on.
        t.onTick(VoiceTick(12, listOf(frame(12, 97_920)), emptySet()))
        t.rtpAnchor(7L)!!.tick shouldBe 12L
        t.rtpTimestampAt(7L, 13) shouldBe 98_880L
        // A jump in RTP time (a new spurt placed elsewhere) moves the anchor.
        t.onTick(VoiceTick(13, listOf(frame(13, 500_000)), emptySet()))
        t.rtpAnchor(7L)!!.rtpTimestamp shouldBe 500_000L
    }
})
