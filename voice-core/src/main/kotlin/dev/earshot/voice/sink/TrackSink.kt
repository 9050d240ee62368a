package dev.earshot.voice.sink

import dev.earshot.voice.audio.TrackAligner
import dev.earshot.voice.audio.TrackWriter
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.VoiceTick

/**
 * The silence generator: writes one continuous PCM track, a frame for every tick from [startTick] (the recording's
 * t0) on, the speaker's audio where there is some and silence everywhere else, so all tracks of a recording have the
 * same length and overlay exactly. Give it ticks carrying only one speaker's frames (as [PerUserSink] does) or the
 * mixed frame (as [MixerSink] does). [close] runs in [cleanup].
 */
public class TrackSink(
    private val writer: TrackWriter,
    private val format: PcmFormat = PcmFormat.STEREO_48K,
    private val startTick: Long? = null,
    private val close: () -> Unit = {},
) : AudioSink {
    private var aligner: TrackAligner? = null
    private var lastTick = -1L

    override val wants: AudioFormat get() = AudioFormat.Pcm(format)
    override val overflow: SinkOverflow get() = SinkOverflow.Buffer()

    override suspend fun write(user: VoiceUser?, data: VoiceData) {
        // Alignment needs whole ticks; onTick does the work.
    }

    override suspend fun onTick(tick: VoiceTick) {
        val a = aligner ?: TrackAligner(startTick ?: tick.tick, format).also { aligner = it }
        a.next(tick.tick, tick.speaking.firstOrNull()?.pcm, writer)
        lastTick = tick.tick
    }

    override suspend fun cleanup() {
        aligner?.let { if (lastTick >= 0) it.finish(lastTick, writer) }
        close()
    }
}
