package dev.earshot.voice.transcribe

import dev.earshot.voice.javaapi.Utterance
import java.time.Duration
import java.time.Instant

/**
 * One user's utterance as a [Transcriber] gets it: 16 kHz mono PCM placed on the connection's timeline three ways
 * (receive ticks of 20 ms, wall-clock instants, the speaker's RTP timestamp), so its text can carry true times.
 *
 * @property userId the speaker's Discord user id, or -1 when the SSRC had no known user.
 * @property ssrc the speaker's SSRC.
 * @property startTick the receive tick of its first audio.
 * @property endTick the receive tick of its last audio.
 * @property start the wall-clock time of the start of [startTick].
 * @property end the wall-clock time of the end of [endTick].
 * @property rtpTimestamp the RTP timestamp (32-bit, 48 kHz) of its first sample, or -1 when not known.
 * @property pcm 16 kHz mono PCM, 320 samples per tick from [startTick] to [endTick], short pauses as zeros.
 */
public class SpeechClip(
    public val userId: Long,
    public val ssrc: Long,
    public val startTick: Long,
    public val endTick: Long,
    public val start: Instant,
    public val end: Instant,
    public val rtpTimestamp: Long,
    public val pcm: ShortArray,
) {
    /** Its length from [start] to [end]. */
    public val duration: Duration get() = Duration.between(start, end)

    override fun toString(): String =
        "SpeechClip(user=$userId, ssrc=$ssrc, ticks=$startTick..$endTick, start=$start, samples=${pcm.size})"

    /** Conversions from the Java face's utterances. */
    public companion object {
        /** Samples per second of [pcm]. */
        public const val SAMPLE_RATE: Int = 16_000

        /** The clip of an utterance cut by voice-java-api's `Sinks.speechSegments` (the PCM array is shared). */
        @JvmStatic
        public fun of(utterance: Utterance): SpeechClip = SpeechClip(
            utterance.userId(), utterance.ssrc(), utterance.startTick(), utterance.endTick(),
            utterance.start(), utterance.end(), utterance.rtpTimestamp(), utterance.pcm(),
        )
    }
}
