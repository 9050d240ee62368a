@file:JvmName("SinkGlue")

package dev.earshot.voice.javaapi.internal

import dev.earshot.voice.model.ReceiveTimeline
import dev.earshot.voice.audio.MixPolicy
import dev.earshot.voice.audio.Utterance
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.send.AudioSources
import dev.earshot.voice.send.OpusAudioSource
import dev.earshot.voice.sink.AudioFormat
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.ConditionalFilter
import dev.earshot.voice.sink.Listening
import dev.earshot.voice.sink.MixerSink
import dev.earshot.voice.sink.RecordingSinks
import dev.earshot.voice.sink.SinkOverflow
import dev.earshot.voice.sink.SpeechSegmenterSink
import dev.earshot.voice.sink.TimedFilter
import dev.earshot.voice.sink.VoiceUser
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.withContext
import java.nio.file.Path
import java.util.concurrent.Executor
import java.util.function.LongFunction
import kotlin.time.toKotlinDuration

// Not API: voice-core sinks and sources whose constructors take Kotlin types (suspend interfaces, function types,
// kotlin.time.Duration), made from Java-clean arguments for the facade's Java sources.

/** What a sink written in Java does; each call runs on the sink's executor and may throw, which ends that sink. */
public interface JavaSinkCalls {
    /** Before anything else: the sink's place on the receiver's timeline. */
    @Throws(Exception::class)
    public fun start(listening: Listening)

    /** A tick with at least one speaking frame. */
    @Throws(Exception::class)
    public fun tick(tick: VoiceTick)

    /** An event. */
    @Throws(Exception::class)
    public fun event(event: VoiceEvent)

    /** The sink's end. */
    @Throws(Exception::class)
    public fun cleanup()
}

/** Receives one utterance, with the user (-1 when unknown) and the timeline it sits on. */
public fun interface UtteranceCalls {
    /** One utterance. */
    @Throws(Exception::class)
    public fun utterance(userId: Long, utterance: Utterance, timeline: ReceiveTimeline)
}

/** A frame test of a filter: the frame and the timeline it sits on. */
public fun interface FrameTest {
    /** Whether the frame passes. */
    public fun test(frame: AudioFrame, timeline: ReceiveTimeline): Boolean
}

/**
 * A voice-core sink whose work runs on [executor]: each tick with audio, each event and the cleanup is one task there,
 * while the sink's coroutine waits for it (so its calls stay in order and never overlap). [pcm] null wants Opus;
 * [queueTicks] ticks may wait before the oldest is dropped.
 */
public fun executorSink(executor: Executor, pcm: PcmFormat?, queueTicks: Int, calls: JavaSinkCalls): AudioSink {
    val dispatcher = executor.asCoroutineDispatcher()
    val format = if (pcm == null) AudioFormat.Opus else AudioFormat.Pcm(pcm)
    val queue = SinkOverflow.DropOldest(queueTicks)
    return object : AudioSink {
        override val wants: AudioFormat get() = format
        override val overflow: SinkOverflow get() = queue

        override suspend fun onStart(listening: Listening) {
            withContext(dispatcher) { calls.start(listening) }
        }

        override suspend fun write(user: VoiceUser?, data: AudioFrame) {
            withContext(dispatcher) { calls.tick(VoiceTick(data.tick, listOf(data), emptySet())) }
        }

        override suspend fun onTick(tick: VoiceTick) {
            if (tick.speaking.isNotEmpty()) withContext(dispatcher) { calls.tick(tick) }
        }

        override suspend fun onEvent(event: VoiceEvent) {
            withContext(dispatcher) { calls.event(event) }
        }

        override suspend fun cleanup() {
            withContext(dispatcher) { calls.cleanup() }
        }
    }
}

/** Utterances of 16 kHz mono (converted from 48 kHz stereo when the receiver decodes that), handled on [executor]. */
public fun speechSegments(endSilenceTicks: Int, maxTicks: Int, minTicks: Int, executor: Executor, calls: UtteranceCalls): AudioSink {
    val dispatcher = executor.asCoroutineDispatcher()
    var timeline: ReceiveTimeline? = null
    val segmenter = SpeechSegmenterSink(PcmFormat.MONO_16K, endSilenceTicks, maxTicks, minTicks) { user, u ->
        val t = checkNotNull(timeline) { "a sink's onStart comes first" }
        withContext(dispatcher) { calls.utterance(user?.id ?: -1L, u, t) }
    }
    return object : AudioSink by segmenter {
        override suspend fun onStart(listening: Listening) {
            timeline = listening.recording.timeline
            segmenter.onStart(listening)
        }
    }
}

/** One aligned WAV per user; [name] maps a user id to a file name, or null for `user-<id>.wav`. */
public fun perUserWav(dir: Path, format: PcmFormat, flushMillis: Long, name: LongFunction<String>?): AudioSink =
    if (name == null) RecordingSinks.perUserWav(dir, format, flushMillis) else RecordingSinks.perUserWav(dir, format, flushMillis) { name.apply(it.id) }

/** One aligned raw PCM file per user. */
public fun perUserPcm(dir: Path, format: PcmFormat, flushMillis: Long, name: LongFunction<String>?): AudioSink =
    if (name == null) RecordingSinks.perUserPcm(dir, format, flushMillis) else RecordingSinks.perUserPcm(dir, format, flushMillis) { name.apply(it.id) }

/** One aligned Ogg Opus file per user. */
public fun perUserOgg(dir: Path, name: LongFunction<String>?): AudioSink =
    if (name == null) RecordingSinks.perUserOgg(dir) else RecordingSinks.perUserOgg(dir) { name.apply(it.id) }

/** The combined track as one WAV. */
public fun mixedWav(path: Path, format: PcmFormat, policy: MixPolicy, flushMillis: Long): MixerSink =
    RecordingSinks.mixedWav(path, format, policy, flushMillis)

/** The combined track through ffmpeg. */
public fun mixedFfmpeg(path: Path, format: PcmFormat, policy: MixPolicy, outputArgs: List<String>, executable: String): MixerSink =
    RecordingSinks.mixedFfmpeg(path, format, policy, outputArgs, executable)

/** Frames for which [test] holds. */
public fun filter(destination: AudioSink, test: FrameTest): AudioSink {
    var timeline: ReceiveTimeline? = null
    return object : ConditionalFilter(destination, { _, data -> test.test(data, checkNotNull(timeline) { "a sink's onStart comes first" }) }) {
        override suspend fun onStart(listening: Listening) {
            timeline = listening.recording.timeline
            super.onStart(listening)
        }
    }
}

/** Everything for [duration] of receive-clock time. */
public fun timed(destination: AudioSink, duration: java.time.Duration, startOnFirstAudio: Boolean): AudioSink =
    TimedFilter(destination, duration.toKotlinDuration(), startOnFirstAudio)

/** An Ogg Opus file to play, sent without re-encoding. */
public fun oggOpusSource(path: Path): OpusAudioSource = AudioSources.oggOpus(path)

/** A sine tone, encoded as it plays. */
public fun toneSource(frequencyHz: Double, duration: java.time.Duration, amplitude: Double): OpusAudioSource =
    AudioSources.tone(frequencyHz, duration.toKotlinDuration(), amplitude)
