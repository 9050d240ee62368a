package dev.earshot.voice.rtp

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe

private const val SEQ = 65_536
private const val TS = 4_294_967_296L

private fun wrap16(x: Long): Int = Math.floorMod(x, SEQ.toLong()).toInt()
private fun wrap32(x: Long): Long = Math.floorMod(x, TS)

class SequenceNumbersSpec : FunSpec({
    val seqStarts = listOf(0, 1, 32_767, 32_768, 65_534, 65_535)
    val tsStarts = listOf(0L, 1L, 2_147_483_647L, 2_147_483_648L, 4_294_967_294L, 4_294_967_295L)

    context("sequence numbers from start points around the wrap") {
        withData(seqStarts) { start ->
            val s = start.toLong()

            withClue("diff and isNewer at fixed distances") {
                for (d in listOf(1, 2, 100, 32_766, 32_767)) {
                    SequenceNumbers.diff(wrap16(s + d), start) shouldBe d
                    SequenceNumbers.diff(start, wrap16(s + d)) shouldBe -d
                    SequenceNumbers.isNewer(wrap16(s + d), start) shouldBe true
                    SequenceNumbers.isNewer(start, wrap16(s + d)) shouldBe false
                }
                SequenceNumbers.diff(start, start) shouldBe 0
                SequenceNumbers.isNewer(start, start) shouldBe false
            }

            withClue("exactly half the range is -32768 both ways and newer neither way") {
                val opposite = wrap16(s + 32_768)
                SequenceNumbers.diff(opposite, start) shouldBe -32_768
                SequenceNumbers.diff(start, opposite) shouldBe -32_768
                SequenceNumbers.isNewer(opposite, start) shouldBe false
                SequenceNumbers.isNewer(start, opposite) shouldBe false
            }

            withClue("forward run of 70000 packets crosses the wrap at least once") {
                val u = SequenceUnwrapper()
                for (i in 0L until 70_000L) u.unwrap(wrap16(s + i)) shouldBe s + i
            }

            withClue("reordered and duplicated packets") {
                val u = SequenceUnwrapper()
                for (d in listOf(0L, 2L, 1L, 3L, 3L, 5L, 4L, 6L)) u.unwrap(wrap16(s + d)) shouldBe s + d
            }

            withClue("backward steps go below the first value, negative if need be") {
                val u = SequenceUnwrapper()
                for (d in listOf(0L, -1L, -2L, -100L, -99L)) u.unwrap(wrap16(s + d)) shouldBe s + d
            }

            withClue("the largest forward jump is +32767; +32768 is read as backwards") {
                val u = SequenceUnwrapper()
                u.unwrap(start) shouldBe s
                u.unwrap(wrap16(s + 32_767)) shouldBe s + 32_767
                val v = SequenceUnwrapper()
                v.unwrap(start) shouldBe s
                v.unwrap(wrap16(s + 32_768)) shouldBe s - 32_768
            }

            withClue("reset makes the next value map to itself again") {
                val u = SequenceUnwrapper()
                u.unwrap(start)
                u.unwrap(wrap16(s + 30_000))
                u.unwrap(wrap16(s + 60_000))
                u.reset()
                u.unwrap(start) shouldBe s
            }
        }
    }

    context("timestamps from start points around the wrap") {
        withData(tsStarts) { start ->
            withClue("diff and isNewer at fixed distances") {
                for (d in listOf(1L, 960L, 48_000L, 2_147_483_646L, 2_147_483_647L)) {
                    SequenceNumbers.timestampDiff(wrap32(start + d), start) shouldBe d
                    SequenceNumbers.timestampDiff(start, wrap32(start + d)) shouldBe -d
                    SequenceNumbers.isNewerTimestamp(wrap32(start + d), start) shouldBe true
                    SequenceNumbers.isNewerTimestamp(start, wrap32(start + d)) shouldBe false
                }
            }

            withClue("exactly 2^31 apart is -2^31 both ways") {
                val opposite = wrap32(start + 2_147_483_648L)
                SequenceNumbers.timestampDiff(opposite, start) shouldBe -2_147_483_648L
                SequenceNumbers.timestampDiff(start, opposite) shouldBe -2_147_483_648L
                SequenceNumbers.isNewerTimestamp(opposite, start) shouldBe false
                SequenceNumbers.isNewerTimestamp(start, opposite) shouldBe false
            }

            withClue("20 ms frames (960 ticks) across the wrap, with a reordered and a repeated one") {
                val u = TimestampUnwrapper()
                val steps = (0L until 20_000L).map { it * 960 } + listOf(-960L * 5, 19_999L * 960, 20_000L * 960)
                for (d in steps) u.unwrap(wrap32(start + d)) shouldBe start + d
            }

            withClue("forward run of 5000 steps of 2^20 ticks crosses the 2^32 wrap at least once") {
                val u = TimestampUnwrapper()
                for (i in 0L until 5_000L) u.unwrap(wrap32(start + i * 1_048_576L)) shouldBe start + i * 1_048_576L
            }

            withClue("a full 2^32 cycle in 2^31-1 steps") {
                val u = TimestampUnwrapper()
                u.unwrap(start) shouldBe start
                u.unwrap(wrap32(start + 2_147_483_647L)) shouldBe start + 2_147_483_647L
                u.unwrap(wrap32(start + 4_294_967_294L)) shouldBe start + 4_294_967_294L
                u.unwrap(wrap32(start + 4_294_967_296L + 5)) shouldBe start + 4_294_967_296L + 5
                u.unwrap(wrap32(start - 10)) shouldBe start - 10 + 4_294_967_296L
            }

            withClue("backward and reset") {
                val u = TimestampUnwrapper()
                u.unwrap(start) shouldBe start
                u.unwrap(wrap32(start - 960)) shouldBe start - 960
                u.unwrap(wrap32(start + 2_147_483_648L - 960)) shouldBe start - 960 - 2_147_483_648L
                u.reset()
                u.unwrap(start) shouldBe start
            }
        }
    }

    test("only the low 16 / 32 bits of the inputs count") {
        SequenceNumbers.diff(65_536 + 5, 3) shouldBe 2
        SequenceNumbers.diff(-1, 0) shouldBe -1
        SequenceNumbers.timestampDiff(TS + 7, 2) shouldBe 5
        SequenceUnwrapper().unwrap(65_536 * 3 + 9) shouldBe 9L
        TimestampUnwrapper().unwrap(TS * 2 + 9) shouldBe 9L
    }
})
