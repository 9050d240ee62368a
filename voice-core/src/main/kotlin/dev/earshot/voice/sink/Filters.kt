package dev.earshot.voice.sink

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick
import kotlin.time.Duration

/**
 * Passes on only the frames for which [predicate] is true (discord-ext-voice-recv's `ConditionalFilter`). Whole ticks still reach
 * the destination, with the other frames removed, so time keeps flowing for aligned tracks and mixers.
 */
public open class ConditionalFilter(
    public val destination: AudioSink,
    private val predicate: (VoiceUser?, AudioFrame) -> Boolean,
) : AudioSink {
    override val wants: AudioFormat get() = destination.wants
    override val overflow: SinkOverflow get() = destination.overflow
    override val children: List<AudioSink> get() = listOf(destination)

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        if (predicate(user, data)) destination.write(user, data)
    }

    override suspend fun onTick(tick: VoiceTick) {
        val kept = tick.speaking.filter { predicate(it.userId?.let(::VoiceUser), it) }
        destination.onTick(if (kept.size == tick.speaking.size) tick else VoiceTick(tick.tick, kept, tick.silent))
    }

    override suspend fun onEvent(event: VoiceEvent) {
        destination.onEvent(event)
    }

    override suspend fun cleanup() {
        destination.cleanup()
    }
}

/** Passes on only the audio of [users] (Discord user ids); frames whose user is not known yet are dropped. */
public class UserFilter(destination: AudioSink, public val users: Set<Long>) :
    ConditionalFilter(destination, { user, _ -> user != null && user.id in users })

/**
 * Passes everything on for [duration] of receive-clock time (counted in 20 ms ticks from the first tick this filter
 * sees, or from the first audio when [startOnFirstAudio]), then ends the listening normally: the destination's
 * cleanup runs and `after` gets null. Time is the receiver's clock, so it runs in virtual time in tests.
 */
public class TimedFilter(
    public val destination: AudioSink,
    public val duration: Duration,
    private val startOnFirstAudio: Boolean = false,
) : AudioSink {
    private val limitTicks = duration.inWholeMilliseconds / VoiceConstants.FRAME_MS
    private var firstTick = -1L

    override val wants: AudioFormat get() = destination.wants
    override val overflow: SinkOverflow get() = destination.overflow
    override val children: List<AudioSink> get() = listOf(destination)

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        destination.write(user, data)
    }

    override suspend fun onTick(tick: VoiceTick) {
        if (firstTick < 0 && (!startOnFirstAudio || tick.speaking.isNotEmpty())) firstTick = tick.tick
        if (firstTick >= 0 && tick.tick - firstTick >= limitTicks) throw SinkFinished("$duration elapsed")
        destination.onTick(tick)
    }

    override suspend fun onEvent(event: VoiceEvent) {
        destination.onEvent(event)
    }

    override suspend fun cleanup() {
        destination.cleanup()
    }
}

/** Thrown by a sink to end its listening normally (its `after` gets null): for example when a time limit is reached. */
public class SinkFinished(reason: String) : Exception(reason)
