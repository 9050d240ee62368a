package dev.earshot.voice.files

import dev.earshot.voice.testing.readOggResource
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.testing.Pcm
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldHaveSize
import io.kotest.matchers.doubles.plusOrMinus
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldNotContainIgnoringCase
import java.io.ByteArrayOutputStream
import java.nio.file.Files
import java.nio.file.Path
import kotlin.math.abs

private const val MS = 48 // samples per channel per millisecond at 48 kHz

/** opusinfo's duration tolerance: 1 ms, plus a hair because it truncates to whole milliseconds in doubles. */
private const val ONE_MS = 0.001 + 1e-9

/** The writer's lead-in: one 20 ms silence packet, removed by the header's pre-skip. */
private const val LEAD_IN = 960

/** One step of a recording: a received packet, or time without one. */
private sealed interface Step
private class Packet(val bytes: ByteArray) : Step
private class Gap(val samples: Int) : Step

// The silence packets gaps must become, written out from RFC 6716 Table 2 (CELT-only fullband mono, one frame:
// configs 31, 30, 29, 28) and Discord's silence payload FF FE; not taken from the writer.
private val SILENCE_20MS = byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())
private val SILENCE_10MS = byteArrayOf(0xF0.toByte(), 0xFF.toByte(), 0xFE.toByte())
private val SILENCE_5MS = byteArrayOf(0xE8.toByte(), 0xFF.toByte(), 0xFE.toByte())
private val SILENCE_2_5MS = byteArrayOf(0xE0.toByte(), 0xFF.toByte(), 0xFE.toByte())

private fun durationOf(packet: ByteArray): Int = OpusPacketInfo.samplesPerChannel48k(packet, 0, packet.size)

private fun samplesOf(step: Step): Int = if (step is Gap) step.samples else durationOf((step as Packet).bytes)

private fun write(steps: List<Step>, channels: Int, preSkip: Int = 0, comments: Map<String, String> = emptyMap()): ByteArray {
    val bytes = ByteArrayOutputStream()
    OggOpusWriter(bytes, channels = channels, preSkip = preSkip, comments = comments).use { writer ->
        for (step in steps) when (step) {
            is Packet -> writer.writePacket(step.bytes, samples = durationOf(step.bytes)) shouldBe true
            is Gap -> writer.writeGap(step.samples)
        }
        writer.samplesWritten shouldBe steps.sumOf(::samplesOf).toLong()
    }
    return bytes.toByteArray()
}

/** A valid one-frame CELT packet of [size] bytes (TOC [toc], random body); what it decodes to does not matter. */
private fun celtPacket(toc: Int, size: Int, random: kotlin.random.Random): ByteArray =
    ByteArray(size).also { random.nextBytes(it); it[0] = toc.toByte() }

private fun opusinfoClean(file: Path): String {
    val run = OpusTools.run("opusinfo", file.toString())
    withClue(run.output) {
        run.exitCode shouldBe 0
        run.output shouldNotContainIgnoringCase "warning"
        run.output shouldNotContainIgnoringCase "error"
    }
    return run.output
}

