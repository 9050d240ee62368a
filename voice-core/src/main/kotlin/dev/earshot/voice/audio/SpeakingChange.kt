package dev.earshot.voice.audio

/**
 * A speaking start or stop reported by [SpeakingDetector].
 *
 * @property key the user id or SSRC the caller keyed its audio by.
 * @property started true when [key] started speaking, false when it stopped.
 * @property tick for a start, the tick of the first audio; for a stop, the tick of the last audio (20 ms ticks).
 */
public data class SpeakingChange(public val key: Long, public val started: Boolean, public val tick: Long)
