package dev.earshot.samples

import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.transcribe.PocketSphinxTranscriber
import dev.earshot.voice.transcribe.TranscriptFiles
import dev.earshot.voice.transcribe.Transcription
import dev.earshot.voice.transcribe.TranscriptionSink
import java.nio.file.Path
import kotlin.time.Duration.Companion.seconds

/**
 * The demo's transcript, when PocketSphinx is installed (Debian `pocketsphinx`, `pocketsphinx-en-us`): each speaker's
 * utterances transcribed into `transcript.vtt` (and `.srt`, `.jsonl`, per-user files) in [dir], and a console line
 * with each recognised phrase. It listens in the same recording as the other files, so it stops with them.
 */
class DemoTranscript private constructor(private val transcription: Transcription, private val sink: TranscriptionSink) {
    /** Utterances transcribed into the files. */
    val transcripts: Int get() = sink.transcripts

    /** Stops the engine (after the recording stopped: the sink has written what it could). */
    fun close() = transcription.close()

    companion object {
        /** Starts transcribing [connection] into [dir], or returns null (saying why on [log]) without the engine. */
        fun startOrNull(connection: VoiceConnection, dir: Path, nameOf: (Long) -> String?, log: (String) -> Unit): DemoTranscript? {
            PocketSphinxTranscriber.missing()?.let { log("no transcript: $it"); return null }
            val transcription = Transcription(PocketSphinxTranscriber.create(), workers = 1)
            val name = { id: Long -> nameOf(id) ?: "user-$id" }
            // The recording's stop waits at most 10 s for its sinks; the last utterances get 8 of them.
            val sink = TranscriptionSink(transcription, dir, name, drainTimeout = 8.seconds) { t ->
                if (t.text.isNotEmpty()) log("heard ${name(t.userId)}: ${t.text}")
            }
            connection.listen(sink)
            log("transcribing with PocketSphinx into ${dir.resolve(TranscriptFiles.MERGED_VTT)}")
            return DemoTranscript(transcription, sink)
        }
    }
}
