package dev.earshot.voice.javaapi;

import java.time.Duration;
import java.util.Objects;

/**
 * How {@link Sinks#speechSegments} cuts speech into utterances. Durations are rounded up to whole 20 ms ticks.
 *
 * @param endSilence how long a speaker must be without audio for the utterance to end (default 600 ms; shorter
 *                   pauses stay inside it as zeros); at least one tick
 * @param maxLength  the longest utterance (default 30 s): one that reaches it ends, and the next audio starts a new one
 * @param minSpeech  utterances with less audio than this are dropped as clicks or coughs (default 200 ms); at most
 *                   {@code maxLength}
 */
public record SegmenterSettings(Duration endSilence, Duration maxLength, Duration minSpeech) {
    /** The defaults: 600 ms, 30 s, 200 ms. */
    public static final SegmenterSettings DEFAULT =
            new SegmenterSettings(Duration.ofMillis(600), Duration.ofSeconds(30), Duration.ofMillis(200));

    /** Checks the ranges; throws {@link IllegalArgumentException} naming the setting. */
    public SegmenterSettings {
        Objects.requireNonNull(endSilence, "endSilence");
        Objects.requireNonNull(maxLength, "maxLength");
        Objects.requireNonNull(minSpeech, "minSpeech");
        if (ticks(endSilence) < 1) throw new IllegalArgumentException("endSilence must be at least 20 ms, was " + endSilence);
        if (ticks(maxLength) < 1) throw new IllegalArgumentException("maxLength must be at least 20 ms, was " + maxLength);
        if (minSpeech.isNegative() || minSpeech.compareTo(maxLength) > 0) {
            throw new IllegalArgumentException("minSpeech must lie in [0, maxLength (" + maxLength + ")], was " + minSpeech);
        }
    }

    /** A copy with {@code value} as {@link #endSilence()}. */
    public SegmenterSettings withEndSilence(Duration value) {
        return new SegmenterSettings(value, maxLength, minSpeech);
    }

    /** A copy with {@code value} as {@link #maxLength()}. */
    public SegmenterSettings withMaxLength(Duration value) {
        return new SegmenterSettings(endSilence, value, minSpeech);
    }

    /** A copy with {@code value} as {@link #minSpeech()}. */
    public SegmenterSettings withMinSpeech(Duration value) {
        return new SegmenterSettings(endSilence, maxLength, value);
    }

    /** {@code d} in whole 20 ms ticks, rounded up. */
    static int ticks(Duration d) {
        long ms = d.toMillis();
        if (ms <= 0) return 0;
        return (int) Math.min(Integer.MAX_VALUE, (ms + 19) / 20);
    }
}
