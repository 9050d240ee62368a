package dev.earshot.voice.javaapi;

import org.jspecify.annotations.Nullable;

/** Receives utterances cut by {@link Sinks#speechSegments}; throwing ends that sink. */
@FunctionalInterface
public interface UtteranceListener {
    /** One utterance of {@code userId} (null when the speaker's user is unknown). */
    void onUtterance(@Nullable Long userId, Utterance utterance) throws Exception;
}
