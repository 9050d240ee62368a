package dev.earshot.samples

import dev.earshot.voice.files.OggOpusReader
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.doubles.plusOrMinus
import io.kotest.matchers.doubles.shouldBeLessThan
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.ints.shouldBeInRange
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.io.ByteArrayOutputStream
import java.io.PrintStream
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.nio.file.Path
import javax.imageio.ImageIO
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

/**
 * The demo recorder in process, for real (embedded server over loopback, DAVE, 5 % loss), for about 6 s: the files,
 * the timeline picture and the summary are checked against each other and against the library's own counters.
 */
class DemoRecorderSpec : FunSpec({
    /** A parsed RIFF/WAVE header; sizes checked against the file's length. */
    class Wav(val path: Path) {
        val bytes: ByteArray = Files.readAllBytes(path)
        private val b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
        val riff = String(bytes, 0, 4, Charsets.US_ASCII)
        val riffSize = b.getInt(4).toLong() and 0xFFFF_FFFFL
        val wave = String(bytes, 8, 4, Charsets.US_ASCII)
        val fmt = String(bytes, 12, 4, Charsets.US_ASCII)
        val formatTag = b.getShort(20).toInt()
        val channels = b.getShort(22).toInt()
        val sampleRate = b.getInt(24)
        val byteRate = b.getInt(28)
        val bits = b.getShort(34).toInt()
        val data = String(bytes, 36, 4, Charsets.US_ASCII)
        val dataSize = b.getInt(40).toLong() and 0xFFFF_FFFFL
        val seconds: Double get() = dataSize.toDouble() / byteRate

        fun check(expectedTicks: Int) {
            riff shouldBe "RIFF"
            wave shouldBe "WAVE"
            fmt shouldBe "fmt "
            data shouldBe "data"
            formatTag shouldBe 1
            channels shouldBe 2
            sampleRate shouldBe 48_000
            bits shouldBe 16
            byteRate shouldBe 48_000 * 4
            riffSize shouldBe bytes.size - 8L
            dataSize shouldBe bytes.size - 44L
            dataSize shouldBe expectedTicks * 960L * 4 // every track is one frame per tick of the recording
        }
    }

    fun figure(summary: String, label: String): String {
        val line = summary.lines().single { it.trimStart().startsWith("$label ") }
        return line.trimStart().removePrefix(label).trim()
    }

    fun number(summary: String, label: String): Long = Regex("^\\d+").find(figure(summary, label))!!.value.toLong()

    test("a 6 s embedded recording: WAVs, Ogg Opus, the PNG timeline and a summary that matches the library's counters") {
        val dir = Files.createTempDirectory("earshot-demo")
        val out = ByteArrayOutputStream()
        val options = DemoOptions(duration = 6.seconds, outDir = dir.resolve("rec"), lossPercent = 5.0, seed = 7)
        val result = runBlocking { DemoRecorder.run(options, EmbeddedSource(), DemoConsole(PrintStream(out, true), interactive = false)) }
        val console = out.toString()
        println(console)
        val summary = result.summary
        val t = result.timeline
        val users = listOf(1001L, 1002L, 1003L)

        // The recording: everyone spoke; it lasted what was asked (the start and stop cost a little).
        t.users shouldBe users
        result.outDir shouldBe dir.resolve("rec").toAbsolutePath()
        (t.ticks * 0.02) shouldBe (6.0 plusOrMinus 1.5)
        for (u in users) t.count(u, Mark.DECODED) shouldBeGreaterThan 10

        // Every expected file, each listed once in the summary with its size.
        val expected = listOf("mixed.wav") + users.map { "user-$it.wav" } + users.map { "user-$it.opus" } + "timeline.png"
        summary.files.map { it.path.fileName.toString() } shouldContainExactly expected
        for (f in summary.files) {
            f.path.isAbsolute shouldBe true
            Files.size(f.path) shouldBe f.bytes
            console shouldContain f.path.toString()
        }

        // WAVs: valid headers, and every track (per user and mixed) exactly as long as the recording.
        for (name in expected.filter { it.endsWith(".wav") }) {
            val wav = Wav(result.outDir.resolve(name))
            wav.check(t.ticks)
            wav.seconds shouldBe (t.ticks * 0.02 plusOrMinus 1e-9)
        }

        // Ogg Opus: parses, carries packets, and spans the recording (silence fills the pauses).
        for (u in users) {
            val ogg = OggOpusReader.read(result.outDir.resolve("user-$u.opus"))
            (ogg.packets.size) shouldBeGreaterThan 10
            val samples = ogg.finalGranule - ogg.preSkip
            (samples / 960).toInt() shouldBeInRange (t.ticks - 3)..(t.ticks + 3)
        }

        // The PNG: one row per user, and bars exactly where that user's ticks had frames, in the frame kind's shade.
        val img = ImageIO.read(result.outDir.resolve("timeline.png").toFile())
        val layout = TimelineLayout(t, result.labels)
        img.width shouldBe layout.width
        img.height shouldBe layout.height
        layout.rowCount shouldBe users.size
        layout.ticksPerColumn shouldBe 1
        for ((row, u) in t.users.withIndex()) {
            val y = layout.barRows(row)
            for (tick in 0 until t.ticks) {
                val mark = t.mark(u, tick)
                val top = img.getRGB(layout.x(tick), y.first) and 0xFFFFFF
                val bottom = img.getRGB(layout.x(tick), y.last) and 0xFFFFFF
                (top != TimelineRenderer.BACKGROUND) shouldBe (mark != Mark.NONE)
                top shouldBe TimelineRenderer.colorOf(mark)
                bottom shouldBe top
            }
        }

        // The summary's figures are the library's counters (read again now: the receiver has stopped, they are final).
        val stats = result.connection.receiver.stats()
        val dave = result.connection.dave!!.stats()
        val text = summary.lines().joinToString("\n")
        for (line in summary.lines()) console shouldContain line
        figure(text, "packets received") shouldBe "${stats.rtpAudio} (${stats.decrypted} decrypted, ${stats.decoded} decoded)"
        number(text, "lost") shouldBe stats.lost
        number(text, "concealed") shouldBe stats.concealed
        number(text, "FEC-recovered") shouldBe stats.fecRecovered
        number(text, "late") shouldBe stats.late
        number(text, "duplicates") shouldBe stats.duplicates
        number(text, "dropped") shouldBe stats.droppedDatagrams + stats.droppedTicks
        figure(text, "DAVE frames") shouldContain "${dave.decrypted} decrypted, ${dave.decryptFailures} failed (protocol 1,"
        figure(text, "seconds") shouldBe "%.2f (%d ticks of 20 ms)".format(java.util.Locale.ROOT, t.ticks * 0.02, t.ticks)
        figure(text, "users") shouldBe "1001 (alice), 1002 (bob), 1003 (tones)"

        // What the demo is there to show: DAVE frames decrypted, loss repaired by concealment and FEC.
        stats.rtpAudio shouldBeGreaterThan 200L
        dave.decrypted shouldBeGreaterThan 200L
        (stats.concealed + stats.fecRecovered) shouldBeGreaterThan 0L
        console shouldContain "alice [talking]"
    }

    test("a stop request (what Ctrl-C sends) ends the recording early with finished files") {
        val dir = Files.createTempDirectory("earshot-demo-stop")
        val out = ByteArrayOutputStream()
        val stop = CompletableDeferred<Unit>()
        val result = runBlocking {
            val run = async { DemoRecorder.run(DemoOptions(duration = 60.seconds, outDir = dir), EmbeddedSource(), DemoConsole(PrintStream(out, true), false), stop) }
            // Stop once somebody is heard, rather than after a fixed wait.
            withTimeout(30.seconds) { while ("[talking]" !in out.toString()) delay(20) }
            stop.complete(Unit)
            run.await()
        }
        result.summary.interrupted shouldBe true
        // Ended by the stop, well before the 60 s asked for, with something recorded.
        (result.timeline.ticks * 0.02) shouldBeLessThan 30.0
        result.timeline.ticks shouldBeGreaterThan 0
        out.toString() shouldContain "stopping: finishing the files"
        out.toString() shouldContain "Recording stopped early"
        Wav(dir.resolve("mixed.wav")).check(result.timeline.ticks)
        for (u in result.timeline.users) Wav(dir.resolve("user-$u.wav")).check(result.timeline.ticks)
        result.connection.isAlive shouldBe false
    }
})
