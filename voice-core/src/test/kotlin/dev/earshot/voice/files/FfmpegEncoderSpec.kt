package dev.earshot.voice.files

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.plusOrMinus
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import io.kotest.matchers.string.shouldContain
import java.nio.file.Files
import kotlin.io.path.exists
import kotlin.math.PI
import kotlin.math.sin

class FfmpegEncoderSpec : FunSpec({
    val dir = Files.createTempDirectory("earshot-ffmpeg")
    afterSpec { dir.toFile().deleteRecursively() }

    /** 20 ms of a 440 Hz stereo tone at 48 kHz, frame [frame] of a continuous signal. */
    fun tone(frame: Int) = ShortArray(960 * 2) {
        val t = (frame * 960 + it / 2) / 48_000.0
        (8000 * sin(2 * PI * 440 * t)).toInt().toShort()
    }

    test("2 s of a tone become an MP3 that ffprobe measures at 2 s within 0.1 s")
        .config(enabledOrReasonIf = ExternalTools.require("ffmpeg", "ffprobe")) {
            val path = dir.resolve("tone.mp3")
            FfmpegEncoder(path, 48_000, 2).use { enc ->
                for (frame in 0 until 75) enc.write(tone(frame))
                enc.writeSilence(48_000 / 2)
                enc.flush()
                enc.samplesWritten shouldBe 2L * 48_000
            }
            val (status, out) = ExternalTools.run(
                "ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name,sample_rate,channels",
                "-of", "default=noprint_wrappers=1", path.toString(),
            )
            println("ffprobe on the MP3: ${out.lines().filter { it.isNotBlank() }.joinToString(", ")}")
            status shouldBe 0
            out shouldContain "codec_name=mp3"
            out shouldContain "sample_rate=48000"
            out shouldContain "channels=2"
            val duration = out.lines().single { it.startsWith("duration=") }.removePrefix("duration=").toDouble()
            duration shouldBe (2.0 plusOrMinus 0.1)
        }

    test("a missing ffmpeg fails at construction with a clear typed error") {
        val e = shouldThrow<FfmpegNotFoundException> {
            FfmpegEncoder(dir.resolve("never.mp3"), 48_000, 2, executable = "earshot-no-such-ffmpeg")
        }
        e.message shouldContain "ffmpeg was not found on PATH"
        e.message shouldContain "earshot-no-such-ffmpeg"
        e.message shouldContain "apt-get install ffmpeg"
        dir.resolve("never.mp3").exists() shouldBe false
    }

    test("ffmpeg failing surfaces as FfmpegFailedException with its stderr")
        .config(enabledOrReasonIf = ExternalTools.require("ffmpeg")) {
            val e = shouldThrow<FfmpegFailedException> {
                FfmpegEncoder(dir.resolve("bad.mp3"), 48_000, 2, outputArgs = listOf("-c:a", "earshot-no-such-codec"))
                    .use { enc -> repeat(500) { enc.write(tone(it)) } }
            }
            e.exitCode shouldNotBe null
            e.exitCode shouldNotBe 0
            e.stderrTail.isEmpty() shouldBe false
            e.message shouldContain "earshot-no-such-codec"
        }

    test("close is idempotent, writing after close fails clearly, bad arguments are refused")
        .config(enabledOrReasonIf = ExternalTools.require("ffmpeg")) {
            val enc = FfmpegEncoder(dir.resolve("closed.wav"), 16_000, 1)
            shouldThrow<IllegalArgumentException> { enc.write(ShortArray(4), offset = 3, length = 2) }
            enc.write(ShortArray(160))
            enc.close()
            enc.close()
            shouldThrow<IllegalStateException> { enc.write(ShortArray(2)) }.message shouldContain "closed"
            shouldThrow<IllegalStateException> { enc.flush() }.message shouldContain "closed"
            val bytes = dir.resolve("closed.wav").toFile().readBytes()
            WavParser.parse(bytes).dataSize shouldBe 320L
        }
})
