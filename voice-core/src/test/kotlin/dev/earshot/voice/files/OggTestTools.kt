package dev.earshot.voice.files

import java.io.File
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/** One Ogg page's header facts, read independently of the writer (RFC 3533 §6). */
data class OggPage(val flags: Int, val granule: Long, val serial: Int, val sequence: Int, val lacing: List<Int>)

/** Splits an Ogg file into pages without checking CRCs (OggOpusReader does that). */
fun oggPages(file: ByteArray): List<OggPage> {
    fun le(at: Int, n: Int): Long {
        var v = 0L
        for (i in n - 1 downTo 0) v = (v shl 8) or (file[at + i].toLong() and 0xFF)
        return v
    }
    val pages = ArrayList<OggPage>()
    var pos = 0
    while (pos < file.size) {
        require(String(file, pos, 4, Charsets.US_ASCII) == "OggS") { "no page at $pos" }
        val n = file[pos + 26].toInt() and 0xFF
        val lacing = (0 until n).map { file[pos + 27 + it].toInt() and 0xFF }
        pages += OggPage(file[pos + 5].toInt(), le(pos + 6, 8), le(pos + 14, 4).toInt(), le(pos + 18, 4).toInt(), lacing)
        pos += 27 + n + lacing.sum()
    }
    return pages
}

/** An external command's exit code and combined output. */
class ToolRun(val exitCode: Int, val output: String)

/** Runs opus-tools for the Ogg tests (through [ExternalTools]); each test using one is enabled only when [installed]. */
object OpusTools {
    fun installed(tool: String): Boolean {
        val found = ExternalTools.has(tool)
        if (!found) println("SKIPPED: $tool is not installed (Debian package opus-tools); the test needs it")
        return found
    }

    fun run(vararg command: String): ToolRun = ExternalTools.run(*command).let { (code, output) -> ToolRun(code, output) }

    /** `opusdec --rate 48000 --no-dither` of [opus] to raw signed 16-bit little-endian PCM. */
    fun opusdec(opus: Path, dir: Path): Pair<ToolRun, ShortArray> {
        val raw = dir.resolve(opus.fileName.toString() + ".raw")
        val run = run("opusdec", "--rate", "48000", "--no-dither", opus.toString(), raw.toString())
        val bytes = raw.toFile().takeIf { it.exists() }?.readBytes() ?: ByteArray(0)
        return run to ShortArray(bytes.size / 2) { i ->
            ((bytes[2 * i].toInt() and 0xFF) or (bytes[2 * i + 1].toInt() shl 8)).toShort()
        }
    }

    /** The "Playback length" opusinfo prints (`1m:02.345s`), in seconds. */
    fun playbackSeconds(opusinfo: String): Double {
        val match = Regex("""Playback length: (\d+)m:(\d+(?:\.\d+)?)s""").find(opusinfo)
            ?: error("no playback length in opusinfo output:\n$opusinfo")
        return match.groupValues[1].toInt() * 60 + match.groupValues[2].toDouble()
    }
}
