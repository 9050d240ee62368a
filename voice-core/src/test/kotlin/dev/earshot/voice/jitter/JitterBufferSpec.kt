package dev.earshot.voice.jitter

import dev.earshot.voice.jitter.JitterBuffer.Step
import dev.earshot.voice.rtp.SequenceUnwrapper
import dev.earshot.voice.rtp.TimestampUnwrapper
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlin.random.Random

/**
 * One simulated sender and network feeding a [JitterBuffer] through the same unwrappers the pipeline uses.
 * Packet k is sent at tick k with sequence `seq0 + k` and timestamp `ts0 + 960 k` (both wrapped), unless a test
 * moves it; [run] delivers packets at their arrival ticks and records what plays at each tick.
 */
private class Harness(val seq0: Int, val ts0: Long, delay: Int = 3, capacity: Int = 64, placer: PlayoutPlacer? = null) {
    val released = mutableListOf<Int>()
    val jb = JitterBuffer<Int>(capacity = capacity, delayTicks = delay, maxEarlyTicks = 3, maxUnderrunTicks = 3, placer = placer) { released += it }
    private val seqs = SequenceUnwrapper()
    private val tss = TimestampUnwrapper()
    private val arrivals = sortedMapOf<Long, MutableList<Pkt>>()
    val inserts = mutableListOf<JitterBuffer.Insert>()

    /** What tick t played: a packet number, "M<k>" missing (with "+fec" when the next is buffered), "U", "G", "S" ... */
    val played = sortedMapOf<Long, MutableList<String>>()

    class Pkt(val k: Int, val seq: Int, val ts: Long, val dur: Int, val silence: Boolean)

    fun send(k: Int, arriveAt: Long = k.toLong(), seqOffset: Int = k, tsOffset: Long = 960L * k, dur: Int = 960, silence: Boolean = false) {
        val p = Pkt(k, (seq0 + seqOffset) and 0xFFFF, (ts0 + tsOffset) and 0xFFFF_FFFFL, dur, silence)
        arrivals.getOrPut(arriveAt) { mutableListOf() } += p
    }

    /** Splits long packets over ticks as the playout core does (the same code, not a copy). */
    private val split = TickSplitter()

    fun run(untilTick: Long, onStep: (Long, Step) -> Unit = { _, _ -> }) {
        for (t in 0..untilTick) {
            arrivals.remove(t)?.forEach { p ->
                inserts += jb.insert(seqs.unwrap(p.seq), tss.unwrap(p.ts), p.dur, p.silence, p.k, t)
            }
            val out = played.getOrPut(t) { mutableListOf() }
            var filled = split.takeCarry()
            if (filled > 0) out += "C"
            while (filled < 960) {
                val step = jb.next(t, 960 - filled)
                onStep(t, step)
                when (step) {
                    Step.IDLE -> { out += "-"; break }
                    Step.FILLING -> { out += "F"; break }
                    Step.SPURT_END -> { out += "E"; break }
                    Step.PACKET -> {
                        out += if (jb.stepIsSilence) "S${jb.item}" else "${jb.item}"
                        filled += split.place(jb.duration, 960 - filled)
                    }
                    Step.MISSING -> { out += "M" + (if (jb.fecItem != null) "+fec${jb.fecItem}" else ""); filled += split.place(jb.duration, 960 - filled) }
                    Step.UNDERRUN -> { out += "U"; filled += split.place(jb.duration, 960 - filled) }
                    Step.STRETCH -> { out += "X"; filled += split.place(jb.duration, 960 - filled) }
                    Step.GAP -> { out += "G"; filled += jb.duration }
                }
            }
            jb.size shouldBeLessThanOrEqual jb.capacity
        }
    }

    /** Ticks at which packet k played. */
    fun tickOf(k: Int): Long? = played.entries.firstOrNull { (_, v) -> "$k" in v }?.key

    fun playedPackets(): List<Int> = played.values.flatten().mapNotNull { it.removePrefix("S").toIntOrNull() }
}

/** Unwrapped timestamp of packet 0 in the placer tests (the harness's unwrapper starts at the first timestamp). */
private const val tsUnwrapped0 = 0L

private val wrapStarts = listOf(0, 1, 32767, 32768, 65534, 65535)
private val tsStarts = listOf(0L, 0xFFFF_FFFFL - 960 * 5, 0x7FFF_FFFFL)

