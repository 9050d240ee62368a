package dev.earshot.voice.sink

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.audio.TrackAligner
import dev.earshot.voice.audio.TrackWriter
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.VoiceTick

/**
 * The silence generator: writes one continuous PCM track, a frame for every tick from [startTick] (the recording's
 * t0; default the t0 of the [Listening] it is started with, else the first tick it sees) on, the speaker's audio
 * where there is some and silence everywhere else, through the listening's end tick, so all tracks of a recording
 * have the same length and overlay exactly. Give it ticks carrying only one speaker's frames (as [PerUserSink] does)
 * or the mixed frame (as [MixerSink] does). [close] runs in [cleanup].
 */
public class TrackSink(
    private val writer: TrackWriter,
    private val format: PcmFormat = PcmFormat.STEREO_48K,
    private val startTick: Long? = null,
    private val close: () -> Unit = {},
) : AudioSink {
    private var aligner: TrackAligner? = null
    private var lastTick = -1L
    private var listening: Listening? = null

    override val wants: AudioFormat get() = AudioFormat.Pcm(format)
    override val overflow: SinkOverflow get() = SinkOverflow.Buffer()

    override suspend fun onStart(listening: Listening) {
        this.listening = listening
    }

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        // Alignment needs whole ticks; onTick does the work.
    }

    override suspend fun onTick(tick: VoiceTick) {
        val a = aligner ?: TrackAligner(startTick ?: listening?.startTick ?: tick.tick, format).also { aligner = it }
        a.next(tick.tick, tick.speaking.firstOrNull()?.pcm, writer)
        lastTick = tick.tick
    }

    override suspend fun cleanup() {
        // Every track of a recording ends with the same tick: the listening's end, when it ended normally.
        val end = listening?.endTick ?: lastTick
        val a = aligner ?: (startTick ?: listening?.startTick)?.let { TrackAligner(it, format) }
        if (a != null && end >= 0) a.finish(end, writer)
        close()
    }
}
