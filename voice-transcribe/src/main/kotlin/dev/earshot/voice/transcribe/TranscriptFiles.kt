package dev.earshot.voice.transcribe

import java.io.IOException
import java.nio.ByteBuffer
import java.nio.channels.FileChannel
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.StandardOpenOption
import java.time.Duration
import java.time.Instant
import java.util.function.LongFunction

/**
 * Transcript files in [dir], written as they go: `transcript.vtt` (WebVTT) and `transcript.srt` (SubRip), everyone in
 * one file with speaker labels (`<v name>` in WebVTT, `name: ` in SRT), `transcript.jsonl` (one JSON object per
 * line: user, SSRC, start and end as instants and as milliseconds from [origin], text, words), and per user
 * `user-<id>.vtt` and `user-<id>.srt` (`ssrc-<n>` while the user is not known).
 *
 * Cue times are measured from [origin] (give the recording's start to line them up with its audio files). Each
 * [write] appends one cue to each file with an unbuffered write, so what was written survives the process being
 * killed (not a power loss: nothing is forced to the disk). Empty transcripts are skipped. Cues should come in
 * order of their start, as [TranscriptionSink] gives them: WebVTT requires it. Not thread-safe.
 *
 * @param speakerName the label of a user id (default `user-<id>`); for unknown users (-1) the label is `ssrc-<n>`.
 * @throws IOException when the directory or a file cannot be created.
 */
public class TranscriptFiles @JvmOverloads constructor(
    /** The directory the files go in (created if missing). */
    public val dir: Path,
    /** The time cue offsets are measured from. */
    public val origin: Instant,
    speakerName: LongFunction<String>? = null,
) : AutoCloseable {
    private val name: LongFunction<String> = speakerName ?: LongFunction { "user-$it" }
    private val mergedVtt: CueFile
    private val mergedSrt: CueFile
    private val jsonl: CueFile
    private val perUser = HashMap<String, Pair<CueFile, CueFile>>()
    private var mergedCount = 0
    private val userCounts = HashMap<String, Int>()
    private var closed = false

    init {
        Files.createDirectories(dir)
        mergedVtt = CueFile(dir.resolve(MERGED_VTT), VTT_HEADER)
        mergedSrt = CueFile(dir.resolve(MERGED_SRT), "")
        jsonl = CueFile(dir.resolve(JSONL), "")
    }

    /** Cues written to the merged files so far. */
    public val cues: Int get() = mergedCount

    /** Appends [transcript] to every file it belongs in; an empty text writes nothing. */
    public fun write(transcript: Transcript) {
        check(!closed) { "closed" }
        val text = transcript.text.trim()
        if (text.isEmpty()) return
        val key = if (transcript.userId >= 0) "user-${transcript.userId}" else "ssrc-${transcript.ssrc}"
        val label = if (transcript.userId >= 0) name.apply(transcript.userId) else key
        val from = offset(transcript.start)
        val to = maxOf(from, offset(transcript.end))
        mergedCount++
        mergedVtt.append("${vttTime(from)} --> ${vttTime(to)}\n<v ${escapeVtt(label)}>${escapeVtt(text)}\n\n")
        mergedSrt.append("$mergedCount\n${srtTime(from)} --> ${srtTime(to)}\n${oneLine(label)}: ${oneLine(text)}\n\n")
        jsonl.append(json(transcript, label, from, to) + "\n")
        val (vtt, srt) = perUser.getOrPut(key) {
            CueFile(dir.resolve("$key.vtt"), VTT_HEADER) to CueFile(dir.resolve("$key.srt"), "")
        }
        val n = (userCounts[key] ?: 0) + 1
        userCounts[key] = n
        vtt.append("${vttTime(from)} --> ${vttTime(to)}\n${escapeVtt(text)}\n\n")
        srt.append("$n\n${srtTime(from)} --> ${srtTime(to)}\n${oneLine(text)}\n\n")
    }

    /** Closes every file. Idempotent. */
    override fun close() {
        if (closed) return
        closed = true
        (listOf(mergedVtt, mergedSrt, jsonl) + perUser.values.flatMap { listOf(it.first, it.second) }).forEach { it.close() }
    }

    private fun offset(t: Instant): Long = maxOf(0L, Duration.between(origin, t).toMillis())

    private fun json(t: Transcript, label: String, from: Long, to: Long): String = buildString {
        append("{\"user\":").append(if (t.userId >= 0) "\"${t.userId}\"" else "null")
        append(",\"speaker\":").append(jsonString(label))
        append(",\"ssrc\":").append(t.ssrc)
        append(",\"start\":\"").append(t.start).append('"')
        append(",\"end\":\"").append(t.end).append('"')
        append(",\"startMs\":").append(from).append(",\"endMs\":").append(to)
        append(",\"text\":").append(jsonString(t.text.trim()))
        append(",\"words\":[")
        t.words.forEachIndexed { i, w ->
            if (i > 0) append(',')
            append("{\"word\":").append(jsonString(w.text))
            append(",\"startMs\":").append(offset(w.start)).append(",\"endMs\":").append(offset(w.end))
            append(",\"confidence\":").append(if (w.confidence.isNaN()) "null" else w.confidence.toString())
            append('}')
        }
        append("]}")
    }

    private class CueFile(path: Path, header: String) {
        private val channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)

        init {
            if (header.isNotEmpty()) append(header)
        }

        fun append(s: String) {
            val buf = ByteBuffer.wrap(s.toByteArray(Charsets.UTF_8))
            while (buf.hasRemaining()) channel.write(buf)
        }

        fun close() = channel.close()
    }

    /** File names and time formats. */
    public companion object {
        /** The merged WebVTT file's name. */
        public const val MERGED_VTT: String = "transcript.vtt"

        /** The merged SubRip file's name. */
        public const val MERGED_SRT: String = "transcript.srt"

        /** The JSON-lines file's name. */
        public const val JSONL: String = "transcript.jsonl"

        private const val VTT_HEADER = "WEBVTT\n\n"

        /** [millis] as a WebVTT timestamp, `HH:MM:SS.mmm`. */
        @JvmStatic
        public fun vttTime(millis: Long): String = time(millis, '.')

        /** [millis] as a SubRip timestamp, `HH:MM:SS,mmm`. */
        @JvmStatic
        public fun srtTime(millis: Long): String = time(millis, ',')

        private fun time(millis: Long, separator: Char): String {
            val h = millis / 3_600_000
            val m = millis / 60_000 % 60
            val s = millis / 1000 % 60
            return "%02d:%02d:%02d%c%03d".format(h, m, s, separator, millis % 1000)
        }

        // A cue's text may not contain "-->" or a blank line, and "<" / "&" start markup in WebVTT.
        private fun oneLine(s: String): String = s.replace(Regex("\\s+"), " ").replace("-->", "->")

        private fun escapeVtt(s: String): String = oneLine(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        private fun jsonString(s: String): String = buildString {
            append('"')
            for (c in s) when {
                c == '"' -> append("\\\"")
                c == '\\' -> append("\\\\")
                c == '\n' -> append("\\n")
                c == '\r' -> append("\\r")
                c == '\t' -> append("\\t")
                c < ' ' -> append("\\u%04x".format(c.code))
                else -> append(c)
            }
            append('"')
        }
    }
}
