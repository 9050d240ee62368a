package dev.earshot.samples

import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.Listening
import dev.earshot.voice.sink.RecordingSinks
import dev.earshot.voice.sink.TeeSink
import java.nio.file.Files
import java.nio.file.Path
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * The demo's recording into [dir]: per-user aligned WAV (`user-<id>.wav`), the mixed WAV (`mixed.wav`), per-user Ogg
 * Opus as received (`user-<id>.opus`) and the [timeline] data for `timeline.png`. All go through one [TeeSink], so
 * they see exactly the same ticks: every track has the same length, and the timeline matches the files.
 */
class Recording(val dir: Path) {
    val timeline = TimelineRecorder()
    private val sink = TeeSink(
        timeline,
        RecordingSinks.perUserWav(dir),
        RecordingSinks.mixedWav(dir.resolve(MIXED)),
        RecordingSinks.perUserOgg(dir),
    )
    private var listening: Listening? = null
    private val finished = CompletableDeferred<Throwable?>()

    /**
     * Starts recording [connection]'s receiver from its next tick; with [kafka], that sink listens in the same
     * recording (same first and last tick), so a worker writes the same files from Kafka.
     */
    fun start(connection: VoiceConnection, kafka: AudioSink? = null) {
        check(listening == null) { "already recording" }
        listening = connection.listen(sink) { error -> finished.complete(error) }
        if (kafka != null) connection.receiver.listen(kafka, listening!!.recording)
    }

    /**
     * Stops recording and waits (at most [timeout]) until every file is finished (WAV headers final, Ogg pages
     * flushed). Returns the error that ended the sinks early, if any.
     */
    suspend fun stop(timeout: Duration = 10.seconds): Throwable? {
        val l = listening ?: return null
        // The whole recording: the Kafka sink, if any, ends at the same tick as the files.
        withTimeoutOrNull(timeout) { l.recording.stop() }
        return withTimeoutOrNull(timeout) { finished.await() }
    }

    /** The files written for [users] (and the mixed track and [timelinePng]), those that exist, with their sizes. */
    fun files(users: List<Long>): List<WrittenFile> {
        // listOf around the last path: a Path is an Iterable of its name parts, and `list + path` would add those.
        val paths = listOf(dir.resolve(MIXED)) + users.map { dir.resolve("user-$it.wav") } +
            users.map { dir.resolve("user-$it.opus") } + listOf(dir.resolve(TIMELINE))
        return paths.filter(Files::isRegularFile).map { WrittenFile(it, Files.size(it)) }
    }

    companion object {
        const val MIXED = "mixed.wav"
        const val TIMELINE = "timeline.png"
    }
}
