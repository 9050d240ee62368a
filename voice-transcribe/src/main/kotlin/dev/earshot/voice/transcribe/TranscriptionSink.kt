package dev.earshot.voice.transcribe

import dev.earshot.voice.audio.SpeechSegmenter
import dev.earshot.voice.audio.Utterance
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.ReceiveTimeline
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.sink.AudioFormat
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.Listening
import dev.earshot.voice.sink.SinkOverflow
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.sink.VoiceUser
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.withTimeoutOrNull
import org.slf4j.LoggerFactory
import java.nio.file.Path
import java.util.IdentityHashMap
import java.util.PriorityQueue
import java.util.function.LongFunction
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * A sink that transcribes a channel (Kotlin): cuts each speaker's 16 kHz mono audio into utterances (voice-core's
 * [SpeechSegmenter]: an utterance ends after [endSilenceTicks] ticks without audio, default 600 ms, is split at
 * [maxTicks], default 30 s, and dropped under [minTicks] of audio, default 200 ms), submits them to [transcription]
 * (never waiting: a full queue drops its oldest clip, counted there) and hands the transcripts on **in order of
 * their start**: to [TranscriptFiles] in [filesDir] (when given; cue times from the recording's start, so they line
 * up with its WAV files) and to [onTranscript].
 *
 * Order: transcripts finish out of order (utterances end at different times, workers run in parallel), so a
 * finished one is held until no earlier-starting utterance can still come: none of a speaker still talking, none
 * waiting or being transcribed. A dropped or failed clip releases what waited for it. At the end (cleanup) the last
 * utterances are submitted and awaited for at most [drainTimeout] (default 60 s); what is still unfinished then is
 * left out of the files. [onTranscript] and the file writes run on whichever thread finishes a transcript (a worker,
 * or the sink's coroutine), one at a time.
 *
 * @param speakerName the label of a user in the files (default `user-<id>`).
 */
public class TranscriptionSink(
    private val transcription: Transcription,
    private val filesDir: Path? = null,
    private val speakerName: ((Long) -> String)? = null,
    private val endSilenceTicks: Int = 30,
    private val maxTicks: Int = 1500,
    minTicks: Int = 10,
    private val drainTimeout: Duration = 60.seconds,
    private val onTranscript: ((Transcript) -> Unit)? = null,
) : AudioSink {
    private val segmenter = SpeechSegmenter(endSilenceTicks, maxTicks, minTicks)
    private val lock = Any()
    private var timeline: ReceiveTimeline? = null
    private var files: TranscriptFiles? = null
    private val users = HashMap<Long, Long?>()

    /** A mirror of the segmenter's per-speaker state: whether an utterance is open and since which tick. */
    private class Open(var active: Boolean = false, var start: Long = 0, var last: Long = Long.MIN_VALUE)

    private val open = HashMap<Long, Open>()
    private val inFlight = IdentityHashMap<SpeechClip, Long>()
    private val ready = PriorityQueue<Transcript>(compareBy<Transcript>({ it.startTick }, { it.sequence }))
    private var drained: CompletableDeferred<Unit>? = null
    private var ended = false
    private var writeFailure: Throwable? = null
    private var released = 0
    private var lateResults = 0

    override val wants: AudioFormat get() = AudioFormat.Pcm(PcmFormat.MONO_16K)

    /** Buffers like a recording (3000 ticks): a transcript should not lose audio to a busy moment. */
    override val overflow: SinkOverflow get() = SinkOverflow.Buffer()

    /** Transcripts handed on so far (files and [onTranscript]), empty ones included. */
    public val transcripts: Int get() = synchronized(lock) { released }

    /** Transcripts that finished after the end (the drain timeout) and were left out. */
    public val late: Int get() = synchronized(lock) { lateResults }

    override suspend fun onStart(listening: Listening) {
        val t = listening.recording.timeline
        timeline = t
        if (filesDir != null) {
            val names = speakerName?.let { f -> LongFunction { f(it) } }
            files = TranscriptFiles(filesDir, t.instantOf(listening.startTick), names)
        }
    }

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        // Segmenting needs whole ticks; onTick does the work.
    }

    override suspend fun onTick(tick: VoiceTick) {
        synchronized(lock) {
            writeFailure?.let { throw it }
            val n = tick.tick
            for (frame in tick.speaking) {
                val pcm = frame.pcm ?: continue
                users[frame.ssrc] = frame.userId
                mirrorFrame(frame.ssrc, n)
                segmenter.onFrame(frame.ssrc, n, pcm, frame.rtpTimestamp) { submit(it) }
            }
            segmenter.onTickEnd(n) { submit(it) }
            for (s in open.values) if (s.active && n - s.last >= endSilenceTicks) s.active = false
            release()
        }
    }

    override suspend fun cleanup() {
        val wait = synchronized(lock) {
            segmenter.flush { submit(it) }
            open.values.forEach { it.active = false }
            if (inFlight.isEmpty()) null else CompletableDeferred<Unit>().also { drained = it }
        }
        if (wait != null && withTimeoutOrNull(drainTimeout) { wait.await() } == null) {
            log.debug("transcription sink: {} utterances still unfinished after {}", synchronized(lock) { inFlight.size }, drainTimeout)
        }
        synchronized(lock) {
            ended = true
            inFlight.clear()
            release()
            files?.close()
        }
    }

    // The segmenter's rules (SpeechSegmenter.onFrame): a pause longer than endSilenceTicks or the length limit
    // closes an utterance, a frame starts one when none is open, and the limit closes it after the frame.
    private fun mirrorFrame(key: Long, tick: Long) {
        val s = open.getOrPut(key) { Open() }
        if (tick <= s.last) return
        if (s.active && (tick - s.last > endSilenceTicks || tick - s.start >= maxTicks)) s.active = false
        if (!s.active) {
            s.active = true
            s.start = tick
        }
        s.last = tick
        if (tick - s.start + 1 >= maxTicks) s.active = false
    }

    private fun submit(u: Utterance) {
        val t = checkNotNull(timeline) { "a sink's onStart comes first" }
        val clip = SpeechClip(users[u.key] ?: -1L, u.key, u.startTick, u.endTick, t.instantOf(u.startTick), t.instantOf(u.endTick + 1), u.rtpTimestamp, u.pcm)
        inFlight[clip] = u.startTick
        transcription.enqueue(clip) { c, transcript, _ -> finished(c, transcript) }
    }

    private fun finished(clip: SpeechClip, transcript: Transcript?) {
        synchronized(lock) {
            if (inFlight.remove(clip) == null) {
                if (ended && transcript != null) lateResults++
                return
            }
            if (transcript != null) ready.add(transcript)
            release()
            if (inFlight.isEmpty()) drained?.complete(Unit)
        }
    }

    /** Hands on, in start order, every finished transcript no open or unfinished utterance starts before. */
    private fun release() {
        var floor = Long.MAX_VALUE
        if (!ended) {
            for (s in open.values) if (s.active && s.start < floor) floor = s.start
            for (start in inFlight.values) if (start < floor) floor = start
        }
        while (true) {
            val head = ready.peek() ?: return
            if (head.startTick > floor) return
            ready.poll()
            released++
            try {
                files?.write(head)
            } catch (e: Exception) {
                if (writeFailure == null) writeFailure = e
                log.debug("transcript files: write failed", e)
            }
            try {
                onTranscript?.invoke(head)
            } catch (e: Exception) {
                log.warn("onTranscript threw", e)
            }
        }
    }

    private companion object {
        val log = LoggerFactory.getLogger(TranscriptionSink::class.java)
    }
}
