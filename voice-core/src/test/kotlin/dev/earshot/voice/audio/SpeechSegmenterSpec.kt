package dev.earshot.voice.audio

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.shouldBe

/** A 16 kHz mono frame whose samples say which key and tick it belongs to. */
private fun frameOf(key: Long, tick: Long): ShortArray = ShortArray(320) { (key * 1000 + tick % 1000 + 1).toShort() }

private class Emitted(val at: Long, val utterance: Utterance) {
    override fun toString() = "$utterance at $at"
}

/** Feeds [segmenter] ticks 0 until [ticks] with the frames [audio] lists per tick, then flushes (at = -1). */
private fun run(segmenter: SpeechSegmenter, ticks: Long, audio: (Long) -> List<Long>): List<Emitted> {
    val out = mutableListOf<Emitted>()
    for (t in 0 until ticks) {
        for (key in audio(t)) segmenter.onFrame(key, t, frameOf(key, t)) { out += Emitted(t, it) }
        segmenter.onTickEnd(t) { out += Emitted(t, it) }
    }
    segmenter.flush { out += Emitted(-1, it) }
    return out
}

/** The PCM an utterance of [key] over [start]..[end] must hold: each audio tick's frame, zeros elsewhere. */
private fun expectedPcm(key: Long, start: Long, end: Long, audioTicks: Set<Long>): ShortArray {
    val pcm = ShortArray(((end - start + 1) * 320).toInt())
    for (t in start..end) if (t in audioTicks) frameOf(key, t).copyInto(pcm, ((t - start) * 320).toInt())
    return pcm
}

private fun Emitted.shouldBe(at: Long, key: Long, start: Long, end: Long, audioTicks: Set<Long>) {
    this.at shouldBe at
    utterance.key shouldBe key
    utterance.startTick shouldBe start
    utterance.endTick shouldBe end
    utterance.pcm shouldBe expectedPcm(key, start, end, audioTicks)
}

class SpeechSegmenterSpec : FunSpec({
    test("an utterance spans first to last audio and ends after endSilenceTicks silent ticks") {
        val audio = (10L..29L).toSet()
        val out = run(SpeechSegmenter(), 100) { if (it in audio) listOf(7L) else emptyList() }
        out.size shouldBe 1
        out[0].shouldBe(at = 59, key = 7, start = 10, end = 29, audioTicks = audio)
        out[0].utterance.ticks shouldBe 20
    }

    test("pauses shorter than endSilenceTicks stay inside as zeros, a pause of endSilenceTicks splits") {
        // 29 silent ticks (10..38) keep one utterance; 30 silent ticks (49..78) end it.
        val audio = (0L..9L).toSet() + (39L..48L) + (79L..90L)
        val out = run(SpeechSegmenter(), 200) { if (it in audio) listOf(1L) else emptyList() }
        out.size shouldBe 2
        out[0].shouldBe(at = 78, key = 1, start = 0, end = 48, audioTicks = audio)
        out[1].shouldBe(at = 120, key = 1, start = 79, end = 90, audioTicks = audio)
    }

    test("a pause after a longer earlier utterance is zeros, not the old buffer's content") {
        val audio = (0L..99L).toSet() + (200L..204L) + (220L..229L)
        val out = run(SpeechSegmenter(), 300) { if (it in audio) listOf(3L) else emptyList() }
        out.size shouldBe 2
        out[1].shouldBe(at = 259, key = 3, start = 200, end = 229, audioTicks = audio)
    }

    test("continuous speech is split at maxTicks and the rest starts a new utterance") {
        val audio = (0L..249L).toSet()
        val out = run(SpeechSegmenter(maxTicks = 100), 300) { if (it in audio) listOf(2L) else emptyList() }
        out.size shouldBe 3
        out[0].shouldBe(at = 99, key = 2, start = 0, end = 99, audioTicks = audio)
        out[1].shouldBe(at = 199, key = 2, start = 100, end = 199, audioTicks = audio)
        out[2].shouldBe(at = 279, key = 2, start = 200, end = 249, audioTicks = audio)
    }

    test("a frame after a pause that would pass maxTicks ends the utterance before it") {
        val audio = (0L..89L).toSet() + (95L..120L)
        val out = run(SpeechSegmenter(maxTicks = 92), 200) { if (it in audio) listOf(2L) else emptyList() }
        out.size shouldBe 2
        out[0].shouldBe(at = 95, key = 2, start = 0, end = 89, audioTicks = audio)
        out[1].shouldBe(at = 150, key = 2, start = 95, end = 120, audioTicks = audio)
    }

    test("utterances with fewer than minTicks ticks of audio are dropped, pauses not counted") {
        val nine = (0L..8L).toSet()
        run(SpeechSegmenter(), 100) { if (it in nine) listOf(1L) else emptyList() }.shouldBeEmpty()
        // 29 ticks long but only 9 of audio.
        val sparse = (0L..4L).toSet() + (25L..28L)
        run(SpeechSegmenter(), 100) { if (it in sparse) listOf(1L) else emptyList() }.shouldBeEmpty()
        val ten = (0L..9L).toSet()
        val out = run(SpeechSegmenter(), 100) { if (it in ten) listOf(1L) else emptyList() }
        out.single().shouldBe(at = 39, key = 1, start = 0, end = 9, audioTicks = ten)
    }

    test("interleaved users are segmented independently") {
        val a = (0L..40L).filter { it % 2 == 0L }.toSet() + (100L..130L)
        val b = (5L..60L).toSet()
        val out = run(SpeechSegmenter(endSilenceTicks = 20, minTicks = 5), 200) { t ->
            listOfNotNull(if (t in a) 10L else null, if (t in b) 20L else null)
        }
        val ofA = out.filter { it.utterance.key == 10L }
        val ofB = out.filter { it.utterance.key == 20L }
        ofA.size shouldBe 2
        ofA[0].shouldBe(at = 60, key = 10, start = 0, end = 40, audioTicks = a)
        ofA[1].shouldBe(at = 150, key = 10, start = 100, end = 130, audioTicks = a)
        ofB.single().shouldBe(at = 80, key = 20, start = 5, end = 60, audioTicks = b)
    }

    test("flush emits unfinished utterances; odd-sized frames are padded or cut; stale frames are ignored") {
        val segmenter = SpeechSegmenter(minTicks = 1)
        val out = mutableListOf<Utterance>()
        segmenter.onFrame(4, 0, ShortArray(100) { 9 }) { out += it }
        segmenter.onFrame(4, 1, ShortArray(500) { 8 }) { out += it }
        segmenter.onFrame(4, 1, ShortArray(320) { 1 }) { out += it }
        segmenter.onFrame(4, 0, ShortArray(320) { 1 }) { out += it }
        segmenter.flush { out += it }
        val u = out.single()
        u.startTick shouldBe 0
        u.endTick shouldBe 1
        u.pcm shouldBe ShortArray(640) { if (it < 100) 9 else if (it < 320) 0 else 8 }
        segmenter.flush { out += it }
        out.size shouldBe 1
    }

    test("forget drops a user's unfinished utterance") {
        val segmenter = SpeechSegmenter(minTicks = 1)
        val out = mutableListOf<Utterance>()
        segmenter.onFrame(4, 0, frameOf(4, 0)) { out += it }
        segmenter.forget(4)
        segmenter.flush { out += it }
        out.shouldBeEmpty()
    }
})
