package dev.earshot.voice.files

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeGreaterThanOrEqual
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import kotlin.io.path.readBytes

class WavCrashSpec : FunSpec({
    val dir = Files.createTempDirectory("earshot-crash")
    afterSpec { dir.toFile().deleteRecursively() }
    val path = dir.resolve("crash.wav")
    val flushMillis = 20
    val capSeconds = 120L
    val flushesBeforeKill = 5
    var declaredSamples = -1L

    test("a WavWriter killed with SIGKILL mid-stream keeps every sample up to its last flush (flush interval 20 ms of audio)") {
        val java = Path.of(System.getProperty("java.home"), "bin", "java").toString()
        val child = ProcessBuilder(
            java, "-cp", System.getProperty("java.class.path"), WavCrashChild::class.java.name,
            path.toString(), flushMillis.toString(), capSeconds.toString(),
        ).redirectErrorStream(true).start()
        val output = mutableListOf<String>()
        var lastReported = -1L
        val lines = child.inputStream.bufferedReader()
        try {
            var flushes = 0
            while (flushes < flushesBeforeKill) {
                val line = lines.readLine() ?: error("child ended early:\n${output.joinToString("\n")}")
                output += line
                if (line.startsWith("flushed ")) {
                    flushes++
                    lastReported = line.removePrefix("flushed ").toLong()
                }
            }
        } finally {
            // SIGKILL on Linux: no shutdown hooks, no close(). Through the handle, because Process.destroyForcibly()
            // also closes our end of the child's stdout, and the lines still in the pipe are needed below.
            child.toHandle().destroyForcibly()
        }
        child.waitFor(30, TimeUnit.SECONDS) shouldBe true
        child.exitValue() shouldBe 128 + 9
        // Lines printed between our last read and the kill still count: each one was printed after its flush.
        lines.lineSequence().forEach { line ->
            output += line
            if (line.startsWith("flushed ")) lastReported = line.removePrefix("flushed ").toLong()
        }
        output.none { it == "cap reached" } shouldBe true

        val bytes = path.readBytes()
        val wav = WavParser.parse(bytes)
        val frameBytes = WavCrashChild.CHANNELS * 2L
        wav.formatTag shouldBe 1
        wav.channels shouldBe WavCrashChild.CHANNELS
        wav.sampleRate shouldBe WavCrashChild.RATE.toLong()
        wav.dataOffset shouldBe 44
        wav.riffSize shouldBe 36 + wav.dataSize
        (wav.dataSize % frameBytes) shouldBe 0L
        wav.dataSize shouldBeLessThanOrEqual bytes.size - 44L
        wav.dataSize / frameBytes shouldBeGreaterThanOrEqual lastReported
        wav.dataSize / frameBytes shouldBeLessThan capSeconds * WavCrashChild.RATE
        // Everything in the file, declared or written after the last flush, is the pattern, bit for bit.
        val all = WavParser.s16le(bytes, 44, (bytes.size - 44) / 2 * 2)
        var firstMismatch = -1
        for (i in all.indices) {
            if (all[i] != CrashPattern.sample(i.toLong())) {
                firstMismatch = i
                break
            }
        }
        firstMismatch shouldBe -1
        declaredSamples = wav.dataSize / frameBytes
        println(
            "crash test: killed after $lastReported samples/channel reported flushed; header declares " +
                "$declaredSamples, file holds ${all.size / WavCrashChild.CHANNELS} (${bytes.size} bytes)",
        )
    }

    test("sox reads the killed process's WAV to its declared length, bit-exact")
        .config(enabledOrReasonIf = ExternalTools.require("sox", "soxi")) {
            check(declaredSamples >= 0) { "the crash test did not produce a file" }
            ExternalTools.run("soxi", "-s", path.toString()) shouldBe (0 to "$declaredSamples\n")
            val raw = dir.resolve("crash.raw")
            ExternalTools.run("sox", path.toString(), "-t", "raw", "-e", "signed", "-b", "16", "-L", raw.toString())
                .first shouldBe 0
            val decoded = WavParser.s16le(raw.readBytes(), 0, Files.size(raw).toInt())
            decoded.size.toLong() shouldBe declaredSamples * WavCrashChild.CHANNELS
            decoded.indices.all { decoded[it] == CrashPattern.sample(it.toLong()) } shouldBe true
        }
})
