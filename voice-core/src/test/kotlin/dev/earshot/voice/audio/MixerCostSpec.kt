package dev.earshot.voice.audio

import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeLessThan
import java.lang.management.ManagementFactory
import kotlin.random.Random

/**
 * Measures the mixer on 48 kHz stereo ticks of 10 and 100 speakers. Speeds are printed, never asserted (shared CI
 * machines); the one assertion is that a mix allocates nothing (a few bytes of measurement noise allowed).
 */
class MixerCostSpec : FunSpec({
    val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
    val format = PcmFormat.STEREO_48K
    val size = format.samplesPerFrame * format.channels

    test("mixed frames per second and bytes allocated per mix, 10 and 100 users") {
        val random = Random(1)
        println("Mixer cost, 48 kHz stereo 20 ms frames, one thread, best rate and worst allocation of 5 rounds:")
        for (users in listOf(10, 100)) {
            val pcm = List(users) { ShortArray(size) { random.nextInt(-8000, 8000).toShort() } }
            val gains = FloatArray(users) { if (it % 2 == 0) 1f else 0.8f }
            val frames = List(users) { u ->
                AudioFrame(u.toLong(), 1_000L + u, 0, 0, 0, pcm[u], null, FrameKind.DECODED)
            }
            val policy = MixPolicy().apply { for (u in 0 until users step 3) setGain(1_000L + u, 0.5f) }
            val mixer = PcmMixer(format)
            val out = ShortArray(size)
            val calls = 100_000 / users
            val variants = listOf<Pair<String, () -> Unit>>(
                "arrays, unity gain" to { mixer.mix(pcm, null, out) },
                "arrays, mixed gains" to { mixer.mix(pcm, gains, out) },
                "AudioFrames + MixPolicy" to { mixer.mix(frames, policy, out) },
            )
            for ((_, mix) in variants) repeat(calls) { mix() } // warm-up
            val thread = Thread.currentThread().id
            for ((name, mix) in variants) {
                var best = 0.0
                var bytesPerMix = 0L
                repeat(5) {
                    val bytesBefore = threads.getThreadAllocatedBytes(thread)
                    val start = System.nanoTime()
                    repeat(calls) { mix() }
                    val nanos = System.nanoTime() - start
                    bytesPerMix = maxOf(bytesPerMix, (threads.getThreadAllocatedBytes(thread) - bytesBefore) / calls)
                    best = maxOf(best, calls * 1e9 / nanos)
                }
                println(
                    "  %3d users, %-24s %9.0f mixed frames/s (%6.1f x real time) %3d B/mix"
                        .format(users, name, best, best / 50, bytesPerMix),
                )
                bytesPerMix shouldBeLessThan 8L
            }
        }
    }
})
