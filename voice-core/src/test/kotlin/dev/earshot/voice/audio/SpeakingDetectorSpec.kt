package dev.earshot.voice.audio

import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe
import kotlin.random.Random

/** A change together with the tick whose processing reported it (Long.MAX_VALUE: reported by finish). */
private data class Reported(val at: Long, val change: SpeakingChange)

/** Runs [detector] over ticks 0 until [ticks], where [audio] says who has audio in a tick, then finishes. */
private fun run(detector: SpeakingDetector, ticks: Long, audio: (Long) -> List<Long>): List<Reported> {
    val events = mutableListOf<Reported>()
    for (t in 0 until ticks) detector.onTick(t, audio(t)) { events += Reported(t, it) }
    detector.finish { events += Reported(Long.MAX_VALUE, it) }
    return events
}

/**
 * The expected events, from the definition: audio ticks of one key closer than [hang] + 1 apart form one spurt;
 * a spurt starts (reported at once) at its first tick and stops at its last, reported [hang] ticks later or by
 * finish when the run ends first.
 */
private fun expected(hang: Int, ticks: Long, audioTicksByKey: Map<Long, List<Long>>): Set<Reported> {
    val out = mutableSetOf<Reported>()
    for ((key, audio) in audioTicksByKey) {
        if (audio.isEmpty()) continue
        var start = audio[0]
        var last = audio[0]
        fun close() {
            out += Reported(start, SpeakingChange(key, true, start))
            val at = last + hang
            out += Reported(if (at < ticks) at else Long.MAX_VALUE, SpeakingChange(key, false, last))
        }
        for (t in audio.drop(1)) {
            if (t - last > hang) { close(); start = t }
            last = t
        }
        close()
    }
    return out
}

class SpeakingDetectorSpec : FunSpec({
    test("stops exactly hangTicks silent ticks after the last audio, carrying the last audio's tick") {
        val events = run(SpeakingDetector(hangTicks = 10), 40) { t -> if (t in 3L..7L) listOf(42L) else emptyList() }
        events shouldBe listOf(Reported(3, SpeakingChange(42, true, 3)), Reported(17, SpeakingChange(42, false, 7)))
    }

    test("a pause one tick shorter than the hang does not flap; a pause of the hang does") {
        // Audio at 0, pause of 9 ticks (1..9), audio at 10: one spurt. Then pause of 10 (11..20), audio at 21.
        val audioTicks = setOf(0L, 10L, 21L)
        val events = run(SpeakingDetector(10), 50) { t -> if (t in audioTicks) listOf(1L) else emptyList() }
        events shouldBe listOf(
            Reported(0, SpeakingChange(1, true, 0)),
            Reported(20, SpeakingChange(1, false, 10)),
            Reported(21, SpeakingChange(1, true, 21)),
            Reported(31, SpeakingChange(1, false, 21)),
        )
    }

    test("a user who vanishes mid-spurt stops after the hang while others go on") {
        val events = run(SpeakingDetector(5), 30) { t -> if (t < 12) listOf(1L, 2L) else listOf(2L) }
        events.filter { it.change.key == 1L } shouldBe
            listOf(Reported(0, SpeakingChange(1, true, 0)), Reported(16, SpeakingChange(1, false, 11)))
        events.filter { it.change.key == 2L } shouldBe
            listOf(Reported(0, SpeakingChange(2, true, 0)), Reported(Long.MAX_VALUE, SpeakingChange(2, false, 29)))
    }

    context("many users with random flapping match the definition") {
        withData(1, 3, 10) { hang ->
            val random = Random(hang)
            val users = 60
            val ticks = 600L
            // Bursty audio: each user toggles between talking and silent with small probabilities.
            val talking = BooleanArray(users)
            val schedule = List(ticks.toInt()) {
                (0 until users).filter { u ->
                    if (random.nextDouble() < 0.08) talking[u] = !talking[u]
                    talking[u] && random.nextDouble() < 0.8
                }.map { it.toLong() + 1_000_000 }
            }
            val byKey = (0 until users).associate { u ->
                val key = u.toLong() + 1_000_000
                key to (0 until ticks.toInt()).filter { key in schedule[it] }.map { it.toLong() }
            }
            val detector = SpeakingDetector(hang)
            run(detector, ticks) { schedule[it.toInt()] }.toSet() shouldBe expected(hang, ticks, byKey)
            detector.speakingCount shouldBe 0
        }
    }

    test("skipped ticks count as silence, and a stale or repeated tick is ignored") {
        val detector = SpeakingDetector(3)
        val events = mutableListOf<SpeakingChange>()
        detector.onTick(0, listOf(5L)) { events += it }
        detector.onTick(2, listOf(5L)) { events += it }
        detector.isSpeaking(5) shouldBe true
        detector.onTick(2, emptyList()) { events += it }
        detector.onTick(1, listOf(6L)) { events += it }
        // Ticks 3..6 never come: the hang ran out before 7, so 5 stops (last audio 2) and starts again.
        detector.onTick(7, setOf(5L)) { events += it }
        events shouldBe listOf(SpeakingChange(5, true, 0), SpeakingChange(5, false, 2), SpeakingChange(5, true, 7))
        detector.isSpeaking(6) shouldBe false
    }

    test("duplicate keys in one tick count once; forget drops a key without a stop") {
        val detector = SpeakingDetector(2)
        val events = mutableListOf<SpeakingChange>()
        detector.onTick(0, listOf(1L, 1L, 2L)) { events += it }
        detector.speakingCount shouldBe 2
        detector.forget(1)
        detector.speakingCount shouldBe 1
        detector.onTick(5, emptyList()) { events += it }
        events shouldBe listOf(SpeakingChange(1, true, 0), SpeakingChange(2, true, 0), SpeakingChange(2, false, 0))
    }
})
