package dev.earshot.voice.sink

import dev.earshot.voice.model.AudioFrame
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

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
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

/** What a [PerUserSink] does with the audio of an SSRC that has no user yet (Discord sent no op 5 for it). */
public enum class UnmappedAudio {
    /**
     * The default: recorded in a provisional track of its own (made by the fan-out's `provisional` factory), from the
     * recording's t0 like any track. When the SSRC's user becomes known and has no track yet, the provisional track
     * becomes that user's ([AdoptableSink.adopt]: the recording sinks rename `ssrc-<n>` files to the user's name); if
     * the user already has a track, the provisional one keeps what came before the mapping under its own name and the
     * user's track takes what follows. Without a `provisional` factory this behaves like [DROP].
     */
    RECORD,

    /** Not delivered to any child; still counted in [PerUserSink.unmappedFrames]. */
    DROP,
}

/** A child of a [PerUserSink] made for an SSRC without a user, which can become that user's track later. */
public interface AdoptableSink : AudioSink {
    /** The SSRC this track records turned out to be [user]'s; from now on it is that user's track. */
    public suspend fun adopt(user: VoiceUser)
}

/**
 * Creates one sink per user with [factory] on that user's first audio, then gives each child every tick with only its
 * own user's frame (none when the user is silent), so per-user recordings see time pass. The factory also gets the
 * recording's t0 (its first tick: [Listening.startTick], or the first tick this fan-out saw when it is not listened
 * directly), so a child starts its track there. Audio of an SSRC without a known user is handled as [unmapped] says
 * (default [UnmappedAudio.RECORD]: a provisional track per SSRC from [provisional], adopted by the user once known),
 * so nothing received is silently missing. [wants] and [overflow] apply to the whole fan-out (children should agree).
 */
public class PerUserSink(
    override val wants: AudioFormat = AudioFormat.Pcm(),
    override val overflow: SinkOverflow = SinkOverflow.Buffer(),
    public val unmapped: UnmappedAudio = UnmappedAudio.RECORD,
    private val provisional: (suspend (ssrc: Long, recordingStartTick: Long) -> AudioSink)? = null,
    private val factory: suspend (user: VoiceUser, recordingStartTick: Long) -> AudioSink,
) : AudioSink {
    private val byUser = LinkedHashMap<Long, AudioSink>()
    private val bySsrc = LinkedHashMap<Long, AudioSink>()
    private val adopted = java.util.concurrent.ConcurrentHashMap<Long, Long>()
    private val unmappedCount = java.util.concurrent.atomic.AtomicLong()
    private var listening: Listening? = null
    private var startTick = -1L

    override val children: List<AudioSink> get() = byUser.values.toList() + bySsrc.values

    /** The child of [userId], if that user has spoken. */
    public fun childOf(userId: Long): AudioSink? = byUser[userId]

    /** The provisional child of [ssrc], if that SSRC spoke without a user and was not adopted. */
    public fun childOfSsrc(ssrc: Long): AudioSink? = bySsrc[ssrc]

    /** Frames received from SSRCs without a known user (recorded in provisional tracks or, with DROP, discarded). */
    public val unmappedFrames: Long get() = unmappedCount.get()

    /** SSRCs whose provisional track became a user's track, with that user. */
    public val adoptedSsrcs: Map<Long, Long> get() = HashMap(adopted)

    override suspend fun onStart(listening: Listening) {
        this.listening = listening
    }

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        if (user != null) child(user).write(user, data)
    }

    override suspend fun onTick(tick: VoiceTick) {
        if (startTick < 0) startTick = listening?.startTick ?: tick.tick
        for (frame in tick.speaking) route(frame)
        for ((id, sink) in byUser) {
            sink.onTick(own(tick) { f -> f.userId == id || (f.userId == null && adopted[f.ssrc] == id) })
        }
        for ((ssrc, sink) in bySsrc) sink.onTick(own(tick) { f -> f.ssrc == ssrc && f.userId == null })
    }

    override suspend fun onEvent(event: VoiceEvent) {
        for (s in byUser.values) s.onEvent(event)
        for (s in bySsrc.values) s.onEvent(event)
    }

    override suspend fun cleanup() {
        cleanupAll(byUser.values.toList() + bySsrc.values)
    }

    /** Makes sure the frame's track exists: the user's, or a provisional one for an SSRC without a user. */
    private suspend fun route(frame: AudioFrame) {
        val userId = frame.userId ?: adopted[frame.ssrc]
        if (userId != null) {
            if (userId in byUser) return
            val pending = bySsrc[frame.ssrc]
            if (pending is AdoptableSink) {
                bySsrc.remove(frame.ssrc)
                byUser[userId] = pending
                adopted[frame.ssrc] = userId
                pending.adopt(VoiceUser(userId))
                log.debug("SSRC {} is user {}: its provisional track becomes theirs", frame.ssrc, userId)
            } else {
                child(VoiceUser(userId))
            }
            return
        }
        unmappedCount.incrementAndGet()
        if (unmapped == UnmappedAudio.DROP || frame.ssrc in bySsrc) return
        val make = provisional ?: return
        log.debug("SSRC {} speaks without a known user; recording it in a provisional track", frame.ssrc)
        val sink = make(frame.ssrc, maxOf(startTick, 0))
        listening?.let { sink.onStart(it) }
        bySsrc[frame.ssrc] = sink
    }

    private inline fun own(tick: VoiceTick, mine: (AudioFrame) -> Boolean): VoiceTick {
        val f = tick.speaking.firstOrNull(mine)
        return VoiceTick(tick.tick, if (f == null) emptyList() else listOf(f), tick.silent)
    }

    private suspend fun child(user: VoiceUser): AudioSink =
        byUser[user.id] ?: factory(user, maxOf(startTick, 0)).also { sink ->
            listening?.let { sink.onStart(it) }
            byUser[user.id] = sink
        }

    private companion object {
        private val log = org.slf4j.LoggerFactory.getLogger(PerUserSink::class.java)
    }
}

/** discord-ext-voice-recv's `BasicSink`: calls [onFrame] for every frame, and [onEvent] for events. */
public class CallbackSink(
    override val wants: AudioFormat = AudioFormat.Pcm(),
    override val overflow: SinkOverflow = SinkOverflow.DropOldest(),
    private val onEvent: suspend (VoiceEvent) -> Unit = {},
    private val onFrame: suspend (VoiceUser?, AudioFrame) -> Unit,
) : AudioSink {
    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
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
