package dev.earshot.voice.javaapi;

/** Receives utterances cut by {@link Sinks#speechSegments}; throwing ends that sink. */
@FunctionalInterface
public interface UtteranceListener {
    /** One utterance: its user, times and 16 kHz mono PCM. */
    void onUtterance(Utterance utterance) throws Exception;
}
