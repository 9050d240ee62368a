package dev.earshot.voice.audio

import dev.earshot.voice.codec.PcmFormat
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe
import kotlin.random.Random

/** A writer that materialises the track, and remembers the silence runs it was given. */
private class Recording(val frameSize: Int) : TrackWriter {
    val samples = ArrayList<Short>()
    val silenceRuns = ArrayList<Long>()

    override fun silence(frames: Long) {
        silenceRuns += frames
        repeat((frames * frameSize).toInt()) { samples += 0 }
    }

    override fun audio(frame: ShortArray) {
        frame.size shouldBe frameSize
        for (s in frame) samples += s
    }
}

private fun frameOf(tick: Long, size: Int): ShortArray = ShortArray(size) { (tick * 7 + it % 5 + 1).toShort() }

class TrackAlignerSpec : FunSpec({
    context("random gaps: the track has one frame per tick from t0 and each frame sits at its tick's offset") {
        withData(PcmFormat.STEREO_48K, PcmFormat.MONO_16K) { format ->
            val size = format.samplesPerFrame * format.channels
            val random = Random(format.ordinal)
            val start = 1_000L
            val last = 1_400L
            // The user's first audio comes late; ticks before t0 (from before the recording) are refused.
            val audioTicks = (start - 5..last).filter { it >= start + 37 && random.nextDouble() < 0.4 }.toSet()
            val aligner = TrackAligner(start, format)
            val writer = Recording(size)
            aligner.next(start - 3, frameOf(start - 3, size), writer) shouldBe false
            for (t in start..last) {
                // Some callers report silent ticks (null), others skip them: both must give silence.
                if (t in audioTicks) aligner.next(t, frameOf(t, size), writer) shouldBe true
                else if (t % 3 == 0L) aligner.next(t, null, writer) shouldBe true
            }
            aligner.finish(last, writer)

            val expected = ShortArray(((last - start + 1) * size).toInt())
            for (t in audioTicks) frameOf(t, size).copyInto(expected, ((t - start) * size).toInt())
            writer.samples.toShortArray() shouldBe expected
            aligner.framesWritten shouldBe last - start + 1
        }
    }

    test("a user silent for the whole recording gets a track of pure silence in one run") {
        val aligner = TrackAligner(0, PcmFormat.STEREO_48K)
        val writer = Recording(1920)
        aligner.finish(99, writer)
        writer.silenceRuns shouldBe listOf(100L)
        writer.samples.size shouldBe 100 * 1920
    }

    test("leading silence comes as one count before the first frame") {
        val aligner = TrackAligner(10, PcmFormat.MONO_16K)
        val writer = Recording(320)
        aligner.next(25, frameOf(25, 320), writer)
        writer.silenceRuns shouldBe listOf(15L)
        writer.samples.size shouldBe 16 * 320
    }

    test("repeated or earlier ticks are refused; finish before the written end adds nothing") {
        val aligner = TrackAligner(0, PcmFormat.MONO_16K)
        val writer = Recording(320)
        aligner.next(0, frameOf(0, 320), writer) shouldBe true
        aligner.next(0, frameOf(0, 320), writer) shouldBe false
        aligner.next(5, null, writer) shouldBe true
        aligner.next(3, frameOf(3, 320), writer) shouldBe false
        aligner.finish(2, writer)
        aligner.nextTick shouldBe 6
        writer.samples.size shouldBe 6 * 320
    }

    test("frames of the wrong length are padded with zeros or cut to one tick") {
        val aligner = TrackAligner(0, PcmFormat.MONO_16K)
        val writer = Recording(320)
        aligner.next(0, ShortArray(100) { 4 }, writer)
        aligner.next(1, ShortArray(400) { 6 }, writer)
        aligner.next(2, ShortArray(50) { 2 }, writer)
        writer.samples.toShortArray() shouldBe
            ShortArray(960) { if (it < 100) 4 else if (it < 320) 0 else if (it < 640) 6 else if (it < 690) 2 else 0 }
    }
})
