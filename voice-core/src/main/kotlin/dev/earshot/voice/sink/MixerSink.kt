package dev.earshot.voice.sink

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.audio.MixPolicy
import dev.earshot.voice.audio.PcmMixer
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick

/**
 * Mixes every speaker of each tick into one track (32-bit accumulation, clamped once, per-user include/exclude and
 * gain from [policy]) and gives [destination] exactly one frame per tick, silence when nobody is included: a
 * continuous combined track from the first tick on. The mixed frame has SSRC [MIXED_SSRC], no user, and kind
 * [FrameKind.SILENCE] when nothing was mixed. Change [policy] only from this sink's coroutine (for example from
 * [onEvent]) or before listening: it is not thread-safe.
 */
public class MixerSink(
    public val destination: AudioSink,
    public val policy: MixPolicy = MixPolicy(),
    format: PcmFormat = PcmFormat.STEREO_48K,
) : AudioSink {
    private val mixer = PcmMixer(format)

    override val wants: AudioFormat = AudioFormat.Pcm(format)
    override val overflow: SinkOverflow get() = destination.overflow
    override val children: List<AudioSink> get() = listOf(destination)

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        // Mixing needs whole ticks; onTick does the work.
    }

    override suspend fun onTick(tick: VoiceTick) {
        destination.onTick(VoiceTick(tick.tick, listOf(mixedFrame(mixer, policy, tick)), emptySet()))
    }

    override suspend fun onEvent(event: VoiceEvent) {
        destination.onEvent(event)
    }

    override suspend fun cleanup() {
        destination.cleanup()
    }

    public companion object {
        /** The SSRC given to mixed frames (0 is never a real SSRC on Discord). */
        public const val MIXED_SSRC: Long = 0L

        /** The mixed frame of [tick]: a new (immutable) PCM array, kind [FrameKind.SILENCE] when nothing was mixed. */
        internal fun mixedFrame(mixer: PcmMixer, policy: MixPolicy, tick: VoiceTick): AudioFrame {
            val out = ShortArray(mixer.frameSize)
            val mixed = mixer.mix(tick.speaking, policy, out)
            return AudioFrame(MIXED_SSRC, null, tick.tick, 0, 0, out, null, if (mixed == 0) FrameKind.SILENCE else FrameKind.DECODED)
        }
    }
}
