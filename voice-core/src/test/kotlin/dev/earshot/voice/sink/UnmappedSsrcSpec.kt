package dev.earshot.voice.sink

import dev.earshot.voice.files.WavParser
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runTest
import java.nio.file.Files
import java.nio.file.Path
import kotlin.io.path.listDirectoryEntries
import kotlin.io.path.name

private fun wav(path: Path): ShortArray {
    val bytes = Files.readAllBytes(path)
    return WavParser.samples(bytes, WavParser.parse(bytes))
}

private fun ShortArray.loudIn(fromTick: Int, toTick: Int): Int =
    (fromTick * 1920 until minOf(size, toTick * 1920)).count { this[it].toInt() != 0 }

/**
 * No speaker dropped: audio of an SSRC that never gets a user (Discord sends no op 5 for someone already talking when
 * the bot joins) is recorded in a provisional track, and one whose user becomes known later becomes that user's file.
 */
class UnmappedSsrcSpec : FunSpec({

    /** SSRC 1 is user 101 from the start, SSRC 2 is never mapped, SSRC 3 becomes user 303 after 1 s. */
    suspend fun ReceiverHarness.threeSpeakers() {
        val speakers = (1L..3L).map { FakeSpeaker(it, key, sequence = 1000 * it.toInt()) }
        delay(100)
        for (k in 0 until 100) {
            speakers.forEachIndexed { i, s -> source.offer(s.datagram(Speech.packets[k + 50 * i])) }
            delay(20)
        }
        repeat(5) {
            speakers.forEach { s -> source.offer(s.datagram(FakeSpeaker.SILENCE)) }
            delay(20)
        }
        delay(200)
        source.close()
    }

    test("an SSRC never mapped gets ssrc-<n>.wav, one mapped after 1 s becomes user-<id>.wav, all aligned") {
        val dir = Files.createTempDirectory("earshot-unmapped")
        runTest {
            val ssrcs = SsrcDirectory().apply { map(1, 101) }
            val h = ReceiverHarness(this, ssrcs = ssrcs)
            val perUser = RecordingSinks.perUserWav(dir.resolve("wav"))
            h.receiver.listen(perUser)
            h.receiver.listen(RecordingSinks.mixedWav(dir.resolve("mixed.wav")))
            h.receiver.listen(RecordingSinks.perUserOgg(dir.resolve("ogg")))
            launch { h.threeSpeakers() }
            launch { delay(1000); ssrcs.map(3, 303) }
            val ticks = h.ticks.await()
            h.receiver.awaitSinks()

            // The pipeline really delivered SSRC 2 without a user, and SSRC 3 first without, then with one.
            ticks.any { t -> t.speaking.any { it.ssrc == 2L && it.userId == null } } shouldBe true
            ticks.any { t -> t.speaking.any { it.ssrc == 3L && it.userId == null } } shouldBe true
            ticks.any { t -> t.speaking.any { it.ssrc == 3L && it.userId == 303L } } shouldBe true

            dir.resolve("wav").listDirectoryEntries().map { it.name }.toSet() shouldBe setOf("user-101.wav", "ssrc-2.wav", "user-303.wav")
            dir.resolve("ogg").listDirectoryEntries().map { it.name }.toSet() shouldBe setOf("user-101.opus", "ssrc-2.opus", "user-303.opus")
            val u101 = wav(dir.resolve("wav/user-101.wav"))
            val s2 = wav(dir.resolve("wav/ssrc-2.wav"))
            val u303 = wav(dir.resolve("wav/user-303.wav"))
            val mixed = wav(dir.resolve("mixed.wav"))
            val frames = (ticks.last().tick + 1) * 1920
            listOf(u101, s2, u303, mixed).forEach { it.size.toLong() shouldBe frames }
            s2.loudIn(0, ticks.size) shouldBeGreaterThan 50_000
            // User 303's file holds their audio from before the mapping (tick 50 = 1 s) and after it.
            u303.loudIn(0, 50) shouldBeGreaterThan 5_000
            u303.loudIn(55, ticks.size) shouldBeGreaterThan 50_000
            // Nothing received is missing: the mix is exactly the sum of the three files.
            var bad = 0
            for (i in mixed.indices) {
                val sum = (u101[i].toLong() + s2[i] + u303[i]).coerceIn(-32768, 32767)
                if (mixed[i].toLong() != sum) bad++
            }
            println("unmapped SSRCs: files ${listOf("user-101", "ssrc-2", "user-303", "mixed").zip(listOf(u101, s2, u303, mixed)).map { (n, f) -> "$n ${f.size / 1920} ticks" }}; " +
                "frames recorded before a mapping ${perUser.unmappedFrames}, adopted ${perUser.adoptedSsrcs}; mix samples differing from the sum of the files: $bad")
            bad shouldBe 0
            perUser.unmappedFrames shouldBeGreaterThan 100L
            perUser.adoptedSsrcs shouldBe mapOf(3L to 303L)
            perUser.childOfSsrc(2L) shouldBe perUser.children.last()
        }
    }

    test("UnmappedAudio.DROP records mapped users only, and still counts what it left out") {
        val dir = Files.createTempDirectory("earshot-unmapped-drop")
        runTest {
            val ssrcs = SsrcDirectory().apply { map(1, 101) }
            val h = ReceiverHarness(this, ssrcs = ssrcs)
            val perUser = RecordingSinks.perUserWav(dir, unmapped = UnmappedAudio.DROP)
            h.receiver.listen(perUser)
            launch { h.threeSpeakers() }
            launch { delay(1000); ssrcs.map(3, 303) }
            h.ticks.await()
            h.receiver.awaitSinks()
            dir.listDirectoryEntries().map { it.name }.toSet() shouldBe setOf("user-101.wav", "user-303.wav")
            perUser.unmappedFrames shouldBeGreaterThan 100L
        }
    }
})
