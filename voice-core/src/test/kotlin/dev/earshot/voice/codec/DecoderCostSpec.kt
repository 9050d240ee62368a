package dev.earshot.voice.codec

import io.github.jaredmdobson.concentus.OpusDecoder
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeLessThan
import java.lang.management.ManagementFactory

/**
 * Measures decode speed and allocation on the speech packets. Speeds are printed, never asserted (shared CI
 * machines); the one assertion is that the wrapper allocates nothing beyond what Concentus does.
 */
class DecoderCostSpec : FunSpec({
    val packets = SpeechFixtures.speech.packets
    val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean

    /** Best frames/s over the rounds, and bytes allocated per call in the last one. */
    class Cost(var framesPerSecond: Double = 0.0, var bytesPerCall: Long = 0)

    class Candidate(val name: String, val decodeOne: (ByteArray) -> Unit) {
        val cost = Cost()
    }

    fun bare(name: String, rate: Int, channels: Int): Candidate {
        val decoder = OpusDecoder(rate, channels)
        val out = ShortArray(5760 * channels)
        return Candidate(name) { decoder.decode(it, 0, it.size, out, 0, out.size / channels, false) }
    }

    fun wrapped(name: String, format: PcmFormat): Candidate {
        val decoder = ConcentusDecoderFactory.create(format)
        val out = ShortArray(format.maxBufferSize)
        return Candidate(name) { decoder.decode(it, 0, it.size, out) }
    }

    test("decode rate and allocation per call, bare Concentus and the wrapper") {
        val bare48Stereo = bare("bare Concentus 48 kHz stereo", 48_000, 2)
        val bare48Mono = bare("bare Concentus 48 kHz mono", 48_000, 1)
        val bare16Mono = bare("bare Concentus 16 kHz mono (hybrid decodes to silence)", 16_000, 1)
        val stereo = wrapped("OpusFrameDecoder STEREO_48K", PcmFormat.STEREO_48K)
        val mono16 = wrapped("OpusFrameDecoder MONO_16K (48 kHz mono + decimator)", PcmFormat.MONO_16K)
        val all = listOf(bare48Stereo, bare48Mono, bare16Mono, stereo, mono16)
        for (c in all) repeat(3) { for (p in packets) c.decodeOne(p) } // warm-up
        // Interleaved rounds, best rate kept: other builds share this machine's cores.
        val thread = Thread.currentThread().id
        repeat(3) {
            for (c in all) {
                val bytesBefore = threads.getThreadAllocatedBytes(thread)
                val start = System.nanoTime()
                repeat(3) { for (p in packets) c.decodeOne(p) }
                val nanos = System.nanoTime() - start
                val calls = 3 * packets.size
                c.cost.framesPerSecond = maxOf(c.cost.framesPerSecond, calls * 1e9 / nanos)
                c.cost.bytesPerCall = (threads.getThreadAllocatedBytes(thread) - bytesBefore) / calls
            }
        }
        println("Decode cost on ${packets.size} speech packets (20 ms, hybrid, mono), one thread, best of 3 rounds:")
        for (c in all) {
            println("  %-56s %6.0f frames/s %6d B/call".format(c.name, c.cost.framesPerSecond, c.cost.bytesPerCall))
        }
        // Concentus allocates scratch on every call; the wrapper's own work (TOC parsing, decimation) allocates
        // nothing, so it may not add more than a few bytes of measurement noise on top.
        (stereo.cost.bytesPerCall - bare48Stereo.cost.bytesPerCall) shouldBeLessThan 16L
        (mono16.cost.bytesPerCall - bare48Mono.cost.bytesPerCall) shouldBeLessThan 16L
    }
})
