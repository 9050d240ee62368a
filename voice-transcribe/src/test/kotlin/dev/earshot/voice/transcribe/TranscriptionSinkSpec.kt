package dev.earshot.voice.transcribe

import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.sink.RemoteSinkDriver
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.future.await
import kotlinx.coroutines.runBlocking
import java.nio.file.Files
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.io.path.readText

/**
 * [TranscriptionSink] driven tick by tick (voice-core's RemoteSinkDriver): utterances that finish out of order are
 * handed on in order of their start, held while an earlier utterance is still open or being transcribed.
 */
class TranscriptionSinkSpec : FunSpec({
    /** User 1 talks over ticks 0..99, user 2 over ticks 10..39: user 2's utterance ends (and is transcribed) first. */
    fun frames(tick: Long): List<AudioFrame> = listOfNotNull(
        if (tick < 100) frame(1, tick) else null,
        if (tick in 10..39) frame(2, tick) else null,
    )

    for (failFirst in listOf(false, true)) test(
        if (!failFirst) "a transcript that finishes first waits for an earlier-starting utterance still open; files come in start order"
        else "a failed clip releases the transcripts that waited for it",
    ) {
        val dir = Files.createTempDirectory("earshot-sink-order")
        val ordered = CopyOnWriteArrayList<Transcript>()
        Transcription({ c -> if (failFirst && c.userId == 1L) error("engine failed") else Recognition("user ${c.userId} from ${c.startTick}") }).use { t ->
            val sink = TranscriptionSink(t, dir, onTranscript = { ordered += it })
            val driver = RemoteSinkDriver(sink, 0, T0, PcmFormat.MONO_16K)
            runBlocking {
                // Up to tick 99: user 2's utterance ended at tick 39 and was emitted 30 silent ticks later.
                for (tick in 0L..99L) driver.tick(VoiceTick(tick, frames(tick), emptySet()))
                t.idle().await()
                t.stats().completed shouldBe 1L
                ordered.size shouldBe 0 // held: user 1 started at tick 0 and is still talking
                for (tick in 100L..140L) driver.tick(VoiceTick(tick, frames(tick), emptySet()))
                t.idle().await()
                if (failFirst) {
                    ordered.map { it.text } shouldBe listOf("user 2 from 10")
                    t.stats().failed shouldBe 1L
                } else {
                    ordered.map { it.text } shouldBe listOf("user 1 from 0", "user 2 from 10")
                }
                driver.finish()
            }
            val cues = parseVtt(dir.resolve(TranscriptFiles.MERGED_VTT).readText())
            cues.map { it.startMs } shouldBe ordered.map { it.startTick * 20 }
            cues.last().endMs shouldBe 800L // user 2: ticks 10..39 end at 40 x 20 ms
            sink.transcripts shouldBe ordered.size
        }
        dir.toFile().deleteRecursively()
    }
})

private fun frame(user: Long, tick: Long): AudioFrame =
    AudioFrame(100 + user, user, tick, tick.toInt(), tick * 960, ShortArray(320) { ((it % 40) * 200 - 4000).toShort() }, null, FrameKind.DECODED)