class OggOpusWriterSpec : FunSpec({
    val speech = readOggResource("/audio/speech.opus").packets
    val dir = Files.createTempDirectory("ogg-writer")
    afterSpec { dir.toFile().deleteRecursively() }

    // 1 s before the first packet, 0.5 s in the middle, a 30 ms gap, and packet 250 lost.
    val steps: List<Step> = listOf(Gap(1000 * MS)) + speech.subList(0, 100).map(::Packet) +
        Gap(500 * MS) + speech.subList(100, 200).map(::Packet) +
        Gap(30 * MS) + speech.subList(200, 250).map(::Packet) +
        Gap(20 * MS) + speech.subList(251, speech.size).map(::Packet)
    val expectedPackets: List<ByteArray> = listOf(listOf(SILENCE_20MS), List(50) { SILENCE_20MS }, speech.subList(0, 100),
        List(25) { SILENCE_20MS }, speech.subList(100, 200),
        listOf(SILENCE_20MS, SILENCE_10MS), speech.subList(200, 250),
        listOf(SILENCE_20MS), speech.subList(251, speech.size)).flatten()
    val totalSamples = steps.sumOf(::samplesOf)

    /** The timeline's gap ranges (`gaps`) or speech ranges, in samples per channel. */
    fun ranges(gaps: Boolean): List<IntRange> {
        val out = ArrayList<IntRange>()
        var at = 0
        var runStart = 0
        var runIsGap: Boolean? = null
        for (step in steps) {
            if ((step is Gap) != runIsGap) {
                if (runIsGap == gaps) out += runStart until at
                runStart = at
                runIsGap = step is Gap
            }
            at += samplesOf(step)
        }
        if (runIsGap == gaps) out += runStart until at
        return out
    }

    test("the CRC-checking reader reads back every packet written, the lead-in and the silence fillers in the gaps") {
        val stream = OggOpusReader.read(write(steps, channels = 2))
        stream.packets shouldHaveSize expectedPackets.size
        stream.packets.zip(expectedPackets).forEachIndexed { i, (got, want) -> withClue("packet $i") { got shouldBe want } }
        stream.preSkip shouldBe LEAD_IN
        stream.finalGranule shouldBe (LEAD_IN + totalSamples).toLong()
    }

    test("opusinfo finds nothing to warn about and reports the written duration and the tags")
        .config(enabledIf = { OpusTools.installed("opusinfo") }) {
            val file = dir.resolve("tags.opus")
            Files.write(file, write(steps, channels = 2, comments = mapOf("ENCODER" to "Earshot", "DISCORD_USER_ID" to "80351110224678912")))
            val info = opusinfoClean(file)
            info shouldContain "Encoded with Earshot"
            info shouldContain "DISCORD_USER_ID=80351110224678912"
            info shouldContain "Channels: 2"
            val seconds = OpusTools.playbackSeconds(info)
            println("opusinfo playback length ${seconds}s, written ${totalSamples / 48_000.0}s")
            seconds shouldBe (totalSamples / 48_000.0 plusOrMinus ONE_MS)
        }

    context("opusdec decodes the exact length, silence in the gaps and speech between them")
        .config(enabledIf = { OpusTools.installed("opusdec") }) {
            withData(nameFn = { "$it channel(s)" }, 1, 2) { channels ->
                val file = dir.resolve("gaps-$channels.opus")
                Files.write(file, write(steps, channels = channels))
                OggOpusReader.read(Files.readAllBytes(file)).channels shouldBe channels
                val (run, pcm) = OpusTools.opusdec(file, dir)
                withClue(run.output) { run.exitCode shouldBe 0 }
                run.output shouldNotContainIgnoringCase "error"
                pcm.size shouldBe totalSamples * channels
                for (c in 0 until channels) {
                    val channel = Pcm.channel(pcm, channels, c)
                    // The last packet before a gap rings on into it for under 5 ms (decoder delay and CELT overlap;
                    // measured: at most 233 samples, loudest 9563), so each gap is checked from 5 ms in.
                    var loudestInGaps = 0
                    for (gap in ranges(gaps = true)) {
                        val from = if (gap.first == 0) 0 else gap.first + 5 * MS
                        for (i in from..gap.last) loudestInGaps = maxOf(loudestInGaps, abs(channel[i].toInt()))
                    }
                    val quietestSpeech = ranges(gaps = false).minOf { Pcm.rms(channel, it.first, it.last - it.first + 1) }
                    println("channel $c of $channels: loudest sample in gaps $loudestInGaps, quietest speech run RMS $quietestSpeech")
                    loudestInGaps shouldBeLessThanOrEqual 2
                    quietestSpeech shouldBeGreaterThan 500.0
                }
            }
        }

    test("a pre-skip of 312 drops that much of the caller's audio in opusdec and opusinfo")
        .config(enabledIf = { OpusTools.installed("opusdec") && OpusTools.installed("opusinfo") }) {
            val file = dir.resolve("preskip.opus")
            Files.write(file, write(steps, channels = 1, preSkip = 312))
            OggOpusReader.read(Files.readAllBytes(file)).preSkip shouldBe LEAD_IN + 312
            OpusTools.playbackSeconds(opusinfoClean(file)) shouldBe ((totalSamples - 312) / 48_000.0 plusOrMinus ONE_MS)
            val (run, pcm) = OpusTools.opusdec(file, dir)
            withClue(run.output) { run.exitCode shouldBe 0 }
            pcm.size shouldBe totalSamples - 312
        }

    context("packets of 40 and 60 ms with odd gaps keep exact timing") {
        withData(nameFn = { it.substringAfterLast('/') }, "/audio/speech-stereo-40ms.opus", "/audio/speech-stereo-60ms.opus") { resource ->
            val packets = readOggResource(resource).packets
            // 37.5 ms becomes 20 + 10 + 5 + 2.5 ms of silence packets.
            val odd: List<Step> = listOf(Gap(1800)) + packets.subList(0, 40).map(::Packet) + Gap(75 * MS) +
                packets.subList(40, packets.size).map(::Packet)
            val bytes = write(odd, channels = 2)
            val stream = OggOpusReader.read(bytes)
            stream.packets.subList(0, 5) shouldBe listOf(SILENCE_20MS, SILENCE_20MS, SILENCE_10MS, SILENCE_5MS, SILENCE_2_5MS)
            stream.packets.subList(5, 45) shouldBe packets.subList(0, 40)
            // 75 ms: three 20 ms, one 10 ms, one 5 ms.
            stream.packets.subList(45, 50) shouldBe listOf(SILENCE_20MS, SILENCE_20MS, SILENCE_20MS, SILENCE_10MS, SILENCE_5MS)
            val total = odd.sumOf(::samplesOf)
            stream.finalGranule shouldBe (LEAD_IN + total).toLong()
            if (OpusTools.installed("opusinfo") && OpusTools.installed("opusdec")) {
                val file = dir.resolve(resource.substringAfterLast('/'))
                Files.write(file, bytes)
                OpusTools.playbackSeconds(opusinfoClean(file)) shouldBe (total / 48_000.0 plusOrMinus ONE_MS)
                val (run, pcm) = OpusTools.opusdec(file, dir)
                withClue(run.output) { run.exitCode shouldBe 0 }
                pcm.size shouldBe total * 2
            }
        }
    }

    test("gaps that are not whole 2.5 ms are rounded to the nearest 2.5 ms and the rest carried, never drifting") {
        val writer = OggOpusWriter(ByteArrayOutputStream(), channels = 2)
        writer.writeGap(50) // under half of 120: nothing yet, 50 owed
        writer.samplesWritten shouldBe 0L
        writer.writeGap(70) // 120 owed: one 2.5 ms packet
        writer.samplesWritten shouldBe 120L
        writer.writeGap(1000) // 1000 owed: 8 x 120 = 960 written, 40 owed
        writer.samplesWritten shouldBe 1080L
        writer.writeGap(100) // 140 owed: 120 written, 20 owed
        writer.samplesWritten shouldBe 1200L
        val random = kotlin.random.Random(7)
        var asked = 1220L
        repeat(10_000) {
            val gap = random.nextInt(0, 3000)
            writer.writeGap(gap)
            asked += gap
            abs(writer.samplesWritten - asked) shouldBeLessThanOrEqual 60L
        }
        writer.close()
    }

    context("page boundaries") {
        val random = kotlin.random.Random(42)
        val tiny = List(400) { celtPacket(toc = 0xE0, size = 3, random) } // 2.5 ms each
        val headerPages = 2

        fun pagesOf(vararg packets: ByteArray): Pair<List<OggPage>, List<ByteArray>> {
            val bytes = ByteArrayOutputStream()
            OggOpusWriter(bytes, channels = 2, serial = 0x1234).use { w -> packets.forEach { w.writePacket(it) shouldBe true } }
            val file = bytes.toByteArray()
            if (OpusTools.installed("opusinfo")) {
                Files.write(dir.resolve("pages.opus"), file)
                opusinfoClean(dir.resolve("pages.opus"))
            }
            val pages = oggPages(file)
            pages.forEachIndexed { i, p -> p.sequence shouldBe i; p.serial shouldBe 0x1234 }
            // First page, second page, then audio pages of which only the last ends the stream (flags 2, 4).
            pages.take(headerPages).map { it.flags } shouldBe listOf(2, 0)
            pages.drop(headerPages).dropLast(1).forEach { it.flags and 6 shouldBe 0 }
            pages.last().flags and 6 shouldBe 4
            return pages.drop(headerPages) to OggOpusReader.read(file).packets // the reader checks every CRC
        }

        test("a 255-byte packet is laced 255, 0 and a 1000-byte one 255, 255, 255, 235") {
            val p255 = celtPacket(toc = 0xF8, size = 255, random)
            val p1000 = celtPacket(toc = 0xF8, size = 1000, random)
            val (pages, packets) = pagesOf(p255, p1000)
            pages shouldHaveSize 1
            pages[0].lacing shouldBe listOf(3, 255, 0, 255, 255, 255, 235)
            pages[0].granule shouldBe (LEAD_IN + 960 + 960).toLong()
            packets shouldBe listOf(SILENCE_20MS, p255, p1000)
        }

        test("more than 255 segments fill a page and go on in a new one, not continued") {
            val (pages, packets) = pagesOf(*tiny.toTypedArray())
            pages.map { it.lacing.size } shouldBe listOf(255, 146) // lead-in + 254 tiny, then 146 tiny
            pages.map { it.granule } shouldBe listOf(LEAD_IN + 254 * 120L, LEAD_IN + 400 * 120L)
            packets shouldBe listOf(SILENCE_20MS) + tiny
        }

        test("a packet that does not fit is continued on the next page, even when only its final 0 is left") {
            val p510 = celtPacket(toc = 0xF8, size = 510, random)
            val p1000 = celtPacket(toc = 0xF8, size = 1000, random)
            val (pages, packets) = pagesOf(*tiny.subList(0, 253).toTypedArray(), p510, *tiny.subList(0, 252).toTypedArray(), p1000)
            // Page 1: lead-in, 253 tiny, the first 255 bytes of p510; the last packet completed is tiny 253.
            pages[0].lacing shouldBe listOf(3) + List(253) { 3 } + 255
            pages[0].granule shouldBe LEAD_IN + 253 * 120L
            pages[0].flags shouldBe 0
            // Page 2, continued: the rest of p510 (255 and the final 0), 252 tiny, the first segment of p1000.
            pages[1].flags shouldBe 1
            pages[1].lacing shouldBe listOf(255, 0) + List(252) { 3 } + 255
            pages[1].granule shouldBe LEAD_IN + 253 * 120L + 960 + 252 * 120
            // Page 3, continued and last: the rest of p1000.
            pages[2].flags shouldBe (1 or 4)
            pages[2].lacing shouldBe listOf(255, 255, 235)
            pages[2].granule shouldBe LEAD_IN + 253 * 120L + 960 + 252 * 120 + 960
            packets shouldBe listOf(SILENCE_20MS) + tiny.subList(0, 253) + p510 + tiny.subList(0, 252) + p1000
        }
    }

    test("pages come at least every pageIntervalSamples, and a file cut off unclosed plays up to its last page") {
        val bytes = ByteArrayOutputStream()
        val writer = OggOpusWriter(bytes, channels = 2, pageIntervalSamples = 200 * MS)
        speech.subList(0, 130).forEach { writer.writePacket(it) shouldBe true } // 2.6 s, never closed
        val granules = oggPages(bytes.toByteArray()).drop(2).map { it.granule }
        granules.zipWithNext { a, b -> b - a }.forEach { it shouldBeLessThanOrEqual 200L * MS }
        val cut = OggOpusReader.read(bytes.toByteArray())
        cut.finalGranule shouldBe granules.last()
        // Everything but the last partial page is there: at most one interval plus the held-back packet lost.
        writer.samplesWritten - (cut.finalGranule - LEAD_IN) shouldBeLessThanOrEqual 200L * MS + 960
        cut.packets shouldBe listOf(SILENCE_20MS) + speech.subList(0, cut.packets.size - 1)
        if (OpusTools.installed("opusdec")) {
            val file = dir.resolve("cut.opus")
            Files.write(file, bytes.toByteArray())
            val (run, pcm) = OpusTools.opusdec(file, dir)
            withClue(run.output) { run.exitCode shouldBe 0 }
            pcm.size.toLong() shouldBe (cut.finalGranule - LEAD_IN) * 2
        }
    }

    test("invalid packets are refused and nothing is written for them") {
        val bytes = ByteArrayOutputStream()
        OggOpusWriter(bytes, channels = 1).use { w ->
            w.writePacket(ByteArray(0)) shouldBe false // no TOC
            w.writePacket(byteArrayOf(0xF9.toByte(), 1, 2, 3)) shouldBe false // code 1 needs an even payload
            w.writePacket(SILENCE_20MS, offset = 2, length = 3) shouldBe false // view outside the array
            w.writePacket(SILENCE_20MS, samples = 480) shouldBe false // the TOC says 960
            w.writePacket(SILENCE_10MS) shouldBe true
            w.samplesWritten shouldBe 480L
        }
        OggOpusReader.read(bytes.toByteArray()).packets shouldBe listOf(SILENCE_20MS, SILENCE_10MS)
    }

    test("a path gets a complete file; close is idempotent, writing after it and bad arguments throw") {
        val file = dir.resolve("path.opus")
        val writer = OggOpusWriter(file, channels = 1)
        writer.writePacket(speech[0]) shouldBe true
        writer.flush()
        writer.close()
        writer.close()
        shouldThrow<IllegalStateException> { writer.writeGap(960) }
        OggOpusReader.read(Files.readAllBytes(file)).packets shouldBe listOf(SILENCE_20MS, speech[0])
        shouldThrow<IllegalArgumentException> { OggOpusWriter(ByteArrayOutputStream(), channels = 3) }
        shouldThrow<IllegalArgumentException> { OggOpusWriter(dir.resolve("bad.opus"), preSkip = -1) }
        Files.exists(dir.resolve("bad.opus")) shouldBe false
        shouldThrow<IllegalArgumentException> { OggOpusWriter(ByteArrayOutputStream(), comments = mapOf("A=B" to "c")) }
    }
})
