package dev.earshot.voice.transcribe

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThanOrEqual
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.util.concurrent.TimeUnit
import kotlin.io.path.readLines
import kotlin.io.path.readText

/** Transcript files written by a child JVM that is killed with SIGKILL mid-stream stay well formed up to the kill. */
class TranscriptCrashSpec : FunSpec({
    test("transcript files of a process killed with SIGKILL parse, in time order, with every cue written before the kill") {
        val dir = Files.createTempDirectory("earshot-transcript-crash")
        val java = Path.of(System.getProperty("java.home"), "bin", "java").toString()
        val child = ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), TranscriptCrashChild::class.java.name, dir.toString())
            .redirectErrorStream(true).start()
        val lines = child.inputStream.bufferedReader()
        var reported = 0
        val output = mutableListOf<String>()
        try {
            while (reported < CUES_BEFORE_KILL) {
                val line = lines.readLine() ?: error("child ended early:\n${output.joinToString("\n")}")
                output += line
                if (line.startsWith("written ")) reported = line.removePrefix("written ").toInt()
            }
        } finally {
            // SIGKILL: no shutdown hook, no close(). Through the handle, so the lines still in the pipe can be read.
            child.toHandle().destroyForcibly()
        }
        child.waitFor(30, TimeUnit.SECONDS) shouldBe true
        child.exitValue() shouldBe 128 + 9
        lines.lineSequence().forEach { if (it.startsWith("written ")) reported = it.removePrefix("written ").toInt() }

        val vtt = parseVtt(dir.resolve(TranscriptFiles.MERGED_VTT).readText())
        val srt = parseSrt(dir.resolve(TranscriptFiles.MERGED_SRT).readText())
        val json = dir.resolve(TranscriptFiles.JSONL).readLines().map { Json.parseToJsonElement(it).jsonObject }
        // A cue is one write per file, so the kill may fall between files: each holds every reported cue, and at most
        // the one being written after it.
        for (n in listOf(vtt.size, srt.size, json.size)) {
            n shouldBeGreaterThanOrEqual reported
            n shouldBeLessThanOrEqual reported + 1
        }
        vtt.forEachIndexed { i, cue -> cue.text shouldBe "<v user-${1 + i % 3}>${TranscriptCrashChild.text(i)}" }
        srt.zip(vtt).forEach { (s, v) -> s.startMs shouldBe v.startMs }
        json.forEachIndexed { i, o -> o.getValue("text").jsonPrimitive.content shouldBe TranscriptCrashChild.text(i) }
        for (user in 1..3) {
            val own = parseVtt(dir.resolve("user-$user.vtt").readText())
            own.size shouldBeLessThanOrEqual vtt.count { it.text.startsWith("<v user-$user>") }
        }
        println("transcript crash: killed after $reported cues reported written; files hold ${vtt.size} (vtt), ${srt.size} (srt), ${json.size} (jsonl)")
        dir.toFile().deleteRecursively()
    }
}) {
    companion object {
        const val CUES_BEFORE_KILL = 40
    }
}

/** The child of [TranscriptCrashSpec]: writes a cue every few milliseconds forever, reporting each after its write. */
object TranscriptCrashChild {
    fun text(i: Int): String = "cue number $i said by user ${1 + i % 3}"

    @JvmStatic
    fun main(args: Array<String>) {
        val files = TranscriptFiles(Path.of(args[0]), T0)
        var i = 0
        while (i < 100_000) {
            val user = 1L + i % 3
            val start = T0.plusMillis(i * 700L)
            files.write(Transcript(i.toLong(), user, 100 + user, i * 35L, i * 35L + 29, start, start.plusMillis(600), -1, text(i), emptyList(), Duration.ZERO))
            i++
            println("written $i")
            System.out.flush()
            Thread.sleep(5)
        }
        println("cap reached")
    }
}
