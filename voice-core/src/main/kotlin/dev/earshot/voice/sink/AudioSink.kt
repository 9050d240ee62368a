package dev.earshot.voice.sink

import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick

/** A Discord user as sinks see them: the id (further details come from the integration, e.g. Kord). */
public data class VoiceUser(public val id: Long)

/** What a sink wants to receive in [AudioFrame]s. */
public sealed class AudioFormat {
    /** The Opus packets as sent (`AudioFrame.opus`); PCM may be absent. */
    public object Opus : AudioFormat() {
        override fun toString(): String = "Opus"
    }

    /**
     * Decoded PCM in [format] (`AudioFrame.pcm`). The receiver must decode; a receiver decoding 48 kHz stereo
     * converts to 16 kHz mono for each sink that wants it (per speaker, its own filter state), so sinks of both
     * formats can listen to one connection.
     */
    public data class Pcm(public val format: PcmFormat = PcmFormat.STEREO_48K) : AudioFormat()
}

/**
 * What happens when a listened sink falls behind. Each sink has its own queue and coroutine, so a slow sink only ever
 * delays itself; the policy says how much it may lag before losing audio, and every loss is counted.
 */
public sealed class SinkOverflow {
    /** Up to [capacity] ticks wait, then the oldest is dropped. For live uses (playback, detection). Default 50 (1 s). */
    public data class DropOldest(public val capacity: Int = 50) : SinkOverflow()

    /**
     * For recording: up to [capacity] ticks wait (default 3000 = 60 s, enough to ride out a stalled disk) before the
     * oldest is dropped, so memory stays bounded even if the sink never recovers.
     */
    public data class Buffer(public val capacity: Int = 3000) : SinkOverflow()
}

/**
 * Receives audio from a voice receiver, in the shape of discord-ext-voice-recv's (Python) `AudioSink`, as suspend functions.
 *
 * A sink is given to `VoiceReceiver.listen`, which runs it in its own coroutine with its own queue (see [overflow]):
 * its functions are never called concurrently, always in tick order, and a slow or failing sink never affects the
 * pipeline or other sinks. An exception thrown from any function ends this sink only: [cleanup] runs and the error
 * reaches the `after` callback given to `listen`.
 *
 * Sinks compose: filters and transformers wrap a destination sink, fan-outs hold several (see the other classes in
 * this package). Only [write] is required.
 */
public interface AudioSink {
    /** The data this sink wants. Default: PCM, 48 kHz stereo. */
    public val wants: AudioFormat get() = AudioFormat.Pcm()

    /** How far this sink may fall behind. Default: [SinkOverflow.DropOldest] with 1 s. */
    public val overflow: SinkOverflow get() = SinkOverflow.DropOldest()

    /** The sinks this one passes audio to (empty for a leaf); used to walk a sink tree. */
    public val children: List<AudioSink> get() = emptyList()

    /**
     * Called once, before any tick or event, with this sink's place on the receiver's timeline: its recording's t0
     * ([Listening.startTick]), the tick it was listened at, and (by cleanup time) the tick its files must end with
     * ([Listening.endTick]). Recording sinks use it so that all files of a recording start and end together. The
     * default passes it on to [children].
     */
    public suspend fun onStart(listening: Listening) {
        for (child in children) child.onStart(listening)
    }

    /** One speaker's frame; [user] is null while the speaker's SSRC has no known user. */
    public suspend fun write(user: VoiceUser?, data: AudioFrame)

    /**
     * A whole tick, every 20 ms, even when nobody speaks. The default calls [write] for each speaking frame; sinks that
     * need time or silence (mixers, aligned tracks) override it.
     */
    public suspend fun onTick(tick: VoiceTick) {
        for (frame in tick.speaking) write(frame.userId?.let(::VoiceUser), frame)
    }

    /** A [VoiceEvent] (speaking start/stop, member connect/disconnect, RTCP, stats), in order with the ticks. */
    public suspend fun onEvent(event: VoiceEvent) {}

    /** Called once when the sink stops listening, normally or by an error: close files, flush, free resources. */
    public suspend fun cleanup() {}
}

/** Every sink in this tree, depth first, this one first. */
public fun AudioSink.walk(): Sequence<AudioSink> = sequence {
    yield(this@walk)
    for (child in children) yieldAll(child.walk())
}