class JitterBufferSpec : FunSpec({

    context("in order: packet k plays at tick delay + k") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            for (ts0 in tsStarts) {
                val h = Harness(seq0, ts0)
                repeat(100) { h.send(it) }
                h.run(110)
                h.playedPackets() shouldContainExactly (0 until 100).toList()
                for (k in 0 until 100) h.tickOf(k) shouldBe 3L + k
                h.jb.lost shouldBe 0
            }
        }
    }

    context("reordered pairs and duplicates play once, in order") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val h = Harness(seq0, 1000)
            for (k in 0 until 60) {
                // Swap each pair's arrival and deliver every packet twice.
                val arrive = if (k % 2 == 0) k + 1L else k - 1L + 1
                h.send(k, arriveAt = arrive)
                h.send(k, arriveAt = arrive + 1)
            }
            h.run(80)
            h.playedPackets() shouldContainExactly (0 until 60).toList()
            h.inserts.count { it == JitterBuffer.Insert.DUPLICATE } shouldBe 60
            h.jb.lost shouldBe 0
        }
    }

    context("a single loss is MISSING with the next packet offered for FEC") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val h = Harness(seq0, 77)
            for (k in 0 until 30) if (k != 10) h.send(k)
            h.run(40)
            h.played[13L] shouldBe mutableListOf("M+fec11")
            h.tickOf(11) shouldBe 14L
            h.jb.lost shouldBe 1
        }
    }

    test("a packet lost among the closing silence frames plays as silence, not as concealed speech") {
        val h = Harness(100, 0)
        for (k in 0 until 20) h.send(k)
        for (k in 20 until 25) if (k != 22) h.send(k, silence = true)
        h.run(40)
        h.played[3L + 21] shouldBe mutableListOf("S21")
        h.played[3L + 22] shouldBe mutableListOf("G")
        h.played[3L + 23] shouldBe mutableListOf("S23")
        h.jb.lost shouldBe 1
    }

    test("underrun slots are numbered by the packets they stand in for") {
        val h = Harness(500, 0)
        for (k in 0 until 30) h.send(k, arriveAt = if (k in 10..14) 15L else k.toLong())
        val seqs = mutableMapOf<Long, Long>()
        // Ticks 13 and 14 play while packets 10-14 are held up: U for seq0+10, then seq0+11.
        h.run(30) { t, step -> if (step == Step.UNDERRUN) seqs[t] = h.jb.stepSeq }
        seqs shouldBe mapOf(13L to 510L, 14L to 511L)
        h.tickOf(12) shouldBe 15L
        h.jb.lateDrops shouldBe 2
    }

    context("a burst loss conceals each slot once; only the last has an FEC source") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val h = Harness(seq0, 5)
            for (k in 0 until 40) if (k !in 10..14) h.send(k)
            h.run(50)
            // Nothing buffered at ticks 13-14 (underrun); when 15 arrives the first two slots are already concealed.
            (13L..17L).map { h.played[it]!!.single() } shouldBe listOf("U", "U", "M", "M", "M+fec15")
            h.tickOf(15) shouldBe 18L
            h.jb.lost shouldBe 5
        }
    }

    context("a packet later than the playout delay is refused as late and its slot concealed") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val h = Harness(seq0, 9)
            for (k in 0 until 30) h.send(k, arriveAt = if (k == 20) 20L + 6 else k.toLong())
            h.run(40)
            h.played[23L] shouldBe mutableListOf("M+fec21")
            h.inserts.count { it == JitterBuffer.Insert.LATE } shouldBe 1
            h.playedPackets() shouldContainExactly (0 until 30).filter { it != 20 }
        }
    }

    context("jitter within the playout delay loses nothing") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val rnd = Random(seq0)
            val h = Harness(seq0, 12345)
            for (k in 0 until 200) h.send(k, arriveAt = k + rnd.nextLong(0, 3))
            h.run(220)
            h.playedPackets() shouldContainExactly (0 until 200).toList()
            h.jb.lost shouldBe 0
        }
    }

    context("a long silence keeps its real length: the next spurt is placed by its RTP timestamp") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val h = Harness(seq0, 0xFFFF_FFFFL - 960 * 40)
            for (k in 0 until 50) h.send(k)
            for (k in 50 until 55) h.send(k, silence = true)
            // Two seconds of nothing, then the sender resumes: the sequence continues, the timestamp jumped.
            for (k in 55 until 100) h.send(k, arriveAt = k + 100L + if (k == 55) 2 else 0, tsOffset = 960L * (k + 100))
            h.run(220)
            h.tickOf(49) shouldBe 52L
            h.played[53L] shouldBe mutableListOf("S50")
            h.played[58L] shouldBe mutableListOf("E")
            // Arrived two ticks late, but still inside the delay: RTP timing wins.
            h.tickOf(55) shouldBe 3L + 155
            h.tickOf(99) shouldBe 3L + 199
            h.jb.lost shouldBe 0
        }
    }

    context("a sender that stops without silence frames is concealed for maxUnderrunTicks, then the spurt ends") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val h = Harness(seq0, 0)
            for (k in 0 until 20) h.send(k)
            h.run(40)
            (23L..25L).map { h.played[it]!!.single() } shouldBe listOf("U", "U", "U")
            h.played[26L] shouldBe mutableListOf("E")
            h.played[27L] shouldBe mutableListOf("-")
            h.jb.state shouldBe JitterBuffer.State.IDLE
        }
    }

    context("a timestamp jump inside a buffered spurt plays as silence") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val h = Harness(seq0, 400)
            for (k in 0 until 10) h.send(k)
            // Packet 10 is stamped 40 ms later than its sequence implies but arrives in time.
            for (k in 10 until 20) h.send(k, tsOffset = 960L * (k + 2), arriveAt = k.toLong())
            h.run(30)
            h.played[13L] shouldBe mutableListOf("G")
            h.played[14L] shouldBe mutableListOf("G")
            h.tickOf(10) shouldBe 15L
        }
    }

    context("a timestamp jump of 2^31 samples inside a buffered spurt ends the spurt; the packet starts the next one") {
        // Before, the jump was played as silence, one tick at a time: half a day of GAP ticks during which the speaker
        // was never idle, so it could not be evicted and a receiver whose input had ended never finished
        // (PipelineFuzzSpec ran out of memory collecting the endless ticks).
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val h = Harness(seq0, 400)
            for (k in 0 until 10) h.send(k)
            for (k in 10 until 20) h.send(k, tsOffset = 960L * k + 0x7FFF_0000L)
            h.run(40)
            h.played[13L] shouldBe mutableListOf("E")
            val restart = h.tickOf(10)!!
            (restart - 13L <= 5L) shouldBe true
            h.tickOf(19) shouldBe restart + 9
            h.played.values.flatten().count { it == "G" } shouldBe 0
            h.jb.lost shouldBe 0
        }
    }

    test("a jump within maxGapTicks still plays as silence; one tick more ends the spurt") {
        val h = Harness(0, 0)
        for (k in 0 until 10) h.send(k)
        for (k in 10 until 20) h.send(k, tsOffset = 960L * (k + 50), arriveAt = k.toLong())
        h.run(100)
        h.played.values.flatten().count { it == "G" } shouldBe 50
        val h2 = Harness(0, 0)
        for (k in 0 until 10) h2.send(k)
        for (k in 10 until 20) h2.send(k, tsOffset = 960L * (k + 51), arriveAt = k.toLong())
        h2.run(100)
        h2.played.values.flatten().count { it == "G" } shouldBe 0
        h2.played[13L] shouldBe mutableListOf("E")
    }

    context("40 ms and 60 ms packets cover two and three ticks") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val h = Harness(seq0, 0)
            for (k in 0 until 10) h.send(k, arriveAt = 2L * k, tsOffset = 1920L * k, dur = 1920)
            for (k in 10 until 15) h.send(k, arriveAt = 20L + 3 * (k - 10), tsOffset = 19200L + 2880L * (k - 10), dur = 2880)
            h.run(50)
            for (k in 0 until 10) h.tickOf(k) shouldBe 3L + 2 * k
            for (k in 10 until 15) h.tickOf(k) shouldBe 23L + 3 * (k - 10)
            h.played[4L] shouldBe mutableListOf("C")
            h.jb.lost shouldBe 0
        }
    }

    context("a sequence jump of 30000 resyncs instead of growing") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val h = Harness(seq0, 0)
            for (k in 0 until 20) h.send(k)
            for (k in 20 until 40) h.send(k, seqOffset = k + 30000, tsOffset = 960L * (k + 30000))
            h.run(60)
            h.inserts.count { it == JitterBuffer.Insert.RESYNC } shouldBe 1
            h.jb.resyncs shouldBe 1
            h.playedPackets().filter { it >= 20 } shouldContainExactly (20 until 40).toList()
        }
    }

    context("a sender that restarts far behind is followed after a few packets") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            val h = Harness(seq0, 0)
            for (k in 0 until 20) h.send(k)
            for (k in 20 until 60) h.send(k, seqOffset = k - 20000)
            h.run(80)
            h.jb.resyncs shouldBe 1
            h.inserts.count { it == JitterBuffer.Insert.LATE } shouldBe h.jb.farLateResyncCount - 1
            h.playedPackets().filter { it >= 20 } shouldContainExactly (20 + h.jb.farLateResyncCount - 1 until 60).toList()
        }
    }

    context("with a placer: a spurt grows to the desired tick at once, shrinks one tick per boundary, stretches at holes") {
        withData(nameFn = { "seq0=$it" }, wrapStarts) { seq0 ->
            // Desired: `lead` ticks after the packet's send tick (timestamps start at 0 here, one tick per 960).
            var lead = 3L
            val h = Harness(seq0, 0, placer = { ts -> Math.floorDiv(ts - tsUnwrapped0, 960L) + lead })
            // Spurt 1 (0-19) at lead 3; spurt 2 (30-49) wanted at lead 1: one tick earlier only; spurt 3 (60-79)
            // wanted at lead 1 again: one tick more; spurt 4 (90-109) wanted at lead 4: moved to it at once.
            for (spurt in 0 until 4) {
                for (k in 30 * spurt until 30 * spurt + 20) h.send(k)
                for (k in 30 * spurt + 20 until 30 * spurt + 25) h.send(k, silence = true)
            }
            h.run(150) { t, _ -> lead = when { t < 25 -> 3L; t < 85 -> 1L; else -> 4L } }
            h.tickOf(0) shouldBe 3L
            h.tickOf(30) shouldBe 32L
            h.tickOf(60) shouldBe 61L
            h.tickOf(90) shouldBe 94L
            h.jb.stretches shouldBe 0
        }
    }

    test("with a placer wanting more delay mid-spurt, a hole is stretched and the late packet still plays") {
        var lead = 1L
        val h = Harness(7, 0, placer = { ts -> Math.floorDiv(ts - tsUnwrapped0, 960L) + lead })
        // Packet 10 comes two ticks after its slot; the placer has meanwhile come to want lead 3.
        for (k in 0 until 30) h.send(k, arriveAt = if (k == 10) 13L else k.toLong())
        h.run(40) { t, _ -> if (t >= 10) lead = 3L }
        // Slot 10 (tick 11) is missing: stretched twice (ticks 11, 12), then 10 plays at 13 and the rest follows.
        (11L..12L).map { h.played[it]!!.single() } shouldBe listOf("X", "X")
        h.tickOf(10) shouldBe 13L
        h.tickOf(29) shouldBe 32L
        h.jb.stretches shouldBe 2
        h.jb.lost shouldBe 0
        h.jb.lateDrops shouldBe 0
        h.playedPackets() shouldContainExactly (0 until 30).toList()
    }

    test("a flood of random sequence numbers never holds more than capacity, and every packet comes back once") {
        val rnd = Random(42)
        val returned = mutableListOf<Int>()
        val owned = HashSet<Int>()
        val jb = JitterBuffer<Int>(capacity = 32) { returned += it }
        var tick = 0L
        repeat(100_000) { i ->
            val r = jb.insert(rnd.nextLong(-1L shl 20, 1L shl 20), rnd.nextLong(), 960, rnd.nextBoolean(), i, tick)
            if (r == JitterBuffer.Insert.ACCEPTED || r == JitterBuffer.Insert.RESYNC) owned += i
            if (i % 3 == 0 && jb.next(tick++) == Step.PACKET) returned += jb.item!!
            jb.size shouldBeLessThanOrEqual 32
        }
        jb.flush()
        jb.size shouldBe 0
        returned.size shouldBe returned.toSet().size
        returned.toSet() shouldBe owned
    }
})
