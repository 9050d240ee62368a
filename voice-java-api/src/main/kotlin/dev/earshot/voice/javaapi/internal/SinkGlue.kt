@file:JvmName("SinkGlue")

package dev.earshot.voice.javaapi.internal

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
import dev.earshot.voice.sink.MixerSink
import dev.earshot.voice.sink.PerUserSink
import dev.earshot.voice.sink.RecordingSinks
import dev.earshot.voice.sink.SinkOverflow
import dev.earshot.voice.sink.SpeechSegmenterSink
import dev.earshot.voice.sink.TimedFilter
import dev.earshot.voice.sink.VoiceData
import dev.earshot.voice.sink.VoiceUser
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.withContext
import java.nio.file.Path
import java.util.concurrent.Executor
import java.util.function.BiPredicate
import java.util.function.LongFunction
import kotlin.time.toKotlinDuration

/** Handles one tick of a Java sink (its speaking frames); may throw, which ends that sink. */
internal fun interface TickHandler {
    @Throws(Exception::class)
    fun handle(tick: VoiceTick)
}

/** Handles one event of a Java sink; may throw, which ends that sink. */
internal fun interface EventHandler {
    @Throws(Exception::class)
    fun handle(event: VoiceEvent)
}

/** A Java sink's cleanup. */
internal fun interface CleanupHandler {
    @Throws(Exception::class)
    fun run()
}

/** Receives one utterance. */
internal fun interface UtteranceHandler {
    @Throws(Exception::class)
    fun handle(userId: Long?, utterance: Utterance)
}

/**
 * A voice-core sink whose work runs on [executor]: each tick with audio, each event and the cleanup is one task there,
 * while the sink's coroutine waits for it (so its calls stay in order and never overlap).
 */
internal class ExecutorSink(
    executor: Executor,
    override val wants: AudioFormat,
    override val overflow: SinkOverflow,
    private val tick: TickHandler,
    private val event: EventHandler,
    private val cleanup: CleanupHandler,
) : AudioSink {
    private val dispatcher = executor.asCoroutineDispatcher()

    override suspend fun write(user: VoiceUser?, data: VoiceData) {
        withContext(dispatcher) { tick.handle(VoiceTick(data.tick, listOf(data), emptySet())) }
    }

    override suspend fun onTick(tick: VoiceTick) {
        if (tick.speaking.isNotEmpty()) withContext(dispatcher) { this@ExecutorSink.tick.handle(tick) }
    }

    override suspend fun onEvent(event: VoiceEvent) {
        withContext(dispatcher) { this@ExecutorSink.event.handle(event) }
    }

    override suspend fun cleanup() {
        withContext(dispatcher) { cleanup.run() }
    }
}

/** voice-core's format wish for a sink. */
internal fun sinkFormat(format: PcmFormat?): AudioFormat = if (format == null) AudioFormat.Opus else AudioFormat.Pcm(format)

/** Drop-oldest (live) or buffering (recording) overflow of [ticks] ticks. */
internal fun overflow(ticks: Int, recording: Boolean): SinkOverflow =
    if (recording) SinkOverflow.Buffer(ticks) else SinkOverflow.DropOldest(ticks)

/** One aligned WAV per user; [name] maps a user id to a file name, or null for `user-<id>.wav`. */
internal fun perUserWav(dir: Path, format: PcmFormat, flushMillis: Long, name: LongFunction<String>?): PerUserSink =
    if (name == null) RecordingSinks.perUserWav(dir, format, flushMillis) else RecordingSinks.perUserWav(dir, format, flushMillis) { name.apply(it.id) }

/** One aligned raw PCM file per user. */
internal fun perUserPcm(dir: Path, format: PcmFormat, flushMillis: Long, name: LongFunction<String>?): PerUserSink =
    if (name == null) RecordingSinks.perUserPcm(dir, format, flushMillis) else RecordingSinks.perUserPcm(dir, format, flushMillis) { name.apply(it.id) }

/** One aligned Ogg Opus file per user. */
internal fun perUserOgg(dir: Path, name: LongFunction<String>?): PerUserSink =
    if (name == null) RecordingSinks.perUserOgg(dir) else RecordingSinks.perUserOgg(dir) { name.apply(it.id) }

/** The combined track as one WAV. */
internal fun mixedWav(path: Path, format: PcmFormat, policy: MixPolicy, flushMillis: Long): MixerSink =
    RecordingSinks.mixedWav(path, format, policy, flushMillis)

/** The combined track through ffmpeg. */
internal fun mixedFfmpeg(path: Path, format: PcmFormat, policy: MixPolicy, outputArgs: List<String>, executable: String): MixerSink =
    RecordingSinks.mixedFfmpeg(path, format, policy, outputArgs, executable)

/** Frames for which [predicate] holds (user id or null, frame). */
internal fun filter(destination: AudioSink, predicate: BiPredicate<Long?, AudioFrame>): AudioSink =
    ConditionalFilter(destination) { user, data -> predicate.test(user?.id, data) }

/** Everything for [duration] of receive-clock time. */
internal fun timed(destination: AudioSink, duration: java.time.Duration, startOnFirstAudio: Boolean): AudioSink =
    TimedFilter(destination, duration.toKotlinDuration(), startOnFirstAudio)

/** Utterances of 16 kHz mono, handled on [executor]. */
internal fun speechSegments(
    input: PcmFormat,
    endSilenceTicks: Int,
    maxTicks: Int,
    minTicks: Int,
    executor: Executor,
    handler: UtteranceHandler,
): AudioSink {
    val dispatcher = executor.asCoroutineDispatcher()
    return SpeechSegmenterSink(input, endSilenceTicks, maxTicks, minTicks) { user, u ->
        withContext(dispatcher) { handler.handle(user?.id, u) }
    }
}

/** An Ogg Opus file to play, sent without re-encoding. */
internal fun oggOpusSource(path: Path): OpusAudioSource = AudioSources.oggOpus(path)

/** A sine tone, encoded as it plays. */
internal fun toneSource(frequencyHz: Double, duration: java.time.Duration, amplitude: Double): OpusAudioSource =
    AudioSources.tone(frequencyHz, duration.toKotlinDuration(), amplitude)
