package dev.earshot.voice.sink

import dev.earshot.voice.files.ExternalTools
import dev.earshot.voice.files.FfmpegNotFoundException
import dev.earshot.voice.files.OpusTools
import dev.earshot.voice.files.WavParser
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import dev.earshot.voice.testing.play
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.matchers.doubles.shouldBeLessThanOrEqual
import io.kotest.matchers.string.shouldContain
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runTest
import java.nio.file.Files
import java.nio.file.Path
import kotlin.math.abs
import kotlin.random.Random

/**
 * Three members speaking with pauses and overlaps, through jitter and loss, recorded to per-user WAV, a mixed WAV and
 * per-user Ogg Opus; the files are read back and checked against the senders' RTP timing.
 */
class RecordingSpec : FunSpec({

    /** A talk spurt: a user sends [packets] speech packets starting at sender time [startMs]. */
    class Spurt(val user: Long, val startMs: Long, val packets: Int, val from: Int)

    val users = listOf(101L, 202L, 303L)
    val spurts = listOf(
        Spurt(101, 0, 60, 0),        // Alice opens
        Spurt(202, 800, 80, 40),     // Bob overlaps her end
        Spurt(101, 2600, 50, 120),   // Alice again after a 1.4 s pause
        Spurt(303, 2900, 70, 200),   // Carol overlaps Alice
        Spurt(202, 4600, 30, 10),    // Bob closes
    )

    test("per-user WAV, mixed WAV and per-user Ogg line up with the senders' timing") {
        val dir = Files.createTempDirectory("earshot-recording")
        runTest {
            val ssrcs = SsrcDirectory().apply { users.forEachIndexed { i, u -> map(i + 1L, u) } }
            val h = ReceiverHarness(this, ssrcs = ssrcs)
            val done = List(3) { CompletableDeferred<Throwable?>() }
            h.receiver.listen(RecordingSinks.perUserWav(dir.resolve("wav"))) { done[0].complete(it) }
            h.receiver.listen(RecordingSinks.mixedWav(dir.resolve("mixed.wav"))) { done[1].complete(it) }
            h.receiver.listen(RecordingSinks.perUserOgg(dir.resolve("ogg"))) { done[2].complete(it) }

            val rnd = Random(7)
            val speakers = users.indices.map { FakeSpeaker(it + 1L, h.key, sequence = rnd.nextInt(65536), timestamp = rnd.nextLong(1L shl 32)) }
            // Every datagram with its sender time; 3 % loss (never a spurt's first packet), jitter 0-40 ms.
            val sends = ArrayList<Pair<Long, ByteArray>>()
            val sentUntil = LongArray(3)
            for (s in spurts) {
                val i = users.indexOf(s.user)
                val sp = speakers[i]
                sp.pause(((s.startMs - sentUntil[i]) / 20 * 960).toInt())
                for (k in 0 until s.packets) {
                    val d = sp.datagram(Speech.packets[s.from + k])
                    if (k == 0 || rnd.nextDouble() >= 0.03) sends += (s.startMs + 20L * k + rnd.nextLong(0, 41)) to d
                }
                repeat(5) { k -> sends += (s.startMs + 20L * (s.packets + k)) to sp.datagram(FakeSpeaker.SILENCE) }
                sentUntil[i] = s.startMs + 20L * (s.packets + 5)
            }
            sends.sortBy { it.first }
            launch {
                var now = 0L
                for ((at, d) in sends) {
                    delay(at - now)
                    now = at
                    h.source.offer(d)
                }
                delay(200)
                h.source.close()
            }
            val ticks = h.ticks.await()
            done.forEach { it.await() shouldBe null }
            val recordingFrames = ticks.size.toLong()

            // Per-user tracks: the same length as the recording (within a frame), speech where the RTP timing says.
            val tracks = users.associateWith { u ->
                val bytes = Files.readAllBytes(dir.resolve("wav/user-$u.wav"))
                WavParser.samples(bytes, WavParser.parse(bytes))
            }
            // Each spurt sits where its RTP timing says: find it in its track by matching a fresh decode of its
            // packets, then compare every spurt's position with the first one's, across users too.
            val positions = spurts.map { s -> locate(tracks.getValue(s.user), Speech.decodeAll(Speech.packets.subList(s.from, s.from + s.packets))) }
            for (pcm in tracks.values) abs(pcm.size / 1920L - recordingFrames) shouldBeLessThanOrEqual 1L
            // Every sink writes a frame at its receive tick: each spurt sits in its track exactly where the receiver
            // played its first packet (a spurt's first packet is never lost here; a pause splits a user's frames).
            val spurtTicks = users.associateWith { u ->
                val frameTicks = ticks.filter { t -> t.speaking.any { it.userId == u } }.map { it.tick }
                frameTicks.filterIndexed { i, t -> i == 0 || t - frameTicks[i - 1] > 5 }
            }
            spurts.zip(positions).forEach { (s, pos) ->
                val nth = spurts.filter { it.user == s.user }.indexOf(s)
                abs(pos - spurtTicks.getValue(s.user)[nth] * 960).toInt() shouldBeLessThanOrEqual 48
            }
            // A user's later spurts are placed by RTP timestamp relative to that user's earlier audio. The adaptive
            // delay may shrink by one tick at a spurt boundary (here from the initial 60 ms to what 0-40 ms of jitter
            // needs), so a spurt lands a whole number of ticks, at most one, from its RTP position: the offset is
            // a multiple of 960 samples to within 1 ms of matching resolution.
            // Each user's first spurt is anchored on its first packet's arrival, so across users the error is that
            // packet's network jitter: 0-40 ms here, at most two frames.
            spurts.zip(positions).forEach { (s, pos) ->
                val own = spurts.indexOfFirst { it.user == s.user }
                val withinUser = positions[own] + (s.startMs - spurts[own].startMs) * 48
                val ticksOff = Math.round((pos - withinUser) / 960.0)
                abs(ticksOff) shouldBeLessThanOrEqual 1L
                abs(pos - withinUser - ticksOff * 960).toInt() shouldBeLessThanOrEqual 48
                val acrossUsers = positions[0] + (s.startMs - spurts[0].startMs) * 48
                abs(pos - acrossUsers).toInt() shouldBeLessThanOrEqual 1920
            }

            // The mixed track is the clamped sum of the per-user tracks, sample for sample.
            val mixedBytes = Files.readAllBytes(dir.resolve("mixed.wav"))
            val mixed = WavParser.samples(mixedBytes, WavParser.parse(mixedBytes))
            abs(mixed.size / 1920L - recordingFrames) shouldBeLessThanOrEqual 1L
            val n = minOf(mixed.size, tracks.values.minOf { it.size })
            var mismatches = 0
            for (i in 0 until n) {
                val sum = tracks.values.sumOf { it[i].toLong() }.coerceIn(-32768, 32767)
                if (mixed[i].toLong() != sum) mismatches++
            }
            mismatches shouldBe 0

            // Ogg Opus per user: opusdec decodes each to the recording's length (within a frame).
            if (OpusTools.installed("opusdec")) {
                for (u in users) {
                    val (run, pcm) = OpusTools.opusdec(dir.resolve("ogg/user-$u.opus"), dir)
                    run.exitCode shouldBe 0
                    abs(pcm.size / 1920L - recordingFrames) shouldBeLessThanOrEqual 1L
                }
            }
        }
    }

    test("the ffmpeg sink writes the mixed recording as MP3, and says clearly when ffmpeg is missing")
        .config(enabledOrReasonIf = ExternalTools.require("ffmpeg", "ffprobe")) {
            val dir = Files.createTempDirectory("earshot-mp3")
            runTest {
                val h = ReceiverHarness(this, ssrcs = SsrcDirectory().apply { map(1, 101) })
                val done = CompletableDeferred<Throwable?>()
                h.receiver.listen(RecordingSinks.mixedFfmpeg(dir.resolve("mixed.mp3"))) { done.complete(it) }
                val speaker = FakeSpeaker(1, h.key)
                launch { h.play(speaker, Speech.packets.take(100)) }
                val ticks = h.ticks.await()
                done.await() shouldBe null
                val (code, out) = ExternalTools.run(
                    "ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name",
                    "-of", "default=noprint_wrappers=1", dir.resolve("mixed.mp3").toString(),
                )
                code shouldBe 0
                out shouldContain "codec_name=mp3"
                val duration = Regex("duration=([0-9.]+)").find(out)!!.groupValues[1].toDouble()
                abs(duration - ticks.size * 0.02) shouldBeLessThanOrEqual 0.1
            }
            val missing = shouldThrow<FfmpegNotFoundException> {
                RecordingSinks.mixedFfmpeg(dir.resolve("never.mp3"), executable = "ffmpeg-that-is-not-installed")
            }
            missing.message shouldContain "apt-get install ffmpeg"
        }
})

/**
 * Where (sample offset per channel) the decoded spurt [frames] best matches the 48 kHz stereo [track]: the offset with
 * the least squared difference on the left channel, searched at 1 ms steps over the whole track, then refined.
 */
private fun locate(track: ShortArray, frames: List<ShortArray>): Long {
    val ref = ShortArray(frames.sumOf { it.size / 2 })
    var k = 0
    for (f in frames) for (i in 0 until f.size / 2) ref[k++] = f[2 * i]
    val trackLen = track.size / 2
    fun error(at: Int, step: Int): Double {
        var e = 0.0
        var i = 0
        while (i < ref.size) {
            val t = at + i
            val d = (if (t < trackLen) track[2 * t] else 0).toDouble() - ref[i]
            e += d * d
            i += step
        }
        return e
    }
    var best = 0
    var bestError = Double.MAX_VALUE
    for (at in 0 until trackLen - ref.size / 2 step 48) {
        val e = error(at, 8)
        if (e < bestError) { bestError = e; best = at }
    }
    var refined = best
    bestError = Double.MAX_VALUE
    for (at in maxOf(0, best - 48)..best + 48) {
        val e = error(at, 1)
        if (e < bestError) { bestError = e; refined = at }
    }
    return refined.toLong()
}
