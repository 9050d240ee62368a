package dev.earshot.voice.sink

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.audio.PcmMixer
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick

/**
 * Scales PCM by [gain] (1.0 = unchanged, 0.5 = -6 dB, 2.0 = +6 dB; capped at 8.0) with clamping, discord-ext-voice-recv's
 * `PCMVolumeTransformer`. It applies the mixer's fixed-point gain rule (Q16, rounded), so a gained track and the same
 * user's gain in a mix agree sample for sample. Frames are immutable, so each scaled frame is a new copy; Opus data
 * passes unchanged, so the destination must want PCM.
 */
public class GainSink(public val destination: AudioSink, public val gain: Float) : AudioSink {
    private val mixer: PcmMixer
    private val one = ArrayList<ShortArray?>(1).apply { add(null) }
    private val gains = floatArrayOf(gain)

    init {
        require(gain >= 0f && gain.isFinite()) { "gain must be a finite non-negative number" }
        val wants = destination.wants
        require(wants is AudioFormat.Pcm) { "GainSink needs a destination that wants PCM" }
        mixer = PcmMixer(wants.format)
    }

    override val wants: AudioFormat get() = destination.wants
    override val overflow: SinkOverflow get() = destination.overflow
    override val children: List<AudioSink> get() = listOf(destination)

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
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

    private fun scale(frame: AudioFrame): AudioFrame {
        val pcm = frame.pcm ?: return frame
        val out = ShortArray(mixer.frameSize)
        one[0] = pcm
        mixer.mix(one, gains, out)
        one[0] = null
        return AudioFrame(
            frame.ssrc, frame.userId, frame.tick, frame.sequence, frame.rtpTimestamp, out, frame.opus, frame.kind,
            frame.audioLevel, frame.speakerFlags, frame.extraOpus,
        )
    }
}
