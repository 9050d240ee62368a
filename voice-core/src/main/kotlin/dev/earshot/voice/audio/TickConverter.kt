package dev.earshot.voice.audio

import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.VoiceTick

/**
 * Converts the PCM of whole ticks from the receiver's decode format [from] to [to], keeping one converter per SSRC
 * so each speaker's frames join without clicks; a speaker's converter starts afresh (silence before) when it was
 * silent in the previous tick, as the decoder does. Supports 48 kHz stereo to 16 kHz mono (downmix, then low-pass
 * decimation with a 1.25 ms delay); [supports] says which pairs work. Frames without PCM pass unchanged.
 * Not thread-safe: one per consumer. Converters of speakers unheard for 10 s are dropped, so memory stays bounded.
 */
internal class TickConverter(private val from: PcmFormat, private val to: PcmFormat) {
    private class State(val converter: Mono16kConverter, var lastTick: Long)

    private val states = HashMap<Long, State>()
    private var lastPrune = Long.MIN_VALUE

    init {
        require(supports(from, to)) { "cannot convert PCM $from to $to" }
    }

    fun convert(tick: VoiceTick): VoiceTick {
        if (from == to) return tick
        prune(tick.tick)
        if (tick.speaking.isEmpty()) return tick
        val frames = ArrayList<AudioFrame>(tick.speaking.size)
        for (f in tick.speaking) frames += convert(f)
        return VoiceTick(tick.tick, frames, tick.silent)
    }

    private fun convert(f: AudioFrame): AudioFrame {
        val pcm = f.pcm ?: return f
        val s = states.getOrPut(f.ssrc) { State(Mono16kConverter(), f.tick - 1) }
        if (s.lastTick != f.tick - 1) s.converter.reset()
        s.lastTick = f.tick
        val out = ShortArray(to.samplesPerFrame * to.channels)
        s.converter.convert(pcm, out)
        return AudioFrame(f.ssrc, f.userId, f.tick, f.sequence, f.rtpTimestamp, out, f.opus, f.kind, f.audioLevel, f.speakerFlags, f.extraOpus)
    }

    private fun prune(now: Long) {
        if (now - lastPrune < PRUNE_EVERY_TICKS) return
        lastPrune = now
        states.values.removeIf { now - it.lastTick > PRUNE_EVERY_TICKS }
    }

    companion object {
        private const val PRUNE_EVERY_TICKS = 500L

        /** Whether PCM decoded as [from] can be delivered as [to]. */
        fun supports(from: PcmFormat, to: PcmFormat): Boolean =
            from == to || (from == PcmFormat.STEREO_48K && to == PcmFormat.MONO_16K)
    }
}
