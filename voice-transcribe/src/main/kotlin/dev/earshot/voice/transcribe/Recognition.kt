package dev.earshot.voice.transcribe

import java.time.Duration

/**
 * What a [Transcriber] heard in one [SpeechClip]: the whole [text] and, where the engine gives them, its [words]
 * with times relative to the clip's start. An engine that gives only text returns no words; one that heard nothing
 * returns an empty text ([EMPTY]).
 */
public class Recognition @JvmOverloads constructor(
    /** The recognised text, words separated by single spaces; empty when nothing was recognised. */
    public val text: String,
    /** The words in order, with times and confidence; empty when the engine gives none. */
    public val words: List<RecognizedWord> = emptyList(),
) {
    override fun toString(): String = "Recognition(\"$text\", ${words.size} words)"

    /** Shared values. */
    public companion object {
        /** Nothing recognised. */
        @JvmField
        public val EMPTY: Recognition = Recognition("")

        /** A recognition whose text is its [words] joined by spaces. */
        @JvmStatic
        public fun ofWords(words: List<RecognizedWord>): Recognition = Recognition(words.joinToString(" ") { it.text }, words.toList())
    }
}

/**
 * One recognised word.
 *
 * @property text the word as the engine spelled it (alternative-pronunciation markers removed).
 * @property start where it starts, measured from the start of its clip.
 * @property end where it ends, measured from the start of its clip.
 * @property confidence the engine's confidence from 0 to 1 (for PocketSphinx, the word's posterior probability), or
 *   NaN when the engine gives none.
 */
public class RecognizedWord(
    public val text: String,
    public val start: Duration,
    public val end: Duration,
    public val confidence: Double,
) {
    override fun toString(): String = "$text@${start.toMillis()}..${end.toMillis()}ms"
}
