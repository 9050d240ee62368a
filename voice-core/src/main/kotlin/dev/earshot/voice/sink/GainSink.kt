package dev.earshot.voice.sink

import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick

/**
 * Scales PCM by [gain] (1.0 = unchanged, 0.5 = -6 dB, 2.0 = +6 dB) with clamping, the seeds' `PCMVolumeTransformer`
 * without its 2.0 cap. Frames are immutable, so each scaled frame is a new copy; Opus data passes unchanged, so the
 * destination must want PCM.
 */
public class GainSink(public val destination: AudioSink, public val gain: Float) : AudioSink {
    init {
        require(gain >= 0f && gain.isFinite()) { "gain must be a finite non-negative number" }
        require(destination.wants is AudioFormat.Pcm) { "GainSink needs a destination that wants PCM" }
    }

    // Q16 fixed point: deterministic, and the same result on every JVM.
    private val q16 = Math.round(gain * 65536.0)

    override val wants: AudioFormat get() = destination.wants
    override val overflow: SinkOverflow get() = destination.overflow
    override val children: List<AudioSink> get() = listOf(destination)

    override suspend fun write(user: VoiceUser?, data: VoiceData) {
        destination.write(user, scale(data))
    }

    override suspend fun onTick(tick: VoiceTick) {
        destination.onTick(VoiceTick(tick.tick, tick.speaking.map(::scale), tick.silent))
    }

    override suspend fun onEvent(event: VoiceEvent) {
        destination.onEvent(event)
    }

    override suspend fun cleanup() {
        destination.cleanup()
    }

    private fun scale(frame: VoiceData): VoiceData {
        val pcm = frame.pcm ?: return frame
        val out = ShortArray(pcm.size) { i ->
            ((pcm[i] * q16) shr 16).coerceIn(Short.MIN_VALUE.toLong(), Short.MAX_VALUE.toLong()).toInt().toShort()
        }
        return VoiceData(
            frame.ssrc, frame.userId, frame.tick, frame.sequence, frame.rtpTimestamp, out, frame.opus, frame.kind,
            frame.audioLevel, frame.speakerFlags, frame.extraOpus,
        )
    }
}
