package dev.earshot.voice.transcribe

import java.time.Duration
import java.time.Instant

/**
 * A transcribed utterance: the speaker, the utterance's true times (as its [SpeechClip]), and the text with each
 * word placed on the wall clock.
 *
 * @property sequence the clip's submission number in its [Transcription], from 0.
 * @property userId the speaker's user id, or -1 when not known.
 * @property ssrc the speaker's SSRC.
 * @property startTick the receive tick of the utterance's first audio.
 * @property endTick the receive tick of its last audio.
 * @property start the wall-clock time the utterance starts.
 * @property end the wall-clock time it ends.
 * @property rtpTimestamp the RTP timestamp of its first sample, or -1.
 * @property text the recognised text (empty when nothing was recognised).
 * @property words the words with wall-clock times and confidence, where the engine gives them.
 * @property latency from the clip's submission to its result (queueing and recognition).
 */
public class Transcript(
    public val sequence: Long,
    public val userId: Long,
    public val ssrc: Long,
    public val startTick: Long,
    public val endTick: Long,
    public val start: Instant,
    public val end: Instant,
    public val rtpTimestamp: Long,
    public val text: String,
    public val words: List<TimedWord>,
    public val latency: Duration,
) {
    override fun toString(): String = "Transcript(#$sequence user=$userId $start..$end \"$text\")"

    internal companion object {
        fun of(sequence: Long, clip: SpeechClip, recognition: Recognition, latency: Duration): Transcript = Transcript(
            sequence, clip.userId, clip.ssrc, clip.startTick, clip.endTick, clip.start, clip.end, clip.rtpTimestamp,
            recognition.text.trim(),
            recognition.words.map { TimedWord(it.text, clip.start.plus(it.start), clip.start.plus(it.end), it.confidence) },
            latency,
        )
    }
}

/**
 * One word of a [Transcript] on the wall clock.
 *
 * @property text the word.
 * @property start when it starts.
 * @property end when it ends.
 * @property confidence 0 to 1, or NaN when the engine gives none.
 */
public class TimedWord(
    public val text: String,
    public val start: Instant,
    public val end: Instant,
    public val confidence: Double,
) {
    override fun toString(): String = "$text@$start"
}
