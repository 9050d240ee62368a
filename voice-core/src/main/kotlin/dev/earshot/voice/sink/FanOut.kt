package dev.earshot.voice.sink

import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick

/**
 * Gives everything to each of [sinks], in order (discord-ext-voice-recv's `MultiAudioSink`, usable as is). Opus and PCM sinks can
 * share a tee (a decoding receiver's frames carry both); PCM sinks must agree on the format. A failure in one ends
 * the whole tee; to isolate sinks from each other, listen to each separately.
 */
public class TeeSink(public val sinks: List<AudioSink>) : AudioSink {
    public constructor(vararg sinks: AudioSink) : this(sinks.toList())

    init {
        require(sinks.isNotEmpty()) { "a tee needs at least one sink" }
        require(sinks.mapNotNull { (it.wants as? AudioFormat.Pcm)?.format }.distinct().size <= 1) {
            "the sinks of a tee must not want different PCM formats"
        }
    }

    // PCM if any child needs it: a decoding receiver's frames carry both PCM and Opus.
    override val wants: AudioFormat get() = sinks.firstOrNull { it.wants is AudioFormat.Pcm }?.wants ?: AudioFormat.Opus
    override val overflow: SinkOverflow get() = sinks[0].overflow
    override val children: List<AudioSink> get() = sinks

    override suspend fun write(user: VoiceUser?, data: VoiceData) {
        for (s in sinks) s.write(user, data)
    }

    override suspend fun onTick(tick: VoiceTick) {
        for (s in sinks) s.onTick(tick)
    }

    override suspend fun onEvent(event: VoiceEvent) {
        for (s in sinks) s.onEvent(event)
    }

    override suspend fun cleanup() {
        cleanupAll(sinks)
    }
}

/**
 * Creates one sink per user with [factory] on that user's first audio, then gives each child every tick with only its
 * own user's frame (none when the user is silent), so per-user recordings see time pass. The factory also gets the
 * first tick this fan-out saw (the recording's t0), so a child can start its track there. Frames whose user is not
 * known yet are not delivered. [wants] and [overflow] apply to the whole fan-out (children should agree).
 */
public class PerUserSink(
    override val wants: AudioFormat = AudioFormat.Pcm(),
    override val overflow: SinkOverflow = SinkOverflow.Buffer(),
    private val factory: suspend (user: VoiceUser, recordingStartTick: Long) -> AudioSink,
) : AudioSink {
    private val byUser = LinkedHashMap<Long, AudioSink>()
    private var startTick = -1L

    override val children: List<AudioSink> get() = byUser.values.toList()

    /** The child of [userId], if that user has spoken. */
    public fun childOf(userId: Long): AudioSink? = byUser[userId]

    override suspend fun write(user: VoiceUser?, data: VoiceData) {
        if (user != null) child(user).write(user, data)
    }

    override suspend fun onTick(tick: VoiceTick) {
        if (startTick < 0) startTick = tick.tick
        for (frame in tick.speaking) frame.userId?.let { child(VoiceUser(it)) }
        for ((id, sink) in byUser) {
            val own = tick.frameOf(id)
            sink.onTick(VoiceTick(tick.tick, if (own == null) emptyList() else listOf(own), tick.silent))
        }
    }

    override suspend fun onEvent(event: VoiceEvent) {
        for (s in byUser.values) s.onEvent(event)
    }

    override suspend fun cleanup() {
        cleanupAll(byUser.values.toList())
    }

    private suspend fun child(user: VoiceUser): AudioSink =
        byUser[user.id] ?: factory(user, maxOf(startTick, 0)).also { byUser[user.id] = it }
}

/** discord-ext-voice-recv's `BasicSink`: calls [onFrame] for every frame, and [onEvent] for events. */
public class CallbackSink(
    override val wants: AudioFormat = AudioFormat.Pcm(),
    override val overflow: SinkOverflow = SinkOverflow.DropOldest(),
    private val onEvent: suspend (VoiceEvent) -> Unit = {},
    private val onFrame: suspend (VoiceUser?, VoiceData) -> Unit,
) : AudioSink {
    override suspend fun write(user: VoiceUser?, data: VoiceData) {
        onFrame(user, data)
    }

    override suspend fun onEvent(event: VoiceEvent) {
        onEvent.invoke(event)
    }
}

/** Cleans up every sink even if some fail; rethrows the first failure with the others suppressed. */
internal suspend fun cleanupAll(sinks: List<AudioSink>) {
    var first: Throwable? = null
    for (s in sinks) {
        try {
            s.cleanup()
        } catch (e: Throwable) {
            if (first == null) first = e else first.addSuppressed(e)
        }
    }
    if (first != null) throw first
}
