package dev.earshot.voice.audio

/**
 * One user's stretch of speech, cut by [SpeechSegmenter] for speech-to-text.
 *
 * @property key the user id (or SSRC) the audio was keyed by.
 * @property startTick the tick of its first audio (20 ms ticks).
 * @property endTick the tick of its last audio.
 * @property pcm 16 kHz mono PCM of every tick from [startTick] to [endTick], 320 samples each, with the short
 *   pauses inside it as zeros; owned by this utterance.
 * @property rtpTimestamp the RTP timestamp (32-bit, 48 kHz) of the speaker's first sample in it, as the sender
 *   stamped it, or -1 when the frames were fed without one.
 */
public class Utterance @JvmOverloads constructor(
    public val key: Long,
    public val startTick: Long,
    public val endTick: Long,
    public val pcm: ShortArray,
    public val rtpTimestamp: Long = -1,
) {
    /** Length in ticks, pauses included. */
    public val ticks: Long get() = endTick - startTick + 1

    override fun toString(): String = "Utterance(key=$key, ticks=$startTick..$endTick, samples=${pcm.size})"
}
